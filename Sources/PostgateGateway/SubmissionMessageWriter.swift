import NIOCore
import NIOPosix
import PostgateMessage
import PostgateSMTP
import PostgateStore
import PostgateIndex

/// Receives one submitted reply. Content gathers in memory up to `spoolThreshold`; past it,
/// it streams to a spool file in `DATA/spool/` on the thread pool (the handler waits for
/// each write), so a large message or many slow clients never pile up in memory while data
/// arrives. At the end the message is read back once and handed to
/// `ReplySubmission.submit`, which composes it (the composer needs the whole MIME tree),
/// signs it and queues it durably before the 250 (RFC 6409 section 4.1, RFC 5321 section
/// 4.2.5). The spool file is removed either way.
final class SubmissionMessageWriter: SMTPMessageWriter, @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `pending` and `inFlight` are used only on
    // `eventLoop`; `spool` only inside thread-pool work items, which never overlap (the
    // handler starts no write or commit before the previous future completed, and `abort`
    // waits for the write in flight).
    private static let spoolThreshold = 256 * 1024

    private let delivery: SubmissionDelivery
    private let transaction: SMTPTransaction
    private let eventLoop: any EventLoop
    private var pending = ByteBuffer()
    private var inFlight: EventLoopFuture<Void>?
    private var spool: IncomingMessage?

    init(delivery: SubmissionDelivery, transaction: SMTPTransaction, eventLoop: any EventLoop) {
        self.delivery = delivery
        self.transaction = transaction
        self.eventLoop = eventLoop
    }

    func write(_ chunk: ByteBuffer) -> EventLoopFuture<Void>? {
        pending.writeImmutableBuffer(chunk)
        guard pending.readableBytes >= Self.spoolThreshold else { return nil }
        let bytes = takePending()
        let future = delivery.threadPool.runIfActive(eventLoop: eventLoop) { try self.appendToSpool(bytes) }
        inFlight = future
        future.whenComplete { _ in self.inFlight = nil }
        return future
    }

    func commit(header: MessageHeader) -> EventLoopFuture<String> {
        let bytes = takePending()
        return delivery.threadPool.runIfActive(eventLoop: eventLoop) { try self.submit(bytes) }
    }

    func abort() {
        let previous = inFlight ?? eventLoop.makeSucceededVoidFuture()
        previous.whenComplete { _ in
            self.delivery.threadPool.submit { _ in self.spool?.abort() }
        }
    }

    private func takePending() -> ByteBuffer {
        defer { pending = ByteBuffer() }
        return pending
    }

    /// Runs on the thread pool.
    private func appendToSpool(_ bytes: ByteBuffer) throws {
        let spool = try self.spool ?? delivery.submission.store.beginMessage()
        self.spool = spool
        try bytes.withUnsafeReadableBytes { try spool.write($0) }
    }

    /// Runs on the thread pool: the whole message, then `ReplySubmission`. Its refusals
    /// (5.7.1, composer limits) become the reply.
    private func submit(_ tail: ByteBuffer) throws -> String {
        guard case .mailbox(let sender) = transaction.sender, let agent = transaction.session.authenticatedUser else {
            throw SMTPReply(530, "5.7.0", "Authentication required")
        }
        let message: [UInt8]
        if spool != nil {
            try appendToSpool(tail)
            message = try spool!.prefix(spool!.size)
            spool!.abort()
        } else {
            message = Array(tail.readableBytesView)
        }
        do {
            let record = try delivery.submission.submit(message, from: sender, to: transaction.recipients, agent: agent)
            delivery.logger.info("reply submitted", metadata: [
                "queue_id": "\(record.id)", "agent": "\(agent)", "from": "\(sender)", "size": "\(message.count)",
                "to": .array(record.recipients.map { .string($0.address) }), "client": "\(transaction.session.remoteAddress)",
            ])
            return String(record.id)
        } catch let refusal as ReplyRefusal {
            throw refusal.smtpReply
        }
    }
}
