import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PostgateIndex
import PostgateMaildir

/// What a delivery worker does with the queue: claim due work, record each attempt's
/// outcome, release the claim.
extension OutboundQueue {
    /// Claims up to `limit` messages with a recipient due at `now`, oldest due first, for
    /// `leaseSeconds`. A claim held by a process that no longer exists (killed) is free at
    /// once, so a restarted worker resumes without waiting for the lease to run out.
    public func claimDue(now: Date = Date(), limit: Int = 20, leaseSeconds: Double = 600) throws(StoreError) -> [OutboundWork] {
        let owner = Int64(getpid())
        let time = now.timeIntervalSince1970
        // Most polls find nothing due: a read answers that without taking the write lock.
        guard try database.readStatement({ db in
            try Bool.fetchOne(db, cachedSQL: """
                SELECT EXISTS (SELECT 1 FROM outbound_recipient
                               WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ?)
                """, arguments: [time]) ?? false
        }) else { return [] }
        return try database.write { db in
            let candidates = try Row.fetchAll(db, cachedSQL: """
                SELECT m.id, m.filename, m.mail_from, m.size, m.eight_bit, m.smtputf8, m.lease_owner, m.lease_until
                FROM outbound_message m JOIN outbound_recipient r ON r.message_id = m.id
                WHERE r.state IN ('queued', 'deferred') AND r.next_attempt_at <= ?
                GROUP BY m.id ORDER BY MIN(r.next_attempt_at), m.id
                """, arguments: [time])
            var claimed: [OutboundWork] = []
            for row in candidates where claimed.count < limit && Self.isFree(row, owner: owner, time: time) {
                let id: Int64 = row["id"]
                let recipients = try Self.dueRecipients(id, time: time, db)
                try db.execute(cachedSQL: "UPDATE outbound_message SET lease_owner = ?, lease_until = ? WHERE id = ?",
                               arguments: [owner, time + leaseSeconds, id])
                claimed.append(OutboundWork(
                    messageID: id, path: directoryPath + "/" + (row["filename"] as String), sender: row["mail_from"],
                    size: row["size"], eightBit: row["eight_bit"], smtpUTF8: row["smtputf8"],
                    recipients: recipients
                ))
            }
            return claimed
        }
    }

    private static func isFree(_ row: Row, owner: Int64, time: Double) -> Bool {
        guard let holder: Int64 = row["lease_owner"], let until: Double = row["lease_until"], until > time else { return true }
        if holder == owner { return false }
        return kill(pid_t(holder), 0) != 0 && errno == ESRCH
    }

    private static func dueRecipients(_ messageID: Int64, time: Double, _ db: Database) throws -> [OutboundWork.Recipient] {
        try Row.fetchAll(db, cachedSQL: """
            SELECT id, address, attempts FROM outbound_recipient
            WHERE message_id = ? AND state IN ('queued', 'deferred') AND next_attempt_at <= ? ORDER BY id
            """, arguments: [messageID, time]).map { OutboundWork.Recipient(id: $0["id"], address: $0["address"], attempts: $0["attempts"]) }
    }

    /// Records the outcome of one attempt for each recipient in `outcomes` (by recipient id)
    /// in one transaction: delivered and permanent failures are final; a temporary failure
    /// is deferred by the retry policy, or fails once the message's lifetime would be over.
    public func record(_ outcomes: [Int64: OutboundRecipientOutcome], now: Date = Date()) throws(StoreError) {
        let time = now.timeIntervalSince1970
        try database.write { db in
            for (id, outcome) in outcomes.sorted(by: { $0.key < $1.key }) {
                guard let row = try Row.fetchOne(db, cachedSQL: """
                    SELECT r.attempts, r.address, m.id AS message_id, m.expires_at, m.session_id
                    FROM outbound_recipient r JOIN outbound_message m ON m.id = r.message_id
                    WHERE r.id = ? AND r.state IN ('queued', 'deferred')
                    """, arguments: [id]) else { continue }
                let attempts = (row["attempts"] as Int) + 1
                let (state, next, reply) = transition(outcome, attempts: attempts, time: time, expires: row["expires_at"])
                try db.execute(cachedSQL: """
                    UPDATE outbound_recipient SET state = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?, last_reply = ?
                    WHERE id = ?
                    """, arguments: [state.rawValue, attempts, next, time, reply, id])
                // A final outcome is an event for webhook subscribers, written with it.
                let type: WebhookEventType? = state == .delivered ? .replyDelivered : state == .failed ? .replyFailed : nil
                if let type {
                    try WebhookOutbox.enqueue(db, [WebhookEvent(type: type, sessionID: row["session_id"], outboundID: row["message_id"],
                                                                recipient: row["address"], detail: reply)], now: now)
                }
            }
        }
    }

    private func transition(
        _ outcome: OutboundRecipientOutcome, attempts: Int, time: Double, expires: Double
    ) -> (OutboundRecipientRecord.State, Double, String) {
        switch outcome {
        case .delivered(let reply): return (.delivered, time, reply)
        case .permanent(let reason): return (.failed, time, reason)
        case .temporary(let reason):
            let next = time + policy.interval(afterAttempts: attempts)
            guard next <= expires else {
                return (.failed, time, "gave up after \(attempts) attempts (queue lifetime over); last: \(reason)")
            }
            return (.deferred, next, reason)
        }
    }

    /// Releases the claim on a message; once no recipient is left to try, its file is removed.
    public func release(_ messageID: Int64) throws(StoreError) {
        let finishedFile: String? = try database.write { db in
            try db.execute(cachedSQL: "UPDATE outbound_message SET lease_owner = NULL, lease_until = NULL WHERE id = ?", arguments: [messageID])
            return try Self.markFileRemovedIfDone(messageID, db)
        }
        if let finishedFile { try FileSystem.unlink(directoryPath + "/" + finishedFile) }
    }

    /// Marks the file of a message with no recipient left to try, no failure left to
    /// notify and no thread or Sent copy left to store, as removed; its name.
    package static func markFileRemovedIfDone(_ messageID: Int64, _ db: Database) throws -> String? {
        let pending = try Int.fetchOne(db, cachedSQL: """
            SELECT COUNT(*) FROM outbound_recipient
            WHERE message_id = ? AND (state IN ('queued', 'deferred') OR (state = 'failed' AND notified = 0))
            """, arguments: [messageID]) ?? 0
        let copyPending = try Bool.fetchOne(db, cachedSQL: "SELECT thread_copy = 1 OR sent_copy = 1 FROM outbound_message WHERE id = ?",
                                            arguments: [messageID]) ?? false
        guard pending == 0, !copyPending,
              let filename = try String.fetchOne(db, cachedSQL: "SELECT filename FROM outbound_message WHERE id = ? AND file_removed = 0", arguments: [messageID])
        else { return nil }
        try db.execute(cachedSQL: "UPDATE outbound_message SET file_removed = 1 WHERE id = ?", arguments: [messageID])
        return filename
    }
}
