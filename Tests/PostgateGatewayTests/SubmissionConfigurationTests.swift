import Testing
@testable import PostgateGateway
import PostgateSMTP

@Suite struct SubmissionConfigurationTests {
    @Test func submissionSettingsAreRead() throws {
        let configuration = try GatewayConfiguration.parse("""
            smtp:
              limits:
                max_message_size: 5000
            submission:
              listen: ["127.0.0.1:3587"]
              max_connections: 7
              max_connections_per_ip: 3
              failed_login_delay_ms: 0
            submissions:
              listen: []
            """)
        #expect(configuration.submission.listen == ["127.0.0.1:3587"] && configuration.submissions.listen.isEmpty)
        #expect(configuration.submission.maxConnections == 7 && configuration.submission.maxConnectionsPerIP == 3)
        #expect(configuration.submission.failedLoginDelayMs == 0)
        // The message limits are the SMTP ones, in submission mode; the MX stays an MX.
        let protocolSettings = configuration.submissionServerConfiguration
        #expect(protocolSettings.mode == .submission && protocolSettings.maxMessageSize == 5000)
        #expect(configuration.smtpServerConfiguration.mode == .mx)
    }

    @Test func defaultsAreTheDevPorts() {
        let configuration = GatewayConfiguration()
        #expect(configuration.submission.listen == ["127.0.0.1:2587"])
        #expect(configuration.submissions.listen == ["127.0.0.1:2465"])
    }

    @Test func mistakesAreOneLineErrors() {
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("submission:\n  starttls: false\n") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("submissions:\n  listen: [\"nohost\"]\n") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("submission:\n  max_connections: 0\n") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("submissions:\n  max_connections: 3\n") }
    }
}

@Suite struct ReplyRefusalReplyTests {
    @Test func enhancedCodeIsSplitOff() {
        #expect(ReplyRefusal(code: 550, text: "5.7.1 agent bob may not send as a@b.test").smtpReply
            == SMTPReply(550, "5.7.1", "agent bob may not send as a@b.test"))
        #expect(ReplyRefusal(code: 552, text: "attachments too large").smtpReply == SMTPReply(552, nil, "attachments too large"))
        #expect(ReplyRefusal(code: 550, text: "5.7 odd").smtpReply == SMTPReply(550, nil, "5.7 odd"))
        #expect(ReplyRefusal(code: 250, text: "2.0.0 not a refusal").smtpReply.code == 554)
    }
}
