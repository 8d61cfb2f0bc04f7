import Foundation
import Logging
import Testing
@testable import PostgateGateway

/// What a reload applies and what waits for a restart, the process file `postgate reload`
/// finds the server by, and a gateway refusing a certificate that does not load.
@Suite struct GatewayReloadTests {
    @Test func anUnchangedFileChangesNothing() {
        let running = GatewayConfiguration.embeddedDefault
        let plan = running.reload(to: running)
        #expect(plan == ConfigurationReload(configuration: running, applied: [], needsRestart: []))
    }

    @Test func certificateFilesAndLogLevelApplyAtOnce() {
        let running = GatewayConfiguration()
        var new = running
        new.tls.certificateFile = "/etc/postgate/cert.pem"
        new.tls.privateKeyFile = "/etc/postgate/key.pem"
        new.logLevel = .debug
        let plan = running.reload(to: new)
        #expect(plan.applied == ["tls.certificate_file", "tls.private_key_file", "log_level"])
        #expect(plan.needsRestart.isEmpty)
        #expect(plan.configuration == new)
    }

    @Test func listenersDataAndWorkersKeepTheirRunningValuesUntilARestart() {
        let running = GatewayConfiguration()
        var new = running
        new.smtp.listen = ["0.0.0.0:25"]
        new.smtp.limits.maxRecipients = 7
        new.imap.idleTimeout = 3600
        new.dataDirectory = "/var/lib/other"
        new.outbound.retry.lifetime = 3600
        new.tls.handshakeTimeout = 5
        new.logLevel = .warning
        let plan = running.reload(to: new)
        #expect(plan.applied == ["log_level"])
        #expect(plan.needsRestart == ["data_directory", "tls.handshake_timeout", "smtp.listen", "smtp", "imap", "outbound"])
        var expected = running
        expected.logLevel = .warning
        #expect(plan.configuration == expected)
    }

    @Test func aListenerSectionIsNamedApartFromItsAddresses() {
        let running = GatewayConfiguration()
        var new = running
        new.imaps.listen = []
        new.api.listen = ["127.0.0.1:8443"]
        new.submission.maxConnections = 3
        let plan = running.reload(to: new)
        #expect(plan.needsRestart == ["imaps.listen", "submission", "api.listen"])
    }

    @Test func processFileNamesThePidThenTheConfigFile() throws {
        let file = ServerProcessFile(pid: 4242, configFile: "/etc/postgate/postgate.yaml")
        #expect(file.text == "4242\n/etc/postgate/postgate.yaml\n")
        #expect(try ServerProcessFile.parse(file.text, path: "p") == file)
        #expect(try ServerProcessFile.parse("17\n", path: "p") == ServerProcessFile(pid: 17, configFile: nil))
        #expect(throws: ConfigurationError.self) { try ServerProcessFile.parse("postgate\n", path: "p") }
        // This test process is not `postgate serve`: a file naming it names no server.
        #expect(!ServerProcessFile(pid: getpid(), configFile: nil).isRunning)
        #expect(!ServerProcessFile(pid: Int32.max, configFile: nil).isRunning)
    }

    @Test func processFileIsRemovedOnlyByItsOwnServer() throws {
        let root = NSTemporaryDirectory() + "/postgate-pid-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ours = ServerProcessFile(pid: 100, configFile: nil)
        try ours.write(dataDirectory: root)
        ServerProcessFile(pid: 101, configFile: nil).remove(dataDirectory: root)
        #expect(try ServerProcessFile.read(dataDirectory: root) == ours)
        ours.remove(dataDirectory: root)
        #expect(try ServerProcessFile.read(dataDirectory: root) == nil)
    }

    @Test func aCertificateThatDoesNotLoadIsRefusedAndTheRunningOneStays() async throws {
        let root = NSTemporaryDirectory() + "/postgate-reload-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var configuration = GatewayConfiguration()
        configuration.smtp.listen = ["127.0.0.1:0"]
        configuration.imap.listen = []
        configuration.imaps.listen = ["127.0.0.1:0"]
        configuration.submission.listen = []
        configuration.submissions.listen = []
        let levels = LogLevelSwitch(.info)
        let gateway = Gateway(configuration: configuration, dataDirectory: root, logger: Logger(label: "test"), logLevel: levels)
        try await gateway.start()
        let devCertificate = try #require(gateway.certificate?.certificateFile)

        let broken = root + "/broken.pem"
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: broken))
        var new = configuration
        new.tls.certificateFile = broken
        new.tls.privateKeyFile = broken
        new.logLevel = .debug
        await #expect(throws: ConfigurationError.self) { try await gateway.reload(to: new) }
        #expect(gateway.runningConfiguration == configuration)
        #expect(gateway.certificate?.certificateFile == devCertificate)
        #expect(levels.current == .info)

        // A loadable pair replaces it, and the level changes with it.
        let (certificatePEM, keyPEM) = try TLSMaterial.makeSelfSigned(hostname: "renewed.test")
        try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: root + "/renewed.pem"))
        try Data(keyPEM.utf8).write(to: URL(fileURLWithPath: root + "/renewed-key.pem"))
        new.tls.certificateFile = root + "/renewed.pem"
        new.tls.privateKeyFile = root + "/renewed-key.pem"
        let plan = try await gateway.reload(to: new)
        #expect(plan.applied == ["tls.certificate_file", "tls.private_key_file", "log_level"])
        #expect(gateway.certificate?.certificateFile == root + "/renewed.pem")
        #expect(levels.current == .debug)
        await gateway.shutdown()
    }
}
