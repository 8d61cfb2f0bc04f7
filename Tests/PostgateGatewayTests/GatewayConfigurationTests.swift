import Foundation
import NIOSSL
import Testing
@testable import PostgateGateway

@Suite struct GatewayConfigurationTests {
    private static let exampleFile = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Config/postgate.example.yaml").path

    /// The error message `text` fails with, or nil if it parses.
    private func failure(_ text: String) -> String? {
        do {
            _ = try GatewayConfiguration.parse(text, source: "test.yaml")
            return nil
        } catch let error as ConfigurationError {
            return error.description
        } catch {
            return "unexpected error type: \(error)"
        }
    }

    @Test func exampleFileEqualsDefaults() throws {
        let configuration = try GatewayConfiguration.load(file: Self.exampleFile)
        #expect(configuration == GatewayConfiguration())
    }

    @Test func exampleFileNamesEverySetting() throws {
        let text = try String(contentsOfFile: Self.exampleFile, encoding: .utf8)
        for key in ["hostname", "data_directory", "log_level", "log_format", "certificate_file", "private_key_file", "listen",
                    "starttls", "max_message_size", "max_line_length", "max_header_size", "max_recipients",
                    "max_commands_before_mail", "max_errors", "max_connections", "max_connections_per_ip",
                    "command_timeout", "data_timeout", "secret_key_file"] {
            #expect(text.contains("\(key):"), "example lacks \(key)")
        }
    }

    @Test func apiIsOffByDefaultAndOnLoopbackInTheEmbeddedDefault() throws {
        #expect(GatewayConfiguration().api.listen.isEmpty)
        #expect(GatewayConfiguration.embeddedDefault.api.listen == ["127.0.0.1:2080"])
        #expect(GatewayConfiguration.embeddedDefault.api.tls)
        let parsed = try GatewayConfiguration.parse("api:\n  listen: [\"127.0.0.1:9080\"]\n  tls: false\n  max_body_bytes: 4096\n")
        #expect(parsed.api.listen == ["127.0.0.1:9080"] && !parsed.api.tls && parsed.api.maxBodyBytes == 4096)
    }

    @Test func apiRefusesPlainHTTPOffLoopbackAndBadLimits() {
        #expect(failure("api:\n  listen: [\"0.0.0.0:2080\"]\n  tls: false\n")?.contains("only on loopback") == true)
        #expect(failure("api:\n  listen: [\"[::1]:2080\"]\n  tls: false\n") == nil)
        #expect(failure("api:\n  max_body_bytes: 10\n")?.contains("max_body_bytes must be 1024 to 67108864") == true)
        #expect(failure("api:\n  ready_min_free_bytes: -1\n")?.contains("ready_min_free_bytes") == true)
        #expect(failure("api:\n  lisen: []\n") != nil)
    }

    @Test func autoRepliesAreSwitchedAndCappedGatewayWide() throws {
        let c = try GatewayConfiguration.parse("auto_replies:\n  enabled: false\n  max_per_sender_per_hour: 0\n")
        #expect(!c.autoReplies.enabled && c.autoReplies.maxPerSenderPerHour == 0)
        #expect(GatewayConfiguration().autoReplies == .init(enabled: true, maxPerSenderPerHour: 3))
        #expect(failure("auto_replies:\n  max_per_sender_per_hour: -1\n")?.contains("auto_replies.max_per_sender_per_hour must be a whole number, not '-1'") == true)
        #expect(failure("auto_replies:\n  max_per_sender_per_hour: 101\n")?.contains("auto_replies.max_per_sender_per_hour must be from 0 to 100, not 101") == true)
        #expect(failure("auto_replies:\n  per_hour: 2\n")?.contains("per_hour") == true)
        let example = try String(contentsOfFile: Self.exampleFile, encoding: .utf8)
        #expect(example.contains("auto_replies:\n") && example.contains("  max_per_sender_per_hour: 3\n"))
    }

