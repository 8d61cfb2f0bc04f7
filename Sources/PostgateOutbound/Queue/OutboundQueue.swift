import Foundation
import GRDB
import PostgateAutoReply
import PostgateMessage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PostgateMaildir
import PostgateIndex
import PostgateStore

/// The durable outbound delivery queue: message files in `DATA/outbound/` and their
/// envelopes, one row per recipient, in the SQLite index.
///
/// Durability: `enqueue` returns only after the file and its directory entry are fsynced
/// and the rows are committed (`synchronous=FULL`), so the submission listener may answer
/// 250 (RFC 5321 section 4.2.5: the server has taken responsibility) right after it.
///
/// Exactly once: a recipient a server acknowledged is marked `delivered` by `record`, in
/// one transaction, as soon as the reply arrives; a worker that restarts never sends to it
/// again. The one unavoidable duplicate window (RFC 1047) is a crash between the server's
/// 250 and that commit: the recipient is still `queued`/`deferred` and is sent again.
public final class OutboundQueue: Sendable {
    package let data: DataDirectory
    package let database: SQLiteDatabase
    package let uniqueNames = MaildirUniqueName()
    public let policy: OutboundRetryPolicy

    /// The directory of queued message files.
    public var directoryPath: String { data.root + "/outbound" }

    package init(data: DataDirectory, database: SQLiteDatabase, policy: OutboundRetryPolicy) {
        self.data = data
        self.database = database
        self.policy = policy
    }

    /// Opens the queue of the data directory at `path`, creating what is missing.
    public static func open(directory path: String, policy: OutboundRetryPolicy = OutboundRetryPolicy()) throws(StoreError) -> OutboundQueue {
        let data = try DataDirectory.prepare(path)
        try data.requireIndexNotEmptied()
        try makeQueueDirectory(data)
        return OutboundQueue(data: data, database: try SQLiteDatabase(path: data.databasePath), policy: policy)
    }

    /// Opens the queue of `store`'s data directory on the store's own database connections
    /// (`postgate serve`, where both run in one process).
    public static func open(sharing store: MailStore, policy: OutboundRetryPolicy = OutboundRetryPolicy()) throws(StoreError) -> OutboundQueue {
        try makeQueueDirectory(store.data)
        return OutboundQueue(data: store.data, database: store.database, policy: policy)
    }

    private static func makeQueueDirectory(_ data: DataDirectory) throws(StoreError) {
        do {
            try FileSystem.makeDirectories(data.root + "/outbound")
        } catch {
            throw .dataDirectoryNotWritable(path: data.root, reason: error.reason)
        }
    }

    /// Queues a message read from `fd` to its end, in bounded chunks, for `recipients`.
    /// Durable before it returns; on failure nothing is queued.
    public func enqueue(
        sender: EmailAddress?, recipients: [EmailAddress], readingFrom fd: Int32, now: Date = Date()
    ) throws(OutboundQueueError) -> OutboundMessageRecord {
        try enqueue(sender: sender, recipients: recipients, now: now) { (out, path) throws(StoreError) in
            try Self.copy(from: fd, to: out, path: path)
        }
    }

    /// Queues `message` (the bytes of an RFC 5322 message) for `recipients`, as a reply in
    /// `sessionID` when given; with `threadCopy`, a copy goes into the sender's mailbox once
    /// a recipient has it. An `autoReply` is queued only if its limits still allow it, checked
    /// in the transaction that inserts it (`OutboundQueueError.autoReplyHeld` otherwise).
    public func enqueue(
        sender: EmailAddress?, recipients: [EmailAddress], message: [UInt8], sessionID: Int64? = nil, threadCopy: Bool = false,
        agent: String? = nil, autoReply: OutboundAutoReply? = nil, now: Date = Date()
    ) throws(OutboundQueueError) -> OutboundMessageRecord {
        try enqueue(sender: sender, recipients: recipients, sessionID: sessionID, threadCopy: threadCopy, agent: agent, autoReply: autoReply,
                    now: now) { (out, path) throws(StoreError) in
            try FileSystem.writeAll(out, message, path: path)
            return (message.count, message.contains { $0 > 127 })
        }
    }

