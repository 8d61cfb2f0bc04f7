import Testing
@testable import PostgateOutbound

/// The probe mode of the SMTP client state machine: set-up steps with their replies, no
/// transaction, without any I/O.
@Suite struct SMTPProbeStateMachineTests {
    typealias Machine = SMTPClientStateMachine

    private func probe(tls: SMTPTLSPolicy = .required, implicitTLS: Bool = false,
                       credentials: SMTPCredentials? = SMTPCredentials(user: "agent@acme.test", password: "secret")) -> Machine {
        Machine(probing: SMTPEndpoint(host: "smtp.provider.test", port: 587, tls: tls, credentials: credentials, implicitTLS: implicitTLS),
                heloName: "postgate.test")
    }

    private func reply(_ code: Int, _ lines: String...) -> SMTPClientReply {
        SMTPClientReply(code: code, lines: lines.isEmpty ? ["ok"] : lines)
    }

    private func ehlo(_ keywords: String...) -> SMTPClientReply {
        SMTPClientReply(code: 250, lines: ["smtp.provider.test hello"] + keywords)
    }

    @Test func startTLSAuthenticatesThenQuitsWithoutATransaction() {
        var m = probe()
        #expect(m.receive(reply(220, "smtp.provider.test ESMTP")) == [.send("EHLO postgate.test")])
        #expect(m.receive(ehlo("STARTTLS", "PIPELINING")) == [.send("STARTTLS")])
        #expect(m.receive(reply(220, "2.0.0 ready")) == [.startTLS])
        #expect(m.tlsEstablished() == [.send("EHLO postgate.test")])
        #expect(m.receive(ehlo("AUTH PLAIN LOGIN")) == [.send("AUTH PLAIN AGFnZW50QGFjbWUudGVzdABzZWNyZXQ=")])
        #expect(m.receive(reply(235, "2.7.0 accepted")) == [.finish([]), .send("QUIT")])
        #expect(m.receive(reply(221, "bye")) == [.close])
        #expect(m.steps.map(\.name) == ["connect", "ehlo", "starttls", "ehlo", "authenticate"])
        #expect(m.steps.allSatisfy { $0.ok })
        #expect(m.steps[0].detail == "smtp.provider.test:587, TLS not yet active, 220 smtp.provider.test ESMTP")
        #expect(m.steps[1].detail == "250 smtp.provider.test hello; offers STARTTLS")
        #expect(m.steps[2].detail == "220 2.0.0 ready, TLS established")
        #expect(m.steps[3].detail == "250 smtp.provider.test hello; offers AUTH PLAIN LOGIN")
        #expect(m.steps[4].detail == "235 2.7.0 accepted as agent@acme.test")
    }

    @Test func implicitTLSNeedsNoStartTLS() {
        var m = probe(implicitTLS: true)
        #expect(m.tlsEstablished() == [], "the handshake before the greeting sends nothing")
        _ = m.receive(reply(220, "ready"))
        #expect(m.receive(ehlo("AUTH LOGIN")) == [.send("AUTH LOGIN")])
        #expect(m.receive(reply(334, "VXNlcm5hbWU6")) == [.send("YWdlbnRAYWNtZS50ZXN0")])
        #expect(m.receive(reply(334, "UGFzc3dvcmQ6")) == [.send("c2VjcmV0")])
        #expect(m.receive(reply(235)) == [.finish([]), .send("QUIT")])
        #expect(m.steps.map(\.name) == ["connect", "ehlo", "authenticate"])
        #expect(m.steps[0].detail.contains("TLS active"))
    }

    @Test func refusedAuthenticationIsTheFailedLastStep() {
        var m = probe(implicitTLS: true)
        _ = m.receive(reply(220)); _ = m.receive(ehlo("AUTH PLAIN"))
        #expect(m.receive(reply(535, "5.7.8 authentication failed")) == [.finish([]), .send("QUIT")])
        #expect(m.steps.last == SMTPProbeStep(name: "authenticate", ok: false, detail: "535 5.7.8 authentication failed"))
        #expect(m.steps.dropLast().allSatisfy { $0.ok })
    }

    @Test func missingStartTLSFailsThatStep() {
        var m = probe()
        _ = m.receive(reply(220))
        #expect(m.receive(ehlo("AUTH PLAIN")) == [.finish([]), .send("QUIT")])
        #expect(m.steps.map(\.name) == ["connect", "ehlo", "starttls"])
        #expect(m.steps.last?.ok == false)
        #expect(m.steps.last?.detail.contains("does not offer STARTTLS") == true)
    }

    @Test func failedHandshakeFailsStartTLS() {
        var m = probe()
        _ = m.receive(reply(220)); _ = m.receive(ehlo("STARTTLS")); _ = m.receive(reply(220))
        #expect(m.stage == .tlsHandshake)
        #expect(m.tlsFailed("certificate verify failed") == [.finish([]), .close])
        #expect(m.steps.last?.name == "starttls")
        #expect(m.steps.last?.detail.contains("certificate verify failed") == true)
    }

    @Test func refusedGreetingAndLostConnectionFailConnect() {
        var refused = probe()
        #expect(refused.receive(reply(554, "no service")) == [.finish([]), .send("QUIT")])
        #expect(refused.steps == [SMTPProbeStep(name: "connect", ok: false, detail: "554 no service")])

        var lost = probe(implicitTLS: true)
        _ = lost.connectionClosed("handshake failed")
        #expect(lost.steps.map(\.name) == ["connect"])
        #expect(lost.steps[0].ok == false)
        #expect(lost.steps[0].detail.contains("handshake failed"))
    }

    @Test func timeoutDuringAuthenticationFailsIt() {
        var m = probe(implicitTLS: true)
        _ = m.receive(reply(220)); _ = m.receive(ehlo("AUTH PLAIN"))
        _ = m.timedOut()
        #expect(m.steps.last?.name == "authenticate")
        #expect(m.steps.last?.ok == false)
    }

    @Test func credentialsAreNotSentWithoutTLS() {
        var m = probe(tls: .none)
        _ = m.receive(reply(220))
        #expect(m.receive(ehlo("AUTH PLAIN")) == [.finish([]), .send("QUIT")])
        #expect(m.steps.last?.name == "authenticate")
        #expect(m.steps.last?.detail.contains("clear text") == true)
    }

    @Test func withoutCredentialsTheProbeEndsAfterEHLO() {
        var m = probe(tls: .none, credentials: nil)
        _ = m.receive(reply(220))
        #expect(m.receive(ehlo()) == [.finish([]), .send("QUIT")])
        #expect(m.steps.map(\.name) == ["connect", "ehlo"])
    }

    @Test func aDeliveryRecordsItsStepsToo() {
        var m = Machine(request: SMTPDeliveryRequest(sender: "a@acme.test", recipients: ["b@x.test"], path: "/dev/null", size: 1),
                        endpoint: SMTPEndpoint(host: "relay.test", tls: .none), heloName: "postgate.test")
        _ = m.receive(reply(220))
        #expect(m.receive(ehlo()) == [.send("MAIL FROM:<a@acme.test>")])
        _ = m.receive(reply(550, "no"))
        #expect(m.steps.map(\.name) == ["connect", "ehlo"])
    }
}
