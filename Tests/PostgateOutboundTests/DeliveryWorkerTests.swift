import Foundation
import PostgateMessage
import Testing
@testable import PostgateOutbound

/// The delivery worker's pass against the loopback SMTP server of `SMTPClientTests`: its
/// queue work runs on the thread pool, where the guards of `claimDue`, `record`, `release`
/// and the notification steps let it run; called from this task, they would stop the test.
@Suite struct DeliveryWorkerTests {
    @Test func aPassDeliversAndRecordsFromTheThreadPool() async throws {
        let f = try await SMTPClientTests.Fixture()
        let queue = try OutboundQueue.open(directory: f.directory + "/data")
        let record = try queue.enqueue(sender: EmailAddress("support@acme.test"), recipients: [EmailAddress("jane@example.test")],
                                       message: Array("Subject: hi\r\n\r\nbody\r\n".utf8))
        let worker = DeliveryWorker(queue: queue, client: f.client, nextHop: .smarthost(f.endpoint), threadPool: f.pool)
        #expect(try await worker.runOnce() == 1)
        #expect(try queue.message(record.id).recipients.map(\.state) == [.delivered])
        #expect(f.received.all == ["Subject: hi\r\n\r\nbody"])
        #expect(try await worker.runOnce() == 0)
    }
}
