import NIOCore
import PostgateStore
import Testing
@testable import PostgateIMAP
import PostgateDirectory

@Suite struct IMAPSessionStateMachineTests {
    private let configuration = IMAPServerConfiguration(hostname: "imap.test", maxErrors: 3)

    private func feed(_ machine: inout IMAPSessionStateMachine, _ line: String) -> IMAPSessionStateMachine.Action {
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: line + "\r\n"))
        return machine.receive(decoder.next()!)
    }

    private func text(_ action: IMAPSessionStateMachine.Action) -> String {
        switch action {
        case .send(let bytes), .sendAndClose(let bytes), .startTLS(let bytes), .startIdle(let bytes): String(decoding: bytes, as: UTF8.self)
        case .authenticate(let tag, let user, let password): "authenticate \(tag) \(user) \(password)"
        case .execute(let command, _): "execute \(command.tag)"
        case .receiveMessage(let bytes): "receive " + String(decoding: bytes, as: UTF8.self)
        case .refuseMessage(let bytes): "refuse " + String(decoding: bytes, as: UTF8.self)
        case .storeMessageData(let bytes): "store \(bytes.readableBytes)"
        case .nothing: ""
        }
    }

    /// RFC 9051 section 6.2.3 / RFC 3501: LOGINDISABLED and no LOGIN before TLS.
    @Test func noLoginBeforeTLS() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: true)
        #expect(text(machine.greeting()).hasPrefix("* OK [CAPABILITY IMAP4rev1 "))
        let capability = text(feed(&machine, "a CAPABILITY"))
        #expect(capability.contains("STARTTLS LOGINDISABLED"))
        #expect(!capability.contains("AUTH=PLAIN"))
        #expect(text(feed(&machine, "b LOGIN alice secret")) == "b NO [PRIVACYREQUIRED] Log in only after STARTTLS\r\n")
        #expect(text(feed(&machine, "c AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")).hasPrefix("c NO [PRIVACYREQUIRED]"))
        #expect(text(feed(&machine, "d SELECT INBOX")) == "d NO Log in first\r\n")
        guard case .startTLS = feed(&machine, "e STARTTLS") else { Issue.record("no STARTTLS"); return }
        machine.tlsStarted()
        let after = text(feed(&machine, "f CAPABILITY"))
        #expect(after.contains("AUTH=PLAIN") && !after.contains("STARTTLS") && !after.contains("LOGINDISABLED"), "\(after)")
        #expect(text(feed(&machine, "g LOGIN alice secret")) == "authenticate g alice secret")
    }

    @Test func authenticatePlainWithContinuation() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        #expect(text(feed(&machine, "a AUTHENTICATE PLAIN")) == "+ \r\n")
        #expect(text(feed(&machine, "AGFsaWNlAHNlY3JldA==")) == "authenticate a alice secret")
        #expect(text(machine.loginFinished(tag: "a", agent: nil)).hasPrefix("a NO [AUTHENTICATIONFAILED]"))
        let ok = text(machine.loginFinished(tag: "b", agent: AgentIdentity(id: 1, name: "alice")))
        #expect(ok.hasPrefix("b OK [CAPABILITY IMAP4rev1"))
        #expect(text(feed(&machine, "c SELECT INBOX")) == "execute c")
        #expect(machine.busy)
        #expect(text(feed(&machine, "d FETCH 1 FLAGS")) == "d BAD No mailbox selected\r\n")
        #expect(text(feed(&machine, "e NAMESPACE")).contains("* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))"))
    }

    /// RFC 7162 section 3.1 and RFC 5161: CONDSTORE is offered; ENABLE or an enabling
    /// command (here SELECT with the CONDSTORE parameter) turns it on for the session.
    @Test func condStoreIsEnabledByEnableOrAnEnablingCommand() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        _ = machine.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        #expect(text(feed(&machine, "b CAPABILITY")).contains(" CONDSTORE"))
        #expect(text(feed(&machine, "c ENABLE UTF8=ACCEPT")) == "* ENABLED\r\nc OK ENABLE completed\r\n")
        #expect(!machine.condStore)
        guard case .execute(_, let plain) = feed(&machine, "d SELECT INBOX") else { Issue.record("not executed"); return }
        #expect(!plain.condStore)
        _ = machine.executed(IMAPExecutionResult(output: [], selected: nil))
        #expect(text(feed(&machine, "e ENABLE CONDSTORE")) == "* ENABLED CONDSTORE\r\ne OK ENABLE completed\r\n")
        #expect(machine.condStore)

        var other = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        _ = other.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        guard case .execute(_, let context) = feed(&other, "b SELECT INBOX (CONDSTORE)") else { Issue.record("not executed"); return }
        #expect(context.condStore && other.condStore)
    }

    /// RFC 9051 section 6.3.12 and RFC 7889: an APPEND's message is taken once logged in
    /// and within APPENDLIMIT; otherwise refused before a synchronizing literal is sent.
    @Test func appendMessageLiteralIsTakenOrRefused() {
        var machine = IMAPSessionStateMachine(
            configuration: IMAPServerConfiguration(hostname: "imap.test", maxLiteralSize: 100), tlsAvailable: false, tlsActive: true)
        #expect(text(feed(&machine, "a APPEND INBOX {10}")) == "refuse a NO Log in first\r\n")
        _ = machine.loginFinished(tag: "b", agent: AgentIdentity(id: 1, name: "alice"))
        #expect(text(feed(&machine, "c CAPABILITY")).contains(" APPENDLIMIT=100"))
        #expect(text(feed(&machine, "d APPEND INBOX {101}")) == "refuse d NO [TOOBIG] Message larger than APPENDLIMIT 100\r\n")
        #expect(text(feed(&machine, "e APPEND INBOX (\\Seen) {100}")) == "receive + Ready for literal data\r\n")
        #expect(text(feed(&machine, "f APPEND INBOX {100+}")) == "receive ")
        #expect(text(machine.receive(.messageData(ByteBuffer(string: "abc")))) == "store 3")
    }

    @Test func idleEndsWithDone() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        _ = machine.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        #expect(text(feed(&machine, "b IDLE")) == "+ idling\r\n")
        #expect(machine.isIdling)
        #expect(text(feed(&machine, "DONE")) == "execute b")
        #expect(!machine.isIdling)
    }

    @Test func tooManyErrorsCloses() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false)
        #expect(text(feed(&machine, "a FROB")) == "a BAD unknown command FROB\r\n")
        _ = feed(&machine, "b FROB")
        guard case .sendAndClose(let bytes) = feed(&machine, "c FROB") else { Issue.record("not closed"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == "* BYE Too many errors\r\n")
    }

    @Test func logoutAndShutdown() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false)
        guard case .sendAndClose(let bytes) = feed(&machine, "a LOGOUT") else { Issue.record("not closed"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == "* BYE imap.test logging out\r\na OK LOGOUT completed\r\n")
        var other = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false)
        #expect(text(other.shutdown()) == "* BYE Server shutting down\r\n")
    }
}
