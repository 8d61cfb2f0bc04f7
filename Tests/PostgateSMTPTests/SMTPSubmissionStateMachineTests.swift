import PostgateMessage
import Testing
@testable import PostgateSMTP

/// Submission mode (RFC 6409, RFC 4954) of the state machine, driven directly.
@Suite struct SMTPSubmissionStateMachineTests {
    typealias Machine = SMTPServerStateMachine

    /// "\0ana\0pw" and friends, in base64.
    static let plainAna = "AGFuYQBwdw=="  // "" NUL "ana" NUL "pw"
    static let plainAsOther = "Ym9iAGFuYQBwdw=="  // "bob" NUL "ana" NUL "pw"
    static let plainAsSelf = "YW5hAGFuYQBwdw=="  // "ana" NUL "ana" NUL "pw"

    private func machine(tls: Bool = true, mode: SMTPServerConfiguration.Mode = .submission,
                         _ configure: (inout SMTPServerConfiguration) -> Void = { _ in }) -> Machine {
        var configuration = SMTPServerConfiguration(mode: mode, hostname: "submit.test")
        configure(&configuration)
        var session = SMTPSessionInfo(remoteAddress: "127.0.0.1")
        session.tlsActive = tls
        return Machine(configuration: configuration, session: session, startTLSAvailable: !tls)
    }

    private func send(_ machine: inout Machine, _ line: String) -> Machine.Action {
        machine.receive(SMTPCommandParser.parse(Array(line.utf8)))
    }

    private func reply(_ action: Machine.Action) -> SMTPReply? {
        switch action {
        case .send(let reply): reply
        case .sendAndClose(let replies): replies.first
        case .startTLS(let reply): reply
        default: nil
        }
    }

    private func ehloLines(_ machine: inout Machine) -> [String] {
        reply(send(&machine, "EHLO laptop.test"))?.lines ?? []
    }

    /// EHLO, then AUTH PLAIN with an initial response accepted as `user`.
    private func authenticated(_ user: String = "ana") -> Machine {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        _ = send(&m, "AUTH PLAIN \(Self.plainAna)")
        _ = m.credentialsChecked(.accepted(user: user))
        return m
    }

    @Test func authIsAdvertisedOnlyOverTLS() {
        var clear = machine(tls: false)
        let before = ehloLines(&clear)
        #expect(before.contains("STARTTLS") && !before.contains { $0.hasPrefix("AUTH") })
        var protected = machine(tls: true)
        let after = ehloLines(&protected)
        #expect(after.contains("AUTH PLAIN LOGIN") && !after.contains("STARTTLS"))
    }

    @Test func beforeTLSAuthAndMailGet530() {
        var m = machine(tls: false)
        _ = send(&m, "EHLO laptop.test")
        #expect(reply(send(&m, "AUTH PLAIN \(Self.plainAna)")) == SMTPReply(530, "5.7.0", "Must issue a STARTTLS command first"))
        #expect(reply(send(&m, "MAIL FROM:<support@acme.test>")) == SMTPReply(530, "5.7.0", "Must issue a STARTTLS command first"))
        #expect(reply(send(&m, "STARTTLS"))?.code == 220)
    }

