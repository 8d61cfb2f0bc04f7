import Foundation
import PostgateStore
import Testing
@testable import PostgateOutbound

/// The client's command sequence and per-recipient outcomes, without any I/O.
@Suite struct SMTPClientStateMachineTests {
    typealias Machine = SMTPClientStateMachine

    private func machine(
        recipients: [String] = ["a@x.test", "b@x.test"], tls: SMTPTLSPolicy = .none,
        credentials: SMTPCredentials? = nil, size: Int = 100, eightBit: Bool = false, smtpUTF8: Bool = false
    ) -> Machine {
        Machine(
            request: SMTPDeliveryRequest(sender: "agent@acme.test", recipients: recipients, path: "/dev/null", size: size, eightBit: eightBit, smtpUTF8: smtpUTF8),
            endpoint: SMTPEndpoint(host: "relay.test", port: 25, tls: tls, credentials: credentials),
            heloName: "postgate.test"
        )
    }

    private func reply(_ code: Int, _ lines: String...) -> SMTPClientReply {
        SMTPClientReply(code: code, lines: lines.isEmpty ? ["ok"] : lines)
    }

    private func ehlo(_ keywords: String...) -> SMTPClientReply {
        SMTPClientReply(code: 250, lines: ["relay.test hello"] + keywords)
    }

    @Test func fullTransactionDeliversEveryAcceptedRecipient() {
        var m = machine()
        #expect(m.receive(reply(220)) == [.send("EHLO postgate.test")])
        #expect(m.receive(ehlo("SIZE 1000", "8BITMIME")) == [.send("MAIL FROM:<agent@acme.test> SIZE=100")])
        #expect(m.receive(reply(250)) == [.send("RCPT TO:<a@x.test>")])
        #expect(m.receive(reply(250)) == [.send("RCPT TO:<b@x.test>")])
        #expect(m.receive(reply(250)) == [.send("DATA")])
        #expect(m.stage == .dataInitiation)
        #expect(m.receive(reply(354, "go ahead")) == [.sendMessage])
        let done = m.receive(reply(250, "2.0.0 queued as X"))
        #expect(done == [.finish([.delivered(reply: "250 2.0.0 queued as X"), .delivered(reply: "250 2.0.0 queued as X")]), .send("QUIT")])
        #expect(m.receive(reply(221)) == [.close])
        #expect(m.connectionClosed("eof") == [])
    }

