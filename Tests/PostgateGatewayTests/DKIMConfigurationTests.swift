import Foundation
import PostgateDNS
import Testing
@testable import PostgateGateway

/// The `dns:` and `dkim:` settings: parsed, defaulted, named in the example file,
/// and refused with a one-line reason when wrong.
@Suite struct DKIMConfigurationTests {
    private func failure(_ text: String) -> String? {
        do {
            _ = try GatewayConfiguration.parse(text, source: "test.yaml")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func parsesTheSettings() throws {
        let configuration = try GatewayConfiguration.parse("""
            dns:
              servers: ["127.0.0.1:5353", "[::1]:53", "10.0.0.1"]
              timeout: 1
              attempts: 3
            dkim:
              verify_inbound: false
              verification_window: 600
              recheck_initial_interval: 2
              recheck_max_interval: 30
              recheck_poll_interval: 1
            """)
        #expect(configuration.dns.resolverConfiguration == DNSResolver.Configuration(
            servers: [DNSServerAddress(host: "127.0.0.1", port: 5353), DNSServerAddress(host: "::1", port: 53), DNSServerAddress(host: "10.0.0.1")],
            timeout: 1, attempts: 3))
        #expect(!configuration.dkim.verifyInbound)
        let policy = configuration.dkim.verificationPolicy
        #expect(policy.window == 600 && policy.initialInterval == 2 && policy.maxInterval == 30)
        #expect(configuration.dkim.recheckPollInterval == 1)
    }

    @Test func defaultsAreA72HourWindowAndInboundVerification() {
        let configuration = GatewayConfiguration()
        #expect(configuration.dkim.verificationWindow == 259_200 && configuration.dkim.verifyInbound)
        #expect(configuration.dns.servers.isEmpty)
    }

    @Test func exampleFileNamesTheSettings() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Config/postgate.example.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in ["dns", "servers", "timeout", "attempts", "dkim", "verify_inbound", "verification_window",
                    "recheck_initial_interval", "recheck_max_interval", "recheck_poll_interval"] {
            #expect(text.contains("\(key):"), "example lacks \(key)")
        }
        #expect(try GatewayConfiguration.load(file: path) == GatewayConfiguration())
    }

    @Test func refusesWrongSettings() {
        #expect(failure("dns:\n  servers: [\"dns.example\"]\n")?.contains("is not a DNS server address") == true)
        #expect(failure("dns:\n  timeout: 0\n")?.contains("at least 1") == true)
        #expect(failure("dns:\n  retries: 2\n")?.contains("unknown setting 'retries'") == true)
        #expect(failure("dkim:\n  verification_window: 0\n")?.contains("at least 1") == true)
        #expect(failure("dkim:\n  verify_inbound: maybe\n")?.contains("true or false") == true)
    }
}