    @Test func logFormatIsLogfmtOrJSON() {
        #expect(failure("log_format: json\n") == nil)
        #expect(failure("log_format: text\n")?.contains("log_format: text is not one of logfmt, json") == true)
    }

    @Test func emptyDocumentGivesDefaults() throws {
        #expect(try GatewayConfiguration.parse("") == GatewayConfiguration())
        #expect(try GatewayConfiguration.parse("# only a comment\n") == GatewayConfiguration())
        #expect(try GatewayConfiguration.parse("smtp:\n") == GatewayConfiguration())
    }

    @Test func defaultsAgreeWithSMTPServerDefaults() {
        let d = GatewayConfiguration()
        #expect(d.hostname == "postgate.localhost")
        #expect(d.smtp.listen == ["127.0.0.1:2525"])
        #expect(d.smtp.startTLS)
        #expect(d.smtp.limits.maxErrors == 20)
    }

    @Test func everySettingOverridden() throws {
        let text = """
        hostname: mx.acme.test
        data_directory: /var/lib/postgate
        log_level: debug
        log_format: json
        tls:
          certificate_file: /etc/postgate/chain.pem
          private_key_file: /etc/postgate/key.pem
        smtp:
          listen: ["0.0.0.0:25", "[::]:25"]
          starttls: no
          limits:
            max_message_size: 1_000_000
            max_line_length: 2000
            max_header_size: 4096
            max_recipients: 7
            max_commands_before_mail: 8
            max_errors: 9
            max_connections: 11
            max_connections_per_ip: 12
            command_timeout: 13
            data_timeout: 14
        """
        let c = try GatewayConfiguration.parse(text)
        #expect(c.hostname == "mx.acme.test")
        #expect(c.dataDirectory == "/var/lib/postgate")
        #expect(c.logLevel == .debug)
        #expect(c.logFormat == .json)
        #expect(c.tls.certificateFile == "/etc/postgate/chain.pem")
        #expect(c.tls.privateKeyFile == "/etc/postgate/key.pem")
        #expect(c.smtp.listen == ["0.0.0.0:25", "[::]:25"])
        #expect(c.smtp.startTLS == false)
        let l = c.smtp.limits
        #expect(l.maxMessageSize == 1_000_000)
        #expect(l.maxLineLength == 2000)
        #expect(l.maxHeaderSize == 4096)
        #expect(l.maxRecipients == 7)
        #expect(l.maxCommandsBeforeMail == 8)
        #expect(l.maxErrors == 9)
        #expect(l.maxConnections == 11)
        #expect(l.maxConnectionsPerIP == 12)
        #expect(l.commandTimeout == 13)
        #expect(l.dataTimeout == 14)

        let s = c.smtpServerConfiguration
        #expect(s.hostname == "mx.acme.test")
        #expect(s.maxMessageSize == 1_000_000)
        #expect(s.maxLineLength == 2000)
        #expect(s.maxHeaderSize == 4096)
        #expect(s.maxRecipients == 7)
        #expect(s.maxCommandsBeforeMail == 8)
        #expect(s.maxErrors == 9)
        #expect(s.commandTimeout == 13)
        #expect(s.dataTimeout == 14)
    }

    @Test func partialOverrideKeepsOtherDefaults() throws {
        let c = try GatewayConfiguration.parse("smtp:\n  limits:\n    max_recipients: 500\n")
        var expected = GatewayConfiguration()
        expected.smtp.limits.maxRecipients = 500
        #expect(c == expected)
    }

