import PostgateMessage
import Testing
@testable import PostgateSMTP

/// Command ordering, limits and replies of the session, without any I/O.
@Suite struct SMTPServerStateMachineTests {
    typealias Machine = SMTPServerStateMachine

    private func machine(_ configure: (inout SMTPServerConfiguration) -> Void = { _ in }) -> Machine {
        var configuration = SMTPServerConfiguration(hostname: "mx.test")
        configure(&configuration)
        return Machine(configuration: configuration, session: SMTPSessionInfo(remoteAddress: "127.0.0.1"), startTLSAvailable: true)
    }

    private func send(_ machine: inout Machine, _ line: String) -> Machine.Action {
        machine.receive(SMTPCommandParser.parse(Array(line.utf8)))
    }

    private func replyCode(_ action: Machine.Action) -> Int? {
        switch action {
        case .send(let reply): reply.code
        case .sendAndClose(let replies): replies.last?.code
        case .startTLS(let reply): reply.code
        default: nil
        }
    }

    /// Runs EHLO, MAIL, one accepted RCPT and DATA up to the 354.
    private func openTransaction(_ machine: inout Machine) throws {
        _ = send(&machine, "EHLO client.test")
        #expect(replyCode(send(&machine, "MAIL FROM:<a@client.test>")) == 250)
        let action = send(&machine, "RCPT TO:<b@hosted.test>")
        guard case .verifyRecipient(let recipient, _) = action else { throw Failure("expected verifyRecipient, got \(action)") }
        #expect(replyCode(machine.recipientVerified(recipient, .accept)) == 250)
        guard case .openMessage = send(&machine, "DATA") else { throw Failure("expected openMessage") }
        #expect(replyCode(machine.messageOpened(.success(()))) == 354)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func ehloAdvertisesExtensions() {
        var m = machine()
        guard case .send(let reply) = send(&m, "EHLO c.test") else { Issue.record("no reply"); return }
        #expect(reply.code == 250)
        for keyword in ["PIPELINING", "SIZE 36700160", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS"] {
            #expect(reply.lines.contains(keyword), "missing \(keyword)")
        }
    }

    @Test func heloAdvertisesNothing() {
        var m = machine()
        guard case .send(let reply) = send(&m, "HELO c.test") else { Issue.record("no reply"); return }
        #expect(reply.lines.count == 1)
    }

    @Test func orderingIsEnforced() {
        var m = machine()
        #expect(replyCode(send(&m, "MAIL FROM:<a@b.test>")) == 503)
        _ = send(&m, "EHLO c.test")
        #expect(replyCode(send(&m, "RCPT TO:<a@b.test>")) == 503)
        #expect(replyCode(send(&m, "DATA")) == 503)
        #expect(replyCode(send(&m, "MAIL FROM:<a@b.test>")) == 250)
        #expect(replyCode(send(&m, "MAIL FROM:<a@b.test>")) == 503)
        #expect(replyCode(send(&m, "DATA")) == 554)  // no valid recipients
        #expect(replyCode(send(&m, "RSET")) == 250)
        #expect(replyCode(send(&m, "MAIL FROM:<>")) == 250)
    }

    @Test func simpleCommands() {
        var m = machine()
        #expect(replyCode(send(&m, "VRFY someone")) == 252)
        #expect(replyCode(send(&m, "HELP")) == 214)
        #expect(replyCode(send(&m, "NOOP")) == 250)
        #expect(replyCode(send(&m, "EXPN list")) == 502)
        #expect(send(&m, "QUIT") == .sendAndClose([SMTPReply(221, "2.0.0", "mx.test closing connection")]))
    }

    @Test func rejectedRecipientKeepsTransaction() {
        var m = machine()
        _ = send(&m, "EHLO c.test")
        _ = send(&m, "MAIL FROM:<a@c.test>")
        guard case .verifyRecipient(let r, _) = send(&m, "RCPT TO:<x@other.test>") else { Issue.record("no verify"); return }
        let rejection = SMTPReply(550, "5.7.1", "Relaying denied")
        #expect(m.recipientVerified(r, .reject(rejection)) == .send(rejection))
        #expect(replyCode(send(&m, "DATA")) == 554)
    }

    @Test func declaredSizeOverLimitIsRefused() {
        var m = machine { $0.maxMessageSize = 1000 }
        _ = send(&m, "EHLO c.test")
        guard case .send(let reply) = send(&m, "MAIL FROM:<a@c.test> SIZE=1001") else { Issue.record("no reply"); return }
        #expect(reply.code == 552)
        #expect(reply.enhancedCode == "5.3.4")
    }

