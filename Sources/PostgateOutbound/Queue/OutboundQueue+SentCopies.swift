import Foundation
import GRDB
import PostgateMaildir

/// A reply sent through a sending gateway that saves to Sent: once every recipient is settled
/// and one has it, a copy goes into the provider mailbox's Sent folder.
public struct OutboundSentCopy: Sendable, Equatable {
    public var messageID: Int64
    /// The queued message file (kept until the copy is stored or given up).
    public var path: String
    /// The channel address that sent it.
    public var sender: String
    /// Failed attempts so far.
    public var attempts: Int
}

/// Copies for the provider's Sent folder, due from before the reply is first sent (so a crash
/// after delivery cannot lose the copy), stored once the reply reached a recipient; a copy
/// that keeps failing is retried with growing pauses and given up after `maxAttempts`.
/// At least once: a crash between the APPEND and its record appends it again.
extension OutboundQueue {
    /// Attempts before a Sent copy is given up (pauses of 1, 2, 4 … minutes, at most an hour:
    /// about a day in all).
    public static let sentCopyMaxAttempts = 30

    /// Marks that `messageID`, about to go through a sending gateway that saves to Sent, needs
    /// a Sent copy once delivered; a copy stored or given up already stays so.
    public func markSentCopyDue(_ messageID: Int64) throws(StoreError) {
        try database.write { db in
            try db.execute(cachedSQL: "UPDATE outbound_message SET sent_copy = 1 WHERE id = ? AND sent_copy = 0", arguments: [messageID])
        }
    }

    /// Up to `limit` Sent copies due at `now`: every recipient settled, one delivered, no
    /// pause running. Replies that reached nobody need none; they are marked done here.
    public func pendingSentCopies(now: Date = Date(), limit: Int = 20) throws(StoreError) -> [OutboundSentCopy] {
        let time = now.timeIntervalSince1970
        let (due, finished): ([OutboundSentCopy], [String]) = try database.write { db in
            let rows = try Row.fetchAll(db, cachedSQL: """
                SELECT m.id, m.filename, m.mail_from, m.sent_copy_attempts,
                       SUM(r.state IN ('queued', 'deferred')) AS pending, SUM(r.state = 'delivered') AS delivered
                FROM outbound_message m JOIN outbound_recipient r ON r.message_id = m.id
                WHERE m.sent_copy = 1 AND m.lease_owner IS NULL AND (m.sent_copy_next_at IS NULL OR m.sent_copy_next_at <= ?)
                GROUP BY m.id HAVING pending = 0 ORDER BY m.id LIMIT ?
                """, arguments: [time, limit])
            var due: [OutboundSentCopy] = []
            var finished: [String] = []
            for row in rows {
                let id: Int64 = row["id"]
                if (row["delivered"] as Int) > 0 {
                    due.append(OutboundSentCopy(messageID: id, path: directoryPath + "/" + (row["filename"] as String),
                                                sender: row["mail_from"], attempts: row["sent_copy_attempts"]))
                } else if let file = try Self.finishSentCopy(id, state: 2, db) {
                    finished.append(file)
                }
            }
            return (due, finished)
        }
        for file in finished { try FileSystem.unlink(directoryPath + "/" + file) }
        return due
    }

    /// The Sent copy of `copy` is stored; removes the file once nothing else needs it.
    public func markSentCopied(_ copy: OutboundSentCopy) throws(StoreError) {
        let finishedFile = try database.write { db in try Self.finishSentCopy(copy.messageID, state: 2, db) }
        if let finishedFile { try FileSystem.unlink(directoryPath + "/" + finishedFile) }
    }

    /// An attempt to store the Sent copy failed with `reason`: retried after a pause, or given
    /// up after `sentCopyMaxAttempts`. True when given up.
    @discardableResult
    public func sentCopyFailed(_ copy: OutboundSentCopy, reason: String, now: Date = Date()) throws(StoreError) -> Bool {
        let attempts = copy.attempts + 1
        let givenUp = attempts >= Self.sentCopyMaxAttempts
        let pause = min(3600, 60 * pow(2, Double(min(attempts - 1, 12))))
        let finishedFile: String? = try database.write { db in
            try db.execute(cachedSQL: """
                UPDATE outbound_message SET sent_copy_attempts = ?, sent_copy_next_at = ?, sent_copy_error = ? WHERE id = ?
                """, arguments: [attempts, now.timeIntervalSince1970 + pause, reason, copy.messageID])
            guard givenUp else { return nil }
            return try Self.finishSentCopy(copy.messageID, state: 3, db)
        }
        if let finishedFile { try FileSystem.unlink(directoryPath + "/" + finishedFile) }
        return givenUp
    }

    /// The Sent copy state of `messageID` (0 none, 1 due, 2 stored or unnecessary, 3 given
    /// up), its failed attempts and the last failure; nil for an unknown message.
    public func sentCopyState(_ messageID: Int64) throws(StoreError) -> (state: Int, attempts: Int, error: String?)? {
        try database.readStatement { db in
            try Row.fetchOne(db, cachedSQL: "SELECT sent_copy, sent_copy_attempts, sent_copy_error FROM outbound_message WHERE id = ?",
                             arguments: [messageID]).map { row -> (state: Int, attempts: Int, error: String?) in
                (state: row["sent_copy"] as Int, attempts: row["sent_copy_attempts"] as Int, error: row["sent_copy_error"] as String?)
            }
        }
    }

    private static func finishSentCopy(_ id: Int64, state: Int, _ db: Database) throws -> String? {
        try db.execute(cachedSQL: "UPDATE outbound_message SET sent_copy = ? WHERE id = ?", arguments: [state, id])
        return try markFileRemovedIfDone(id, db)
    }
}