    private func enqueue(
        sender: EmailAddress?, recipients: [EmailAddress], sessionID: Int64? = nil, threadCopy: Bool = false, agent: String? = nil,
        autoReply: OutboundAutoReply? = nil, now: Date,
        write: (Int32, String) throws(StoreError) -> (size: Int, eightBit: Bool)
    ) throws(OutboundQueueError) -> OutboundMessageRecord {
        let unique = Set(recipients.map(\.description))
        guard !unique.isEmpty else { throw .noRecipients }
        let filename = uniqueNames.next()
        let path = directoryPath + "/" + filename
        do {
            let written = try writeDurably(path, write)
            let envelope = Envelope(
                sender: sender?.description ?? "", recipients: recipients.map(\.description).uniqued(),
                size: written.size, eightBit: written.eightBit, sessionID: sessionID, threadCopy: threadCopy, agent: agent,
                autoReply: autoReply?.kind.rawValue
            )
            let queued: Result<Int64, OutboundQueueError> = try database.write { db in
                if let autoReply, let held = try Self.holdAutoReply(autoReply, sender: envelope.sender, sessionID: sessionID, now: now, db) {
                    return .failure(.autoReplyHeld(held))
                }
                return .success(try Self.insert(envelope, filename: filename, now: now, policy: policy, db))
            }
            return try message(queued.get())
        } catch let error as OutboundQueueError {
            try? FileSystem.unlink(path)
            throw error
        } catch {
            try? FileSystem.unlink(path)
            throw .store(error as? StoreError ?? .io(operation: "queue", path: path, reason: "\(error)"))
        }
    }

    private struct Envelope {
        var sender: String
        var recipients: [String]
        var size: Int
        var eightBit: Bool
        var sessionID: Int64?
        var threadCopy: Bool
        var agent: String?
        var autoReply: String?

        var smtpUTF8: Bool { ([sender] + recipients).contains { $0.utf8.contains { $0 > 127 } } }
    }

    /// Creates `path`, lets `write` fill it, fsyncs the file and the directory.
    private func writeDurably(
        _ path: String, _ write: (Int32, String) throws(StoreError) -> (size: Int, eightBit: Bool)
    ) throws(StoreError) -> (size: Int, eightBit: Bool) {
        let fd = try FileSystem.createFile(path)
        defer { FileSystem.close(fd) }
        let written = try write(fd, path)
        try FileSystem.sync(fd, path: path)
        try FileSystem.syncDirectory(directoryPath)
        return written
    }

    private static func insert(_ envelope: Envelope, filename: String, now: Date, policy: OutboundRetryPolicy, _ db: Database) throws -> Int64 {
        let created = now.timeIntervalSince1970
        try db.execute(cachedSQL: """
            INSERT INTO outbound_message (filename, mail_from, size, eight_bit, smtputf8, created_at, expires_at, session_id, thread_copy, agent,
                auto_reply)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [filename, envelope.sender, envelope.size, envelope.eightBit, envelope.smtpUTF8, created,
                            created + policy.lifetime, envelope.sessionID, envelope.threadCopy ? 1 : 0, envelope.agent, envelope.autoReply])
        let id = db.lastInsertedRowID
        for address in envelope.recipients {
            try db.execute(cachedSQL: """
                INSERT INTO outbound_recipient (message_id, address, state, next_attempt_at) VALUES (?, ?, 'queued', ?)
                """, arguments: [id, address, created])
        }
        return id
    }

    /// Copies `fd` to `out` in 64 KiB chunks; the size and whether a byte is above 127.
    private static func copy(from fd: Int32, to out: Int32, path: String) throws(StoreError) -> (size: Int, eightBit: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var size = 0
        var eightBit = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .posix("read the message for", path) }
            if count == 0 { return (size, eightBit) }
            let chunk = buffer[..<count]
            eightBit = eightBit || chunk.contains { $0 > 127 }
            try FileSystem.writeAll(out, Array(chunk), path: path)
            size += count
        }
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
