import NIOCore
import PostgateStore
import XCTest
@testable import PostgateIMAP
import PostgateDirectory

final class IMAPSessionStateMachineTests: XCTestCase {
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
        case .nothing: ""
        }
    }

    /// RFC 9051 section 6.2.3 / RFC 3501: LOGINDISABLED and no LOGIN before TLS.
    func testNoLoginBeforeTLS() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: true)
        XCTAssertTrue(text(machine.greeting()).hasPrefix("* OK [CAPABILITY IMAP4rev1 "))
        let capability = text(feed(&machine, "a CAPABILITY"))
        XCTAssertTrue(capability.contains("STARTTLS LOGINDISABLED"), capability)
        XCTAssertFalse(capability.contains("AUTH=PLAIN"))
        XCTAssertEqual(text(feed(&machine, "b LOGIN alice secret")), "b NO [PRIVACYREQUIRED] Log in only after STARTTLS\r\n")
        XCTAssertTrue(text(feed(&machine, "c AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")).hasPrefix("c NO [PRIVACYREQUIRED]"))
        XCTAssertEqual(text(feed(&machine, "d SELECT INBOX")), "d NO Log in first\r\n")
        guard case .startTLS = feed(&machine, "e STARTTLS") else { return XCTFail("no STARTTLS") }
        machine.tlsStarted()
        let after = text(feed(&machine, "f CAPABILITY"))
        XCTAssertTrue(after.contains("AUTH=PLAIN") && !after.contains("STARTTLS") && !after.contains("LOGINDISABLED"), after)
        XCTAssertEqual(text(feed(&machine, "g LOGIN alice secret")), "authenticate g alice secret")
    }

    func testAuthenticatePlainWithContinuation() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        XCTAssertEqual(text(feed(&machine, "a AUTHENTICATE PLAIN")), "+ \r\n")
        XCTAssertEqual(text(feed(&machine, "AGFsaWNlAHNlY3JldA==")), "authenticate a alice secret")
        XCTAssertTrue(text(machine.loginFinished(tag: "a", agent: nil)).hasPrefix("a NO [AUTHENTICATIONFAILED]"))
        let ok = text(machine.loginFinished(tag: "b", agent: AgentIdentity(id: 1, name: "alice")))
        XCTAssertTrue(ok.hasPrefix("b OK [CAPABILITY IMAP4rev1"), ok)
        XCTAssertEqual(text(feed(&machine, "c SELECT INBOX")), "execute c")
        XCTAssertTrue(machine.busy)
        XCTAssertEqual(text(feed(&machine, "d FETCH 1 FLAGS")), "d BAD No mailbox selected\r\n")
        XCTAssertTrue(text(feed(&machine, "e NAMESPACE")).contains("* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))"))
    }

    /// RFC 7162 section 3.1 and RFC 5161: CONDSTORE is offered; ENABLE or an enabling
    /// command (here SELECT with the CONDSTORE parameter) turns it on for the session.
    func testCondStoreIsEnabledByEnableOrAnEnablingCommand() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        _ = machine.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        XCTAssertTrue(text(feed(&machine, "b CAPABILITY")).contains(" CONDSTORE"))
        XCTAssertEqual(text(feed(&machine, "c ENABLE UTF8=ACCEPT")), "* ENABLED\r\nc OK ENABLE completed\r\n")
        XCTAssertFalse(machine.condStore)
        guard case .execute(_, let plain) = feed(&machine, "d SELECT INBOX") else { return XCTFail("not executed") }
        XCTAssertFalse(plain.condStore)
        _ = machine.executed(IMAPExecutionResult(output: [], selected: nil))
        XCTAssertEqual(text(feed(&machine, "e ENABLE CONDSTORE")), "* ENABLED CONDSTORE\r\ne OK ENABLE completed\r\n")
        XCTAssertTrue(machine.condStore)

        var other = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        _ = other.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        guard case .execute(_, let context) = feed(&other, "b SELECT INBOX (CONDSTORE)") else { return XCTFail("not executed") }
        XCTAssertTrue(context.condStore && other.condStore)
    }

    func testIdleEndsWithDone() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false, tlsActive: true)
        _ = machine.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        XCTAssertEqual(text(feed(&machine, "b IDLE")), "+ idling\r\n")
        XCTAssertTrue(machine.isIdling)
        XCTAssertEqual(text(feed(&machine, "DONE")), "execute b")
        XCTAssertFalse(machine.isIdling)
    }

    func testTooManyErrorsCloses() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false)
        XCTAssertEqual(text(feed(&machine, "a FROB")), "a BAD unknown command FROB\r\n")
        _ = feed(&machine, "b FROB")
        guard case .sendAndClose(let bytes) = feed(&machine, "c FROB") else { return XCTFail("not closed") }
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "* BYE Too many errors\r\n")
    }

    func testLogoutAndShutdown() {
        var machine = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false)
        guard case .sendAndClose(let bytes) = feed(&machine, "a LOGOUT") else { return XCTFail("not closed") }
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "* BYE imap.test logging out\r\na OK LOGOUT completed\r\n")
        var other = IMAPSessionStateMachine(configuration: configuration, tlsAvailable: false)
        XCTAssertEqual(text(other.shutdown()), "* BYE Server shutting down\r\n")
    }
}
