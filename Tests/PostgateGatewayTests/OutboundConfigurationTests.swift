import Foundation
import NIOPosix
import PostgateOutbound
import PostgateStore
import Testing
@testable import PostgateGateway

/// The `outbound:` settings: parsing, refusals, and the next hop they make.
@Suite struct OutboundConfigurationTests {
    private func failure(_ text: String) -> String? {
        do {
            _ = try GatewayConfiguration.parse(text, source: "test.yaml")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func settingsAreRead() throws {
        let password = NSTemporaryDirectory() + "/postgate-relay-\(getpid()).password"
        try "s3cret\n".write(toFile: password, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: password) }
        let configuration = try GatewayConfiguration.parse("""
            hostname: gw.test
            outbound:
              smarthost: relay.test:587
              tls: required
              auth_user: gw
              auth_password_file: \(password)
              retry: {first: 60, factor: 1.5, max_interval: 600, lifetime: 3600}
              timeouts: {connect: 2, data_termination: 30}
            """)
        #expect(configuration.outbound.retry == OutboundRetryPolicy(firstRetry: 60, factor: 1.5, maxInterval: 600, lifetime: 3600))
        #expect(configuration.outbound.timeouts.connect == 2 && configuration.outbound.timeouts.dataTermination == 30)
        #expect(configuration.outbound.timeouts.command == 300)
        #expect(configuration.smtpClientConfiguration.heloName == "gw.test")
        guard case .smarthost(let endpoint) = try configuration.outboundNextHop(threadPool: NIOThreadPool.singleton) else { Issue.record("not a smarthost"); return }
        #expect(endpoint == SMTPEndpoint(host: "relay.test", port: 587, tls: .required, credentials: SMTPCredentials(user: "gw", password: "s3cret")))
    }

    @Test func mistakesAreRefusedInOneLine() {
        #expect(failure("outbound:\n  tls: sometimes\n")?.contains("outbound.tls") == true)
        #expect(failure("outbound:\n  smarthost: nohost\n")?.contains("host:port") == true)
        #expect(failure("outbound:\n  auth_user: x\n")?.contains("auth_password_file") == true)
        #expect(failure("outbound:\n  auth_user: x\n  auth_password_file: /p\n  tls: none\n")?.contains("only over TLS") == true)
        #expect(failure("outbound:\n  retry: {factor: 0.5}\n")?.contains("factor") == true)
        #expect(failure("outbound:\n  retry: {firstt: 5}\n")?.contains("unknown setting 'firstt'") == true)
        #expect(failure("outbound:\n  password: x\n")?.contains("unknown setting 'password'") == true)
    }

    @Test func noSmarthostMeansDirectMXDelivery() throws {
        let configuration = try GatewayConfiguration.parse("outbound:\n  mx_port: 2526\n  tls: none\n", source: "test.yaml")
        guard case .mx(_, let port, let tls) = try configuration.outboundNextHop(threadPool: NIOThreadPool.singleton) else { Issue.record("not MX delivery"); return }
        #expect(port == 2526 && tls == .none)
        #expect(failure("outbound:\n  mx_port: 70000\n")?.contains("mx_port") == true)
        #expect(failure("outbound:\n  default_max_to: 90\n")?.contains("at most 100") == true)
    }
}