    @Test func tooManyRecipientsGets452() throws {
        var m = machine { $0.maxRecipients = 2 }
        _ = send(&m, "EHLO c.test")
        _ = send(&m, "MAIL FROM:<a@c.test>")
        for i in 0..<2 {
            guard case .verifyRecipient(let r, _) = send(&m, "RCPT TO:<u\(i)@h.test>") else { throw Failure("no verify") }
            _ = m.recipientVerified(r, .accept)
        }
        guard case .send(let reply) = send(&m, "RCPT TO:<u3@h.test>") else { throw Failure("no reply") }
        #expect(reply.code == 452)
        #expect(reply.enhancedCode == "4.5.3")
    }

    @Test func realSizeOverLimitIsRefusedAtEndOfData() throws {
        var m = machine { $0.maxMessageSize = 100 }
        try openTransaction(&m)
        let withinLimit = m.receiveData(totalSize: 100)
        let overLimit = m.receiveData(totalSize: 101)
        #expect(withinLimit)
        #expect(!overLimit)
        #expect(m.isRefusingData)
        #expect(replyCode(m.endOfData()) == 552)
        #expect(replyCode(send(&m, "MAIL FROM:<a@c.test>")) == 250)
    }

    @Test func successfulCommitReplies250() throws {
        var m = machine()
        try openTransaction(&m)
        guard case .commitMessage(let transaction) = m.endOfData() else { throw Failure("no commit") }
        #expect(transaction.recipients.map(\.canonical) == ["b@hosted.test"])
        #expect(m.messageCommitted(.success("ID1")) == .send(SMTPReply(250, "2.0.0", "Ok: queued as ID1")))
    }

    @Test func failedCommitRepliesWithTheStoreError() throws {
        var m = machine()
        try openTransaction(&m)
        _ = m.endOfData()
        let failure = SMTPReply(451, "4.3.0", "disk full")
        #expect(m.messageCommitted(.failure(failure)) == .send(failure))
    }

    @Test func bareLineEndingClosesTheSession() throws {
        var m = machine()
        try openTransaction(&m)
        guard case .sendAndClose(let replies) = m.receiveBareLineEndingInData() else { throw Failure("not closing") }
        #expect(replies.first?.code == 554)
    }

    @Test func errorLimitClosesTheSession() {
        var m = machine { $0.maxErrors = 3 }
        #expect(replyCode(send(&m, "FOO")) == 500)
        #expect(replyCode(send(&m, "BAR")) == 500)
        guard case .sendAndClose(let replies) = send(&m, "BAZ") else { Issue.record("not closed"); return }
        #expect(replies.map(\.code) == [500, 421])
    }

    @Test func commandsBeforeMailAreLimited() {
        var m = machine { $0.maxCommandsBeforeMail = 3 }
        for _ in 0..<3 { #expect(replyCode(send(&m, "NOOP")) == 250) }
        guard case .sendAndClose(let replies) = send(&m, "NOOP") else { Issue.record("not closed"); return }
        #expect(replies.map(\.code) == [421])
    }

    @Test func startTLSResetsTheSession() {
        var m = machine()
        _ = send(&m, "EHLO c.test")
        #expect(send(&m, "STARTTLS") == .startTLS(SMTPReply(220, "2.0.0", "Ready to start TLS")))
        m.tlsStarted()
        #expect(replyCode(send(&m, "MAIL FROM:<a@c.test>")) == 503)  // EHLO again first
        guard case .send(let reply) = send(&m, "EHLO c.test") else { Issue.record("no reply"); return }
        #expect(!reply.lines.contains("STARTTLS"))
        #expect(m.session.protocolName == "ESMTPS")
        #expect(replyCode(send(&m, "STARTTLS")) == 503)
    }

    @Test func startTLSRefusedInsideTransaction() {
        var m = machine()
        _ = send(&m, "EHLO c.test")
        _ = send(&m, "MAIL FROM:<a@c.test>")
        #expect(replyCode(send(&m, "STARTTLS")) == 503)
    }

    @Test func shutdownWaitsForTransaction() throws {
        var m = machine()
        try openTransaction(&m)
        #expect(m.shutdownRequested() == .nothing)
        _ = m.endOfData()
        guard case .sendAndClose(let replies) = m.messageCommitted(.success("X")) else { throw Failure("not closing") }
        #expect(replies.map(\.code) == [250, 421])
    }

    @Test func shutdownClosesIdleSessionAtOnce() {
        var m = machine()
        _ = send(&m, "EHLO c.test")
        guard case .sendAndClose(let replies) = m.shutdownRequested() else { Issue.record("not closed"); return }
        #expect(replies.map(\.code) == [421])
    }

    @Test func timeoutCloses() {
        var m = machine()
        guard case .sendAndClose(let replies) = m.timedOut() else { Issue.record("not closed"); return }
        #expect(replies.first?.enhancedCode == "4.4.2")
    }
}
