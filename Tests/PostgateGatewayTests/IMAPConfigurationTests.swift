import Foundation
import Testing
@testable import PostgateGateway

@Suite struct IMAPConfigurationTests {
    @Test func imapSettingsAreReadAndPassedToTheProtocol() throws {
        let configuration = try GatewayConfiguration.parse("""
            imap:
              listen: ["127.0.0.1:3143"]
              allow_plaintext_auth: true
              max_literal_size: 1000
              failed_login_delay_ms: 50
              login_timeout: 5
              send_timeout: 7
              max_connections: 300
              max_connections_per_ip: 4
              threads: 2
            imaps:
              listen: ["127.0.0.1:3993"]
            tls:
              handshake_timeout: 3
            login:
              max_failures_per_ip: 3
              max_failures_per_account: 6
              lockout_seconds: 90
              concurrent_checks: 1
            smtp:
              limits:
                min_data_rate: 50
            """)
        #expect(configuration.imap.listen == ["127.0.0.1:3143"])
        #expect(configuration.imaps.listen == ["127.0.0.1:3993"])
        let imap = configuration.imapServerConfiguration
        #expect(imap.allowPlaintextAuth && imap.maxLiteralSize == 1000 && imap.failedLoginDelay == 50)
        #expect(imap.loginTimeout == 5 && imap.sendTimeout == 7 && imap.tlsHandshakeTimeout == 3)
        #expect(configuration.imap.maxConnections == 300 && configuration.imap.maxConnectionsPerIP == 4 && configuration.imap.threads == 2)
        #expect(configuration.login == GatewayConfiguration.LoginSettings(maxFailuresPerIP: 3, maxFailuresPerAccount: 6,
                                                                           lockoutSeconds: 90, concurrentChecks: 1))
        #expect(configuration.login.checkThreads(cores: 8) == 1)
        // The default, 0: half the cores, at least one.
        #expect(GatewayConfiguration().login.checkThreads(cores: 8) == 4 && GatewayConfiguration().login.checkThreads(cores: 1) == 1)
        #expect(configuration.smtpServerConfiguration.minDataRate == 50)
        #expect(configuration.smtpServerConfiguration.tlsHandshakeTimeout == 3)
    }

    /// A configuration of an earlier version, with the login brake under `imap:` and
    /// `submission:`, still starts; `login:` wins where it names the same setting.
    @Test func earlierLoginSettingsAreStillRead() throws {
        let earlier = try GatewayConfiguration.parse("""
            imap:
              max_failed_logins: 7
              lockout_seconds: 120
            submission:
              max_failed_logins: 5
              lockout_seconds: 60
            """)
        #expect(earlier.login.maxFailuresPerIP == 5 && earlier.login.lockoutSeconds == 120)
        let both = try GatewayConfiguration.parse("imap:\n  max_failed_logins: 7\nlogin:\n  max_failures_per_ip: 9\n")
        #expect(both.login.maxFailuresPerIP == 9)
    }

    /// IMAP gets what the descriptor limit leaves once each SMTP and submission session
    /// has two descriptors in reserve, and the process 256.
    @Test func imapConnectionLimitLeavesTheSMTPReserve() {
        var configuration = GatewayConfiguration()
        configuration.smtp.limits.maxConnections = 200
        configuration.submission.maxConnections = 50
        #expect(Gateway.imapConnectionLimit(configuration: configuration, descriptorLimit: 1024) == 1024 - 500 - 256)
        #expect(Gateway.imapConnectionLimit(configuration: configuration, descriptorLimit: 1 << 20) == configuration.imap.maxConnections)
        configuration.submission.listen = []
        configuration.submissions.listen = []
        #expect(Gateway.imapConnectionLimit(configuration: configuration, descriptorLimit: 1024) == 1024 - 400 - 256)
        #expect(Gateway.imapConnectionLimit(configuration: configuration, descriptorLimit: 100) == 1)
    }

    @Test func authCacheTTLIsReadAndMayBeTurnedOff() throws {
        #expect(GatewayConfiguration().imap.authCacheTTL == 600)
        #expect(try GatewayConfiguration.parse("imap:\n  auth_cache_ttl: 0\n").imap.authCacheTTL == 0)
        #expect(try GatewayConfiguration.parse("imap:\n  auth_cache_ttl: 30\n").imap.authCacheTTL == 30)
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("imap:\n  auth_cache_ttl: -1\n") }
    }

    @Test func imapMistakesAreOneLineErrors() {
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("imap:\n  max_literal: 5\n") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("imap:\n  idle_timeout: 60\n") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("imaps:\n  listen: [\"nohost\"]\n") }
    }

    @Test func defaultsAreTheDevPorts() {
        let configuration = GatewayConfiguration()
        #expect(configuration.imap.listen == ["127.0.0.1:2143"] && configuration.imaps.listen == ["127.0.0.1:2993"])
        #expect(!configuration.imap.allowPlaintextAuth)
    }
}