    @Test func perRecipientRepliesAreKept() {
        var m = machine(recipients: ["a@x.test", "b@x.test", "c@x.test"])
        _ = m.receive(reply(220)); _ = m.receive(ehlo()); _ = m.receive(reply(250))
        _ = m.receive(reply(550, "5.1.1 no such user"))
        _ = m.receive(reply(451, "4.3.0 try later"))
        #expect(m.receive(reply(250)) == [.send("DATA")])
        _ = m.receive(reply(354))
        let done = m.receive(reply(250, "ok"))
        #expect(done.first == .finish([
            .permanent(reason: "550 5.1.1 no such user"), .temporary(reason: "451 4.3.0 try later"), .delivered(reply: "250 ok"),
        ]))
    }

    @Test func noAcceptedRecipientSkipsData() {
        var m = machine(recipients: ["a@x.test"])
        _ = m.receive(reply(220)); _ = m.receive(ehlo()); _ = m.receive(reply(250))
        #expect(m.receive(reply(550, "no")) == [.finish([.permanent(reason: "550 no")]), .send("QUIT")])
    }

    @Test func refusedDataFailsTheAcceptedRecipientsByClass() {
        var m = machine(recipients: ["a@x.test"])
        _ = m.receive(reply(220)); _ = m.receive(ehlo()); _ = m.receive(reply(250)); _ = m.receive(reply(250)); _ = m.receive(reply(354))
        #expect(m.receive(reply(554, "5.6.0 rejected")).first == .finish([.permanent(reason: "554 5.6.0 rejected")]))
    }

    @Test func pipeliningSendsMailRecipientsAndDataAsOneGroup() {
        var m = machine(recipients: ["a@x.test", "b@x.test", "c@x.test"])
        _ = m.receive(reply(220))
        #expect(m.receive(ehlo("PIPELINING", "SIZE 1000")) == [
            .send("MAIL FROM:<agent@acme.test> SIZE=100"), .send("RCPT TO:<a@x.test>"), .send("RCPT TO:<b@x.test>"),
            .send("RCPT TO:<c@x.test>"), .send("DATA"),
        ])
        #expect(m.receive(reply(250)) == [])
        #expect(m.receive(reply(550, "5.1.1 no such user")) == [])
        #expect(m.receive(reply(250)) == [])
        #expect(m.receive(reply(452, "4.5.3 too many")) == [])
        #expect(m.stage == .dataInitiation)
        #expect(m.receive(reply(354)) == [.sendMessage])
        let done = m.receive(reply(250, "queued"))
        #expect(done == [.finish([
            .permanent(reason: "550 5.1.1 no such user"), .delivered(reply: "250 queued"), .temporary(reason: "452 4.5.3 too many"),
        ]), .send("QUIT")])
    }

    @Test func pipelinedRefusedMailFailsEveryoneAfterReadingEveryReply() {
        var m = machine()
        _ = m.receive(reply(220)); _ = m.receive(ehlo("PIPELINING"))
        #expect(m.receive(reply(553, "5.7.1 sender refused")) == [])
        #expect(m.receive(reply(503, "5.5.1 need MAIL")) == [])
        #expect(m.receive(reply(503, "5.5.1 need MAIL")) == [])
        let done = m.receive(reply(503, "5.5.1 no valid recipients"))
        #expect(done == [.finish([.permanent(reason: "553 5.7.1 sender refused"), .permanent(reason: "553 5.7.1 sender refused")]), .send("QUIT")])
    }

    @Test func pipelined354WithoutRecipientsGetsAnEmptyMessage() {
        var m = machine(recipients: ["a@x.test"])
        _ = m.receive(reply(220)); _ = m.receive(ehlo("PIPELINING")); _ = m.receive(reply(250))
        #expect(m.receive(reply(550, "no")) == [])
        #expect(m.receive(reply(354)) == [.send(".")])
        #expect(m.receive(reply(554, "no message")) == [.finish([.permanent(reason: "550 no")]), .send("QUIT")])
    }

    @Test func heloFallbackWhenEHLOIsUnknown() {
        var m = machine(recipients: ["a@x.test"])
        _ = m.receive(reply(220))
        #expect(m.receive(reply(502, "command not implemented")) == [.send("HELO postgate.test")])
        #expect(m.receive(reply(250)) == [.send("MAIL FROM:<agent@acme.test>")])
    }

    @Test func greetingRefusalFailsEveryone() {
        var m = machine()
        #expect(m.receive(reply(554, "go away")).first == .finish([.permanent(reason: "554 go away"), .permanent(reason: "554 go away")]))
        var t = machine()
        #expect(t.receive(reply(421, "busy")).first == .finish([.temporary(reason: "421 busy"), .temporary(reason: "421 busy")]))
    }

    @Test func requiredTLSNotOfferedFailsTemporarily() {
        var m = machine(recipients: ["a@x.test"], tls: .required)
        _ = m.receive(reply(220))
        let actions = m.receive(ehlo("SIZE"))
        guard case .finish(let outcomes) = actions.first, case .temporary(let reason) = outcomes[0] else {
            Issue.record("expected a temporary failure, got \(actions)"); return
        }
        #expect(reason.contains("STARTTLS"))
        #expect(actions.last == .send("QUIT"))
    }

    @Test func startTLSThenEHLOAgainThenAuthPlain() {
        var m = machine(recipients: ["a@x.test"], tls: .required, credentials: SMTPCredentials(user: "u", password: "p"))
        _ = m.receive(reply(220))
        #expect(m.receive(ehlo("STARTTLS", "AUTH PLAIN LOGIN")) == [.send("STARTTLS")])
        #expect(m.receive(reply(220, "ready")) == [.startTLS])
        #expect(m.tlsEstablished() == [.send("EHLO postgate.test")])
        #expect(m.receive(ehlo("AUTH PLAIN LOGIN")) == [.send("AUTH PLAIN AHUAcA==")])
        #expect(m.receive(reply(235)) == [.send("MAIL FROM:<agent@acme.test>")])
    }

    @Test func authLoginSendsUserThenPassword() {
        var m = machine(recipients: ["a@x.test"], tls: .opportunistic, credentials: SMTPCredentials(user: "u", password: "p"))
        _ = m.receive(reply(220)); _ = m.receive(ehlo("STARTTLS")); _ = m.receive(reply(220)); _ = m.tlsEstablished()
        #expect(m.receive(ehlo("AUTH LOGIN")) == [.send("AUTH LOGIN")])
        #expect(m.receive(reply(334, "VXNlcm5hbWU6")) == [.send("dQ==")])
        #expect(m.receive(reply(334, "UGFzc3dvcmQ6")) == [.send("cA==")])
        #expect(m.receive(reply(535, "bad credentials")).first == .finish([.temporary(reason: "535 bad credentials")]))
    }

    // MARK: AUTH with an OAuth 2.0 bearer token (RFC 4954, RFC 7628)

    private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// Past STARTTLS; the next reply is the EHLO after TLS.
    private func overTLS(_ credentials: SMTPCredentials) -> Machine {
        var m = machine(recipients: ["a@x.test"], tls: .required, credentials: credentials)
        _ = m.receive(reply(220)); _ = m.receive(ehlo("STARTTLS")); _ = m.receive(reply(220)); _ = m.tlsEstablished()
        return m
    }

    @Test func oauthBearerIsPreferredAndNamesTheServer() {
        var m = overTLS(SMTPCredentials(user: "ana@acme.test", bearerToken: "tok-1"))
        let response = base64("n,a=ana@acme.test,\u{1}host=relay.test\u{1}port=25\u{1}auth=Bearer tok-1\u{1}\u{1}")
        #expect(m.receive(ehlo("AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER")) == [.send("AUTH OAUTHBEARER " + response)])
        #expect(m.stage == .auth)
        #expect(m.receive(reply(235, "2.7.0 Accepted")) == [.send("MAIL FROM:<agent@acme.test>")])
    }

    @Test func xoauth2WhenItIsTheOnlyTokenMechanism() {
        var m = overTLS(SMTPCredentials(user: "ana@acme.test", bearerToken: "ya29.tok"))
        let response = base64("user=ana@acme.test\u{1}auth=Bearer ya29.tok\u{1}\u{1}")
        #expect(m.receive(ehlo("AUTH LOGIN PLAIN XOAUTH2")) == [.send("AUTH XOAUTH2 " + response)])
        #expect(m.receive(reply(235)) == [.send("MAIL FROM:<agent@acme.test>")])
    }

    /// RFC 7628 section 3.2.2 and 3.2.3: the error challenge is answered (an empty line for
    /// XOAUTH2), the server's 535 ends the attempt, and the reason carries the decoded error.
    @Test func anXOAUTH2ErrorChallengeIsAnsweredEmptyThenTheRefusalIsTemporary() {
        var m = overTLS(SMTPCredentials(user: "ana@acme.test", bearerToken: "expired"))
        _ = m.receive(ehlo("AUTH XOAUTH2"))
        let challenge = base64(#"{"status":"401","schemes":"bearer","scope":"https://mail.example.test/"}"#)
        #expect(m.receive(reply(334, challenge)) == [.send("")])
        let failed = m.receive(reply(535, "5.7.8 Username and Password not accepted"))
        #expect(failed == [
            .finish([.temporary(reason: "535 5.7.8 Username and Password not accepted (status 401, scope https://mail.example.test/)")]),
            .send("QUIT"),
        ])
    }

    @Test func anOAUTHBEARERErrorChallengeIsAnsweredWithControlA() {
        var m = overTLS(SMTPCredentials(user: "ana@acme.test", bearerToken: "revoked"))
        _ = m.receive(ehlo("AUTH OAUTHBEARER"))
        #expect(m.receive(reply(334, base64(#"{"status":"invalid_token"}"#))) == [.send("AQ==")])
        #expect(m.receive(reply(535, "5.7.8 Authentication credentials invalid")).first
            == .finish([.temporary(reason: "535 5.7.8 Authentication credentials invalid (status invalid_token)")]))
    }

    @Test func aRefusalWithoutAChallengeIsTemporary() {
        var m = overTLS(SMTPCredentials(user: "ana@acme.test", bearerToken: "tok"))
        _ = m.receive(ehlo("AUTH XOAUTH2"))
        #expect(m.receive(reply(535, "5.7.8 no")).first == .finish([.temporary(reason: "535 5.7.8 no")]))
    }

    /// RFC 4954 section 4: the AUTH line stays within 512 octets; a long token's response
    /// follows the server's empty challenge.
    @Test func aLongTokenWaitsForTheEmptyChallenge() {
        let token = String(repeating: "t", count: 600)
        var m = overTLS(SMTPCredentials(user: "ana@acme.test", bearerToken: token))
        #expect(m.receive(ehlo("AUTH XOAUTH2")) == [.send("AUTH XOAUTH2")])
        #expect(m.receive(SMTPClientReply(code: 334, lines: [""])) == [.send(base64("user=ana@acme.test\u{1}auth=Bearer \(token)\u{1}\u{1}"))])
        #expect(m.receive(reply(235)) == [.send("MAIL FROM:<agent@acme.test>")])
    }

    @Test func aTokenNeedsATokenMechanism() {
        var m = overTLS(SMTPCredentials(user: "ana@acme.test", bearerToken: "tok"))
        #expect(m.receive(ehlo("AUTH PLAIN LOGIN")) == [
            .finish([.temporary(reason: "relay.test:25 offers neither AUTH OAUTHBEARER nor AUTH XOAUTH2, which an OAuth 2.0 token needs")]),
            .send("QUIT"),
        ])
    }

    @Test func aTokenIsNeverSentWithoutTLS() {
        var m = machine(recipients: ["a@x.test"], tls: .opportunistic, credentials: SMTPCredentials(user: "u", bearerToken: "tok"))
        _ = m.receive(reply(220))
        let actions = m.receive(ehlo("AUTH XOAUTH2"))
        #expect(!actions.contains { if case .send(let line) = $0 { line.hasPrefix("AUTH") } else { false } })
    }

    @Test func credentialsDescribeNoSecret() {
        #expect("\(SMTPCredentials(user: "ana", bearerToken: "tok-secret"))" == "ana with an OAuth 2.0 token")
        #expect("\(SMTPCredentials(user: "ana", password: "pw-secret"))" == "ana with a password")
    }

    @Test func credentialsAreNeverSentWithoutTLS() {
        var m = machine(recipients: ["a@x.test"], tls: .opportunistic, credentials: SMTPCredentials(user: "u", password: "p"))
        _ = m.receive(reply(220))
        let actions = m.receive(ehlo("AUTH PLAIN"))
        #expect(!actions.contains { if case .send(let line) = $0 { line.hasPrefix("AUTH") } else { false } })
        guard case .finish(let outcomes) = actions.first, case .temporary = outcomes[0] else { Issue.record("\(actions)"); return }
    }

    @Test func opportunisticTLSGoesOnWhenStartTLSIsRefused() {
        var m = machine(recipients: ["a@x.test"], tls: .opportunistic)
        _ = m.receive(reply(220)); _ = m.receive(ehlo("STARTTLS"))
        #expect(m.receive(reply(454, "TLS not available")) == [.send("MAIL FROM:<agent@acme.test>")])
    }

    @Test func extensionsShapeTheMailCommand() {
        var m = machine(recipients: ["ü@x.test"], size: 5000, eightBit: true, smtpUTF8: true)
        _ = m.receive(reply(220))
        #expect(m.receive(ehlo("SIZE 10000", "8BITMIME", "SMTPUTF8")) == [.send("MAIL FROM:<agent@acme.test> SIZE=5000 BODY=8BITMIME SMTPUTF8")])
        var tooBig = machine(recipients: ["a@x.test"], size: 5000)
        _ = tooBig.receive(reply(220))
        guard case .finish(let outcomes) = tooBig.receive(ehlo("SIZE 1000")).first, case .permanent = outcomes[0] else { Issue.record("size"); return }
        var noUTF8 = machine(recipients: ["ü@x.test"], smtpUTF8: true)
        _ = noUTF8.receive(reply(220))
        guard case .finish(let o2) = noUTF8.receive(ehlo()).first, case .permanent = o2[0] else { Issue.record("smtputf8"); return }
    }

    @Test func lostConnectionAndTimeoutDeferTheUndecided() {
        var m = machine(recipients: ["a@x.test", "b@x.test"])
        _ = m.receive(reply(220)); _ = m.receive(ehlo()); _ = m.receive(reply(250))
        _ = m.receive(reply(550, "no"))
        _ = m.receive(reply(250)); _ = m.receive(reply(354))
        let lost = m.connectionClosed("reset")
        guard case .finish(let outcomes) = lost.first else { Issue.record("\(lost)"); return }
        #expect(outcomes[0] == .permanent(reason: "550 no"))
        guard case .temporary(let reason) = outcomes[1] else { Issue.record("\(outcomes)"); return }
        #expect(reason.contains("message data"))
        var t = machine(recipients: ["a@x.test"])
        guard case .finish(let o) = t.timedOut().first, case .temporary(let r) = o[0] else { Issue.record("timeout"); return }
        #expect(r.contains("timeout"))
    }
}