    @Test func unknownKeysNamed() {
        let top = failure("hostname: a.test\nhost_name: b.test\n")
        #expect(top?.contains("'host_name'") == true, "\(top ?? "parsed")")
        #expect(top?.contains("test.yaml") == true)

        let smtp = failure("smtp:\n  listne: ['127.0.0.1:25']\n")
        #expect(smtp?.contains("'listne'") == true, "\(smtp ?? "parsed")")
        #expect(smtp?.contains("test.yaml.smtp") == true)

        let limits = failure("smtp:\n  limits:\n    max_recipient: 5\n")
        #expect(limits?.contains("'max_recipient'") == true, "\(limits ?? "parsed")")
        #expect(limits?.contains("test.yaml.smtp.limits") == true)

        let tls = failure("tls:\n  certificate: x.pem\n")
        #expect(tls?.contains("'certificate'") == true, "\(tls ?? "parsed")")
    }

    @Test func wrongTypes() {
        let number = failure("smtp:\n  limits:\n    max_recipients: lots\n")
        #expect(number?.contains("max_recipients") == true && number?.contains("lots") == true, "\(number ?? "parsed")")
        #expect(failure("smtp:\n  limits:\n    max_errors: -1\n") != nil)
        #expect(failure("smtp:\n  limits:\n    data_timeout: 1.5\n") != nil)

        let bool = failure("smtp:\n  starttls: maybe\n")
        #expect(bool?.contains("starttls") == true && bool?.contains("maybe") == true, "\(bool ?? "parsed")")

        let listen = failure("smtp:\n  listen: 127.0.0.1:25\n")
        #expect(listen?.contains("smtp.listen must be a list") == true, "\(listen ?? "parsed")")
        #expect(failure("smtp:\n  listen:\n    - [a, b]\n") != nil)

        #expect(failure("hostname: [a, b]\n")?.contains("hostname") == true)
        #expect(failure("smtp: 5\n")?.contains("mapping") == true)
        #expect(failure("- a\n- b\n")?.contains("mapping") == true)
        #expect(failure("log_level: loud\n")?.contains("loud") == true)
        #expect(failure("hostname: [unclosed\n")?.contains("not valid YAML") == true)
    }

    @Test func certificateWithoutKey() {
        let message = failure("tls:\n  certificate_file: /etc/chain.pem\n")
        #expect(message?.contains("private_key_file") == true, "\(message ?? "parsed")")
        #expect(failure("tls:\n  private_key_file: /etc/key.pem\n") != nil)
    }

    @Test func limitsValidated() {
        #expect(failure("smtp:\n  limits:\n    max_line_length: 511\n")?.contains("max_line_length") == true)
        #expect(failure("smtp:\n  limits:\n    max_line_length: 512\n") == nil)
        #expect(failure("smtp:\n  limits:\n    max_recipients: 0\n") != nil)
        #expect(failure("smtp:\n  limits:\n    max_errors: 0\n") != nil)
        #expect(failure("smtp:\n  limits:\n    max_connections: 0\n") != nil)
        #expect(failure("smtp:\n  limits:\n    max_connections_per_ip: 0\n") != nil)
    }

    @Test func secretKeyFileIsRead() throws {
        #expect(GatewayConfiguration().channels.secretKeyFile == "")
        let parsed = try GatewayConfiguration.parse("channels:\n  secret_key_file: /etc/postgate/secret.key\n")
        #expect(parsed.channels.secretKeyFile == "/etc/postgate/secret.key")
        #expect(failure("channels:\n  secret_key: x\n")?.contains("secret_key") == true)
    }

    @Test func invalidListenAddress() {
        let message = failure("smtp:\n  listen:\n    - 127.0.0.1:2525\n    - nowhere\n")
        #expect(message?.contains("nowhere") == true, "\(message ?? "parsed")")
        #expect(failure("smtp:\n  listen: ['127.0.0.1:70000']\n") != nil)
    }

    @Test func loadMissingFile() {
        #expect(throws: ConfigurationError.self) {
            try GatewayConfiguration.load(file: "/nonexistent/postgate.yaml")
        }
    }
}

@Suite struct ListenAddressTests {
    @Test func ipv4() throws {
        let address = try ListenAddress("127.0.0.1:25")
        #expect(address.host == "127.0.0.1")
        #expect(address.port == 25)
        #expect(address.description == "127.0.0.1:25")
    }

