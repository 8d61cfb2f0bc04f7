import Foundation
import Logging
import NIOCore
import PostgateIndex
import PostgateMessage

/// Stores one message fetched by a receiving gateway through the inbound pipeline, as an
/// SMTP message is stored: trace field, DKIM verification, inbound policy, routing to the
/// address's queues, sessions, and the checkpoint committed in the same transaction.
///
/// The message is streamed: chunks go to the store as they arrive, never the whole message
/// in memory. The header section is gathered (up to `maxHeaderSize`) for the policy and the
/// index, as on the SMTP path.
final class FetchedMessageImport: @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: the fetcher calls `write`, `commit` and
    // `abort` one after another from one task, and every use of `writer` runs on `eventLoop`.
    private let writer: StoreMessageWriter
    private let eventLoop: any EventLoop
    private let maxHeaderSize: Int
    private var header: [UInt8] = []
    private var headerComplete = false

    /// - Parameters:
    ///   - recipient: the address the gateway belongs to: every fetched message is for it.
    ///   - server: the remote server's name, for the trace field.
    ///   - protocolName: `IMAP` or `POP3`, for the trace field.
    init(delivery: InboundDelivery, recipient: EmailAddress, server: String, protocolName: String,
         checkpoint: FetchCheckpoint, maxHeaderSize: Int, eventLoop: any EventLoop) {
        let id = StoreMessageWriter.makeID()
        let date = Date()
        let origin = MessageOrigin(
            sender: "", recipients: [recipient],
            traceHeader: Self.traceHeader(server: server, protocolName: protocolName, hostname: delivery.hostname,
                                          id: id, recipient: recipient, date: date),
            checkpoint: checkpoint,
            source: ["connector": "\(recipient)", "server": "\(server)", "protocol": "\(protocolName)", "folder": "\(checkpoint.folder)",
                     "remote_id": "\(checkpoint.remoteID)"],
            senderFromHeader: true)
        self.writer = StoreMessageWriter(delivery: delivery, origin: origin, id: id, date: date, eventLoop: eventLoop)
        self.eventLoop = eventLoop
        self.maxHeaderSize = maxHeaderSize
    }

    /// The trace field of a fetched message (RFC 5321 section 4.4 in spirit: who handed it
    /// over, to whom, how, when), so an agent or administrator sees where it came from.
    static func traceHeader(server: String, protocolName: String, hostname: String, id: String,
                            recipient: EmailAddress, date: Date) -> String {
        "Received: from \(InboundDelivery.printable(server)) by \(hostname) (Postgate) with \(protocolName) id \(id)\r\n"
            + "\tfor <\(recipient)>; \(RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970)))\r\n"
    }

    /// Appends the next bytes of the message.
    func write(_ chunk: ByteBuffer) async throws {
        collectHeader(chunk)
        let writer = writer
        try await eventLoop.flatSubmit { writer.write(chunk) ?? writer.eventLoopSucceeded() }.get()
    }

    /// Stores the message; returns once it is durable with its checkpoint. On failure
    /// nothing is stored.
    func commit() async throws {
        let header = MessageHeader.parse(self.header)
        let writer = writer
        do {
            _ = try await eventLoop.flatSubmit { writer.commit(header: header) }.get()
        } catch {
            abort()
            throw error
        }
    }

    /// Drops what was written; nothing is stored.
    func abort() {
        let writer = writer
        eventLoop.execute { writer.abort() }
    }

    private func collectHeader(_ chunk: ByteBuffer) {
        guard !headerComplete else { return }
        let room = maxHeaderSize - header.count
        let bytes = chunk.readableBytesView.prefix(room)
        let before = header.count
        header.append(contentsOf: bytes)
        // The header section ends at the first empty line (RFC 5322 section 2.1).
        let scanFrom = max(0, before - 3)
        if let end = Self.endOfHeader(in: header, from: scanFrom) {
            header.removeSubrange(end...)
            headerComplete = true
        } else if header.count >= maxHeaderSize {
            headerComplete = true
        }
    }

    static func endOfHeader(in bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 10 {
                if bytes[index + 1] == 10 { return index + 1 }
                if bytes[index + 1] == 13, index + 2 < bytes.count, bytes[index + 2] == 10 { return index + 1 }
            }
            index += 1
        }
        return nil
    }
}
