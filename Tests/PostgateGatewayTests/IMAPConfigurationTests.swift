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
              max_failed_logins: 3
            imaps:
              listen: ["127.0.0.1:3993"]
            """)
        #expect(configuration.imap.listen == ["127.0.0.1:3143"])
        #expect(configuration.imaps.listen == ["127.0.0.1:3993"])
        let imap = configuration.imapServerConfiguration
        #expect(imap.allowPlaintextAuth && imap.maxLiteralSize == 1000 && imap.failedLoginDelay == 50)
        #expect(configuration.imap.maxFailedLogins == 3)
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