    @Test func ipv6() throws {
        let address = try ListenAddress("[::1]:2525")
        #expect(address.host == "::1")
        #expect(address.port == 2525)
        #expect(address.description == "[::1]:2525")
    }

    @Test func hostName() throws {
        let address = try ListenAddress("localhost:0")
        #expect(address.host == "localhost")
        #expect(address.port == 0)
        #expect(try ListenAddress("mx.acme.test:65535").port == 65535)
    }

    @Test(arguments: ["host", "host:99999", "host:65536", "host:", ":25", "host:-1", "host:abc",
                      "[::1]", "[::1]:", "[]:25", "[::1]2525", "[::1]x25", ""])
    func refused(text: String) {
        #expect(throws: ConfigurationError.self) { try ListenAddress(text) }
    }
}

@Suite struct TLSMaterialTests {
    @Test func selfSignedLoadsInNIOSSL() throws {
        let (certificatePEM, keyPEM) = try TLSMaterial.makeSelfSigned(hostname: "mx.acme.test")
        #expect(certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(keyPEM.contains("PRIVATE KEY-----"))
        let certificates = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        #expect(certificates.count == 1)
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)

        // The key and certificate belong together: a server context accepts the pair.
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        _ = try NIOSSLContext(configuration: configuration)

        let certificate = try #require(certificates.first)
        let names = certificate._subjectAlternativeNames().map { name -> String in
            switch name.nameType {
            case .dnsName: "DNS:" + String(decoding: name.contents, as: UTF8.self)
            case .ipAddress: "IP:" + name.contents.map(String.init).joined(separator: ".")
            default: "other"
            }
        }
        #expect(names.contains("DNS:mx.acme.test"))
        #expect(names.contains("DNS:localhost"))
        #expect(names.contains("IP:127.0.0.1"))
        #expect(names.contains("IP:" + ([UInt8](repeating: 0, count: 15) + [1]).map(String.init).joined(separator: ".")))
    }

    @Test func validityIs825Days() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let (certificatePEM, _) = try TLSMaterial.makeSelfSigned(hostname: "mx.acme.test", now: now)
        let certificate = try #require(try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).first)
        #expect(certificate.notValidAfter == 1_700_000_000 + 825 * 86_400)
        #expect(certificate.notValidBefore <= 1_700_000_000)
    }

    @Test func pairFromAnotherCallDoesNotMatch() throws {
        let first = try TLSMaterial.makeSelfSigned(hostname: "a.test")
        let second = try TLSMaterial.makeSelfSigned(hostname: "a.test")
        #expect(first.key != second.key)
        let certificates = try NIOSSLCertificate.fromPEMBytes(Array(first.certificate.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(second.key.utf8), format: .pem)
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        #expect(throws: (any Error).self) { try NIOSSLContext(configuration: configuration) }
    }

    @Test func devCertificateWrittenWithModes() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("postgate-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificatePath, keyPath) = try TLSMaterial.ensureDevCertificate(hostname: "mx.acme.test", directory: directory + "/certs")
        #expect(certificatePath.hasSuffix("/" + TLSMaterial.devCertificateName))
        #expect(keyPath.hasSuffix("/" + TLSMaterial.devKeyName))
        let keyMode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let before = try String(contentsOfFile: certificatePath, encoding: .utf8)
        // A second start keeps the same certificate.
        _ = try TLSMaterial.ensureDevCertificate(hostname: "mx.acme.test", directory: directory + "/certs")
        #expect(try String(contentsOfFile: certificatePath, encoding: .utf8) == before)

        var configuration = GatewayConfiguration()
        configuration.hostname = "mx.acme.test"
        _ = try ServerCertificate(TLSMaterial.load(configuration: configuration, dataDirectory: directory)).makeContext()
    }
}
