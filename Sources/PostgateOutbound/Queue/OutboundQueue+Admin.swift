import Foundation
import GRDB
import PostgateMaildir

/// What `postgate outbound list|show|retry|drop` do.
extension OutboundQueue {
    /// Every message in the queue, oldest first; with `pendingOnly`, those with a recipient
    /// still queued or deferred.
    public func messages(pendingOnly: Bool = false) throws(StoreError) -> [OutboundMessageRecord] {
        try database.read { db in
            let filter = pendingOnly
                ? "WHERE EXISTS (SELECT 1 FROM outbound_recipient r WHERE r.message_id = m.id AND r.state IN ('queued', 'deferred'))"
                : ""
            return try Row.fetchAll(db, sql: "SELECT * FROM outbound_message m \(filter) ORDER BY m.id").map { try Self.record($0, db) }
        }
    }

    /// One message with its recipients.
    public func message(_ id: Int64) throws(OutboundQueueError) -> OutboundMessageRecord {
        let found: OutboundMessageRecord?
        do {
            found = try database.read { db in
                try Row.fetchOne(db, cachedSQL: "SELECT * FROM outbound_message WHERE id = ?", arguments: [id]).map { try Self.record($0, db) }
            }
        } catch { throw .store(error) }
        guard let found else { throw .messageNotFound(id) }
        return found
    }

    /// Makes the queued and deferred recipients of message `id` (every message when nil) due
    /// at `now`; the number of recipients made due.
    @discardableResult
    public func retry(_ id: Int64? = nil, now: Date = Date()) throws(OutboundQueueError) -> Int {
        if let id { _ = try message(id) }
        do {
            return try database.write { db in
                try db.execute(cachedSQL: """
                    UPDATE outbound_recipient SET next_attempt_at = ? WHERE state IN ('queued', 'deferred') AND (? IS NULL OR message_id = ?)
                    """, arguments: [now.timeIntervalSince1970, id, id])
                return db.changesCount
            }
        } catch { throw .store(error) }
    }

    /// Removes message `id` from the queue, recipients and file, whatever their state.
    public func drop(_ id: Int64) throws(OutboundQueueError) {
        let record = try message(id)
        do {
            try database.write { db in try db.execute(cachedSQL: "DELETE FROM outbound_message WHERE id = ?", arguments: [id]) }
            try FileSystem.unlink(directoryPath + "/" + record.filename)
        } catch { throw .store(error) }
    }

    /// The replies of the sessions `sessionIDs`, oldest first (`postgate trace`).
    public func messages(sessionIDs: [Int64]) throws(StoreError) -> [OutboundMessageRecord] {
        guard !sessionIDs.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: sessionIDs.count).joined(separator: ", ")
        return try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbound_message WHERE session_id IN (\(marks)) ORDER BY id",
                             arguments: StatementArguments(sessionIDs)).map { try Self.record($0, db) }
        }
    }

    private static func record(_ row: Row, _ db: Database) throws -> OutboundMessageRecord {
        let id: Int64 = row["id"]
        let recipients = try Row.fetchAll(db, cachedSQL: "SELECT * FROM outbound_recipient WHERE message_id = ? ORDER BY id", arguments: [id])
            .map(recipientRecord)
        return OutboundMessageRecord(
            id: id, filename: row["filename"], sender: row["mail_from"], size: row["size"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), expiresAt: Date(timeIntervalSince1970: row["expires_at"]),
            recipients: recipients, autoReply: row["auto_reply"], sessionId: row["session_id"]
        )
    }

    /// A recipient row as a record.
    package static func recipientRecord(_ r: Row) -> OutboundRecipientRecord {
        OutboundRecipientRecord(
            id: r["id"], address: r["address"], state: OutboundRecipientRecord.State(rawValue: r["state"]) ?? .queued,
            attempts: r["attempts"], nextAttemptAt: Date(timeIntervalSince1970: r["next_attempt_at"]),
            lastAttemptAt: (r["last_attempt_at"] as Double?).map { Date(timeIntervalSince1970: $0) }, lastReply: r["last_reply"]
        )
    }
}

/// Erasing one customer's data: their place in the outbound queue.
extension OutboundQueue {
    /// Removes `address` as a recipient of every queued reply (whatever its state), and
    /// each reply left with no recipient, file included. Returns the recipients removed
    /// (counted only, with `dryRun`).
    public func erase(recipient address: String, dryRun: Bool = false) throws(StoreError) -> Int {
        let email = address.lowercased()
        let (count, emptied) = try database.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbound_recipient WHERE lower(address) = ?", arguments: [email]) ?? 0
            guard !dryRun else { return (count, [(Int64, String)]()) }
            try db.execute(sql: "DELETE FROM outbound_recipient WHERE lower(address) = ?", arguments: [email])
            let emptied = try Row.fetchAll(db, sql: """
                SELECT id, filename FROM outbound_message m WHERE NOT EXISTS (SELECT 1 FROM outbound_recipient r WHERE r.message_id = m.id)
                """).map { ($0["id"] as Int64, $0["filename"] as String) }
            for (id, _) in emptied {
                try db.execute(sql: "DELETE FROM outbound_message WHERE id = ?", arguments: [id])
            }
            return (count, emptied)
        }
        for (_, filename) in emptied {
            try FileSystem.unlink(directoryPath + "/" + filename)
        }
        return count
    }
}
