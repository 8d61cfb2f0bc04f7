import Foundation
import Logging
import NIOCore
import Testing
@testable import PostgateGateway

/// The gateway started and stopped from a task, as `postgate serve` runs it: the store's
/// opening, recovery and WAL preallocation, the TLS material, the queues and the store's
/// closing run on thread pools, where their guards let them run; were any of them called
/// on this task's thread, a debug build would stop here.
@Suite struct GatewayLifecycleTests {
    @Test func startsAndStopsWithItsBlockingWorkOnAThreadPool() async throws {
        let root = NSTemporaryDirectory() + "/postgate-gateway-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var configuration = GatewayConfiguration()
        configuration.smtp.listen = ["127.0.0.1:0"]
        configuration.imap.listen = ["127.0.0.1:0"]
        configuration.imaps.listen = []
        configuration.submission.listen = ["127.0.0.1:0"]
        configuration.submissions.listen = []
        let gateway = Gateway(configuration: configuration, dataDirectory: root, logger: Logger(label: "test"))
        let smtp = try await gateway.start()
        #expect(smtp.count == 1 && gateway.imapAddresses.count == 1 && gateway.submissionAddresses.count == 1)
        #expect(FileManager.default.fileExists(atPath: root + "/postgate.sqlite"))
        #expect(FileManager.default.fileExists(atPath: root + "/certs/" + TLSMaterial.devCertificateName))
        await gateway.shutdown()
    }
}
