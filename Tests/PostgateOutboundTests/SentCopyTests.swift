import Foundation
import PostgateMessage
import Synchronization
import Testing
@testable import PostgateOutbound

/// Replies sent through a sending gateway that saves to Sent: the copy is due in the queue
/// before the first attempt, stored once the reply was delivered, retried after a failure and
/// stored once; the queued file stays until it is. Against the loopback SMTP server of
/// `SMTPClientTests`, with a writer that records instead of appending by IMAP.
@Suite struct SentCopyTests {
    final class Writer: SentCopyWriter {
        let stored = Mutex<[(sender: String, message: [UInt8])]>([])
        let failures = Mutex(0)

        init(failing: Int = 0) { failures.withLock { $0 = failing } }

        func storeSentCopy(_ message: [UInt8], sender: String) async throws {
            let fail = failures.withLock { left in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            if fail { throw TestFailure(description: "NO [TRYCREATE] no such mailbox") }
            stored.withLock { $0.append((sender, message)) }
        }
    }

    struct TestFailure: Error, CustomStringConvertible { var description: String }

    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 2_000_000))
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    private func worker(_ f: SMTPClientTests.Fixture, queue: OutboundQueue, writer: Writer?, saveToSent: Bool, clock: Clock) -> DeliveryWorker {
        var worker = DeliveryWorker(queue: queue, client: f.client, nextHop: .smarthost(SMTPEndpoint(host: "127.0.0.1", port: 1, tls: .none)),
                                    threadPool: f.pool, clock: { clock.now.withLock { $0 } })
        let endpoint = f.endpoint
        worker.senderRoutes = { sender in sender == "support@acme.test" ? SenderRoute(endpoint: endpoint, saveToSent: saveToSent) : nil }
        worker.sentCopies = writer
        return worker
    }

    @Test func aDeliveredReplyIsCopiedOnceAndTheFileGoesAfterwards() async throws {
        let f = try await SMTPClientTests.Fixture()
        let clock = Clock()
        let queue = try OutboundQueue.open(directory: f.directory + "/data")
        let content = Array("Subject: hi\r\n\r\nbody\r\n".utf8)
        let record = try queue.enqueue(sender: EmailAddress("support@acme.test"), recipients: [EmailAddress("jane@example.test")],
                                       message: content, now: clock.now.withLock { $0 })
        let writer = Writer()
        let worker = worker(f, queue: queue, writer: writer, saveToSent: true, clock: clock)
        #expect(try await worker.runOnce() == 1)
        #expect(f.received.all == ["Subject: hi\r\n\r\nbody"], "sent through the sender's route")
        #expect(try queue.sentCopyState(record.id)?.state == 1)
        #expect(FileManager.default.fileExists(atPath: queue.directoryPath + "/" + record.filename), "kept for the Sent copy")
        try await worker.storeSentCopies()
        #expect(writer.stored.withLock { $0.map(\.sender) } == ["support@acme.test"])
        #expect(writer.stored.withLock { $0.first?.message } == content)
        #expect(try queue.sentCopyState(record.id)?.state == 2)
        #expect(!FileManager.default.fileExists(atPath: queue.directoryPath + "/" + record.filename))
        try await worker.storeSentCopies()
        #expect(writer.stored.withLock { $0.count } == 1, "stored once")
    }

    @Test func aFailedCopyIsRetriedAfterAPauseWithoutHoldingUpDelivery() async throws {
        let f = try await SMTPClientTests.Fixture()
        let clock = Clock()
        let queue = try OutboundQueue.open(directory: f.directory + "/data")
        let record = try queue.enqueue(sender: EmailAddress("support@acme.test"), recipients: [EmailAddress("jane@example.test")],
                                       message: Array("Subject: hi\r\n\r\nbody\r\n".utf8), now: clock.now.withLock { $0 })
        let writer = Writer(failing: 1)
        let worker = worker(f, queue: queue, writer: writer, saveToSent: true, clock: clock)
        #expect(try await worker.runOnce() == 1)
        #expect(try queue.message(record.id).recipients.map(\.state) == [.delivered])
        try await worker.storeSentCopies()
        let failed = try queue.sentCopyState(record.id)
        #expect(failed?.state == 1 && failed?.attempts == 1)
        #expect(failed?.error?.contains("TRYCREATE") == true)
        try await worker.storeSentCopies()
        #expect(writer.stored.withLock { $0.isEmpty }, "not retried before the pause is over")
        clock.advance(61)
        try await worker.storeSentCopies()
        #expect(writer.stored.withLock { $0.count } == 1)
        #expect(try queue.sentCopyState(record.id)?.state == 2)
    }

    @Test func aCopyThatKeepsFailingIsGivenUpAndTheFileRemoved() throws {
        let f = NSTemporaryDirectory() + "/postgate-sent-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: f) }
        let queue = try OutboundQueue.open(directory: f + "/data")
        let t0 = Date(timeIntervalSince1970: 2_000_000)
        let record = try queue.enqueue(sender: EmailAddress("support@acme.test"), recipients: [EmailAddress("jane@example.test")],
                                       message: Array("x\r\n".utf8), now: t0)
        try queue.markSentCopyDue(record.id)
        try queue.record([record.recipients[0].id: .delivered(reply: "250 ok")], now: t0)
        var time = t0
        for attempt in 1...OutboundQueue.sentCopyMaxAttempts {
            let due = try queue.pendingSentCopies(now: time)
            #expect(due.count == 1)
            let givenUp = try queue.sentCopyFailed(due[0], reason: "NO down", now: time)
            #expect(givenUp == (attempt == OutboundQueue.sentCopyMaxAttempts))
            time += 3601
        }
        #expect(try queue.sentCopyState(record.id)?.state == 3)
        #expect(try queue.pendingSentCopies(now: time).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: queue.directoryPath + "/" + record.filename))
    }

    @Test func aReplyThatReachedNobodyNeedsNoCopy() throws {
        let f = NSTemporaryDirectory() + "/postgate-sent-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: f) }
        let queue = try OutboundQueue.open(directory: f + "/data")
        let record = try queue.enqueue(sender: EmailAddress("support@acme.test"), recipients: [EmailAddress("jane@example.test")],
                                       message: Array("x\r\n".utf8))
        try queue.markSentCopyDue(record.id)
        #expect(try queue.pendingSentCopies().isEmpty, "not before every recipient is settled")
        try queue.record([record.recipients[0].id: .permanent(reason: "550 no")])
        #expect(try queue.pendingSentCopies().isEmpty)
        #expect(try queue.sentCopyState(record.id)?.state == 2)
    }

    @Test func withoutSaveToSentNoCopyIsDue() async throws {
        let f = try await SMTPClientTests.Fixture()
        let clock = Clock()
        let queue = try OutboundQueue.open(directory: f.directory + "/data")
        let record = try queue.enqueue(sender: EmailAddress("support@acme.test"), recipients: [EmailAddress("jane@example.test")],
                                       message: Array("Subject: hi\r\n\r\nbody\r\n".utf8), now: clock.now.withLock { $0 })
        let writer = Writer()
        let worker = worker(f, queue: queue, writer: writer, saveToSent: false, clock: clock)
        #expect(try await worker.runOnce() == 1)
        try await worker.storeSentCopies()
        #expect(writer.stored.withLock { $0.isEmpty })
        #expect(try queue.sentCopyState(record.id)?.state == 0)
        #expect(!FileManager.default.fileExists(atPath: queue.directoryPath + "/" + record.filename))
    }

    // MARK: The probe over a socket

    @Test func probeReportsConnectAndEHLOOfAServerWithoutAuthentication() async throws {
        let f = try await SMTPClientTests.Fixture()
        let steps = await f.client.probe(f.endpoint)
        #expect(steps.map(\.name) == ["connect", "ehlo"])
        #expect(steps.allSatisfy { $0.ok })
        #expect(steps.first?.detail.contains("220 fake.test ESMTP") == true)
        #expect(f.received.all.isEmpty, "nothing was sent")
    }

    @Test func probeOfAClosedPortFailsConnect() async throws {
        let f = try await SMTPClientTests.Fixture()
        let steps = await f.client.probe(SMTPEndpoint(host: "127.0.0.1", port: 1, tls: .none))
        #expect(steps.count == 1)
        #expect(steps.first?.name == "connect" && steps.first?.ok == false)
        #expect(steps.first?.detail.contains("cannot connect") == true)
    }
}