    @Test func mailBeforeAuthGets530() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        #expect(reply(send(&m, "MAIL FROM:<support@acme.test>")) == SMTPReply(530, "5.7.0", "Authentication required"))
        #expect(reply(send(&m, "RCPT TO:<jane@example.test>"))?.code == 503)
    }

    @Test func plainWithInitialResponse() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        #expect(send(&m, "AUTH PLAIN \(Self.plainAna)") == .authenticate(SASLCredentials(user: "ana", password: "pw")))
        #expect(m.credentialsChecked(.accepted(user: "ana")) == .send(SMTPReply(235, "2.7.0", "Authentication successful")))
        #expect(m.session.authenticatedUser == "ana")
        #expect(m.session.protocolName == "ESMTPSA")
    }

    @Test func plainWithoutInitialResponseGetsAnEmptyChallenge() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        #expect(send(&m, "auth plain") == .send(SMTPReply(334, nil, "")))
        #expect(m.isAwaitingAuthResponse)
        #expect(m.receiveAuthResponse(Array(Self.plainAsSelf.utf8)) == .authenticate(SASLCredentials(user: "ana", password: "pw")))
        #expect(!m.isAwaitingAuthResponse)
    }

    @Test func loginPromptsForUserThenPassword() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        #expect(send(&m, "AUTH LOGIN") == .send(SMTPReply(334, nil, "VXNlcm5hbWU6")))
        #expect(m.receiveAuthResponse(Array("YW5h".utf8)) == .send(SMTPReply(334, nil, "UGFzc3dvcmQ6")))
        #expect(m.receiveAuthResponse(Array("cHc=".utf8)) == .authenticate(SASLCredentials(user: "ana", password: "pw")))
        // With the user name as initial response, only the password is asked for.
        var n = machine()
        _ = send(&n, "EHLO laptop.test")
        #expect(send(&n, "AUTH LOGIN YW5h") == .send(SMTPReply(334, nil, "UGFzc3dvcmQ6")))
    }

    @Test func starCancelsWith501() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        _ = send(&m, "AUTH LOGIN")
        #expect(reply(m.receiveAuthResponse(Array("*".utf8)))?.code == 501)
        #expect(!m.isAwaitingAuthResponse)
        #expect(reply(send(&m, "NOOP"))?.code == 250)  // the next line is a command again
    }

    @Test func badBase64Gets501() {
        for bad in ["YW5h!", "YW5", "Y W5h", "YQ=a", "=YWE", "YQ===", "Y===", "é"] {
            var m = machine()
            _ = send(&m, "EHLO laptop.test")
            _ = send(&m, "AUTH PLAIN")
            let answer = reply(m.receiveAuthResponse(Array(bad.utf8)))
            #expect(answer?.code == 501 && answer?.enhancedCode == "5.5.2", "\(bad)")
        }
    }

    @Test func malformedPlainIsRefused() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        #expect(reply(send(&m, "AUTH PLAIN YW5hAHB3"))?.code == 501)  // "ana" NUL "pw": two fields
        #expect(reply(send(&m, "AUTH PLAIN ="))?.code == 501)  // the empty response
        #expect(reply(send(&m, "AUTH PLAIN //79"))?.code == 501)  // not UTF-8
        #expect(reply(send(&m, "AUTH"))?.code == 501)
        #expect(reply(send(&m, "AUTH PLAIN a b"))?.code == 501)
    }

    @Test func anotherAuthorizationIdentityIsRefused() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        #expect(reply(send(&m, "AUTH PLAIN \(Self.plainAsOther)")) == SMTPReply(535, "5.7.8", "The authorization identity must be empty or your own user name"))
        #expect(m.session.authenticatedUser == nil)
    }

    @Test func wrongCredentialsAndUnknownMechanism() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        _ = send(&m, "AUTH PLAIN \(Self.plainAna)")
        let refusal = SMTPReply(535, "5.7.8", "Authentication credentials invalid")
        #expect(m.credentialsChecked(.rejected(refusal)) == .send(refusal))
        #expect(m.session.authenticatedUser == nil)
        #expect(reply(send(&m, "AUTH CRAM-MD5"))?.code == 504)
    }

    @Test func authTwiceAndInsideATransactionGet503() {
        var m = authenticated()
        #expect(reply(send(&m, "AUTH PLAIN \(Self.plainAna)")) == SMTPReply(503, "5.5.1", "Already authenticated"))
        var n = machine()
        #expect(reply(send(&n, "AUTH PLAIN \(Self.plainAna)"))?.code == 503)  // before EHLO
    }

    @Test func authFailuresCountAgainstTheErrorLimit() {
        var m = machine { $0.maxErrors = 3 }
        _ = send(&m, "EHLO laptop.test")
        for _ in 0..<2 {
            _ = send(&m, "AUTH PLAIN \(Self.plainAna)")
            #expect(m.credentialsChecked(.rejected(SMTPReply(535, "5.7.8", "no"))) == .send(SMTPReply(535, "5.7.8", "no")))
        }
        _ = send(&m, "AUTH PLAIN \(Self.plainAna)")
        guard case .sendAndClose(let replies) = m.credentialsChecked(.rejected(SMTPReply(535, "5.7.8", "no"))) else {
            Issue.record("the third failure did not close the session")
            return
        }
        #expect(replies.map(\.code) == [535, 421])
    }

    @Test func tooLongResponseLineEndsTheExchange() {
        var m = machine()
        _ = send(&m, "EHLO laptop.test")
        _ = send(&m, "AUTH LOGIN")
        #expect(reply(m.receiveMalformedLine(tooLong: true))?.code == 500)
        #expect(!m.isAwaitingAuthResponse)
    }

    @Test func mailFromIsVerifiedByTheDelegate() throws {
        var m = authenticated()
        guard case .verifySender(let transaction) = send(&m, "MAIL FROM:<support@acme.test>") else {
            throw SMTPServerStateMachineTests.Failure("expected verifySender")
        }
        #expect(transaction.session.authenticatedUser == "ana")
        let refusal = SMTPReply(550, "5.7.1", "agent ana may not send as support@acme.test")
        #expect(m.senderVerified(.reject(refusal)) == .send(refusal))
        #expect(reply(send(&m, "RCPT TO:<jane@example.test>"))?.code == 503)
        _ = send(&m, "MAIL FROM:<support@acme.test>")
        #expect(m.senderVerified(.accept) == .send(SMTPReply(250, "2.1.0", "Sender ok")))
        guard case .verifyRecipient = send(&m, "RCPT TO:<jane@example.test>") else {
            throw SMTPServerStateMachineTests.Failure("expected verifyRecipient")
        }
    }

    @Test func authenticationSurvivesRsetAndEhloButNotATLSStart() {
        var m = authenticated()
        _ = send(&m, "RSET")
        _ = send(&m, "EHLO laptop.test")
        #expect(m.session.authenticatedUser == "ana")
        // A TLS handshake starts the session over (RFC 3207 section 4.2): nothing learnt
        // before it, the authentication included, survives.
        m.tlsStarted()
        #expect(m.session.authenticatedUser == nil)
        _ = send(&m, "EHLO laptop.test")
        #expect(reply(send(&m, "MAIL FROM:<support@acme.test>")) == SMTPReply(530, "5.7.0", "Authentication required"))
    }

    @Test func mxModeIsUnchanged() {
        var m = machine(tls: true, mode: .mx)
        let lines = ehloLines(&m)
        #expect(!lines.contains { $0.hasPrefix("AUTH") })
        #expect(reply(send(&m, "AUTH PLAIN \(Self.plainAna)")) == SMTPReply(502, "5.5.1", "AUTH is not implemented here"))
        #expect(reply(send(&m, "AUTH")) == SMTPReply(502, "5.5.1", "AUTH is not implemented here"))
        #expect(reply(send(&m, "MAIL FROM:<a@c.test>")) == SMTPReply(250, "2.1.0", "Sender ok"))
    }

    @Test func credentialsNeverShowTheirPassword() {
        #expect(!"\(SASLCredentials(user: "ana", password: "s3cret"))".contains("s3cret"))
    }

    @Test func strictBase64() {
        #expect(SASLBase64Decoder.decode(Array("".utf8)) == [])
        #expect(SASLBase64Decoder.decode(Array("YQ==".utf8)) == Array("a".utf8))
        #expect(SASLBase64Decoder.decode(Array("YWI=".utf8)) == Array("ab".utf8))
        #expect(SASLBase64Decoder.decode(Array("YWJj".utf8)) == Array("abc".utf8))
        #expect(SASLBase64Decoder.decode(Array("AGFuYQBwdw==".utf8)) == Array("\0ana\0pw".utf8))
        for bad in ["YQ", "YQ=", "YQ===", "Y===", "====", "YQ=a", "YW-j", "YW_j", "YW\r\nj", " YWJj"] {
            #expect(SASLBase64Decoder.decode(Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}
