import Foundation
import GRDB
import PostgateMaildir

/// The message index on the SQLite file of the data directory (tables `mailbox`,
/// `message` and the IMAP caches).
package struct SQLiteMessageIndex: MailIndex {
    package let database: SQLiteDatabase
    package let sessions: SQLiteSessionIndex
    /// SELECT's summaries of unchanged mailboxes.
    package let selectCache = MailboxSummaryCache()

    package func insert(
        _ messages: [PendingMessage], durability: MessageDurability, checkpoint: FetchCheckpoint?
    ) throws(StoreError) -> [StoredMessage] {
        try database.groupWrite { db in
            var events: [WebhookEvent] = []
            let stored = try messages.compactMap { pending -> StoredMessage? in
                if pending.dropsDuplicate, try sessions.isDuplicate(db, pending) { return nil }
                var message = pending.message
                let allocated = try allocateUID(db, mailboxID: message.mailboxID)
                message.uid = allocated.uid
                message.filename = MaildirFileName(
                    uniqueName: pending.uniqueName, size: message.size, uid: message.uid, policy: message.policy).baseName
                let assignment = try sessions.assign(db, pending)
                message.sessionID = assignment?.sessionID
                message.sessionReason = assignment?.reason.rawValue
                message.sessionPlaced = assignment?.placed ?? false
                try insertRow(db, message, modSeq: allocated.modSeq, threadIndexRoot: pending.threadFacts?.threadIndexRoot,
                              contentDigest: pending.contentDigest)
                if let hold = pending.botHold {
                    try db.execute(cachedSQL: """
                        INSERT INTO bot_turn (event_id, mailbox_path, uid, session_id, queue, created_at) VALUES (?, ?, ?, ?, ?, ?)
                        """, arguments: ["evt_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""),
                                         message.mailboxPath, Int64(message.uid), assignment?.sessionID, hold.queue,
                                         message.internalDate.timeIntervalSince1970])
                }
                if let assignment, message.policy == nil {
                    if let closed = assignment.closed { events.append(WebhookEvent(type: .sessionClosed, sessionID: closed)) }
                    if assignment.opened { events.append(WebhookEvent(type: .sessionOpened, sessionID: assignment.sessionID)) }
                    events.append(WebhookEvent(type: .messageReceived, sessionID: assignment.sessionID,
                                               mailboxPath: message.mailboxPath, uid: message.uid))
                }
                return message
            }
            // The queue the message was routed to: the copy in a `queues/` mailbox.
            let queue = stored.first { $0.mailboxPath.hasPrefix("queues/") }.map { String($0.mailboxPath.dropFirst("queues/".count)) }
            try WebhookOutbox.enqueue(db, events.map { var event = $0; event.queue = queue; return event },
                                      now: messages.first?.message.internalDate ?? Date())
            if let content = durability.journalContent, !stored.isEmpty, let pending = messages.first {
                try DeliveryJournal.insert(db, uniqueName: pending.uniqueName, mailboxIDs: stored.map(\.mailboxID), content: content)
            }
            if let checkpoint {
                try Self.write(db, checkpoint, outcome: stored.isEmpty ? .duplicate : .stored, reason: nil)
            }
            try durability.awaitBeforeCommit()
            return stored
        }
    }

    package func committedFilename(mailboxID: Int64, uniqueName: String) throws(StoreError) -> String? {
        // `,` (0x2C) ends the unique name; every name that starts with "<unique>," sorts
        // below "<unique>-" (0x2D), so this is a range scan of the (mailbox_id, filename) index.
        try database.read { db in
            try String.fetchOne(db, cachedSQL: """
                SELECT filename FROM message WHERE mailbox_id = ? AND filename >= ? AND filename < ? LIMIT 1
                """, arguments: [mailboxID, uniqueName + ",", uniqueName + "-"])
        }
    }

    /// `PRAGMA integrity_check` (whose one row `ok` means sound) and `PRAGMA foreign_key_check`.
    package func integrityProblems() throws(StoreError) -> [String] {
        try database.read { db in
            let integrity = try String.fetchAll(db, cachedSQL: "PRAGMA integrity_check").filter { $0 != "ok" }
            let references = try Row.fetchAll(db, cachedSQL: "PRAGMA foreign_key_check").map { row in
                "table \(row[0] as String? ?? "?") row \(row[1] as Int64? ?? 0) refers to a missing \(row[2] as String? ?? "?") row"
            }
            return integrity + references
        }
    }

    package func mailboxes() throws(StoreError) -> [MailboxState] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: "SELECT id, path, uid_validity, uid_next FROM mailbox ORDER BY id").map(Self.mailboxState)
        }
    }

    package func mailbox(path: String) throws(StoreError) -> MailboxState? {
        try database.read { db in
            try Row.fetchOne(db, cachedSQL: "SELECT id, path, uid_validity, uid_next FROM mailbox WHERE path = ?", arguments: [path])
                .map(Self.mailboxState)
        }
    }

    package func messages(mailboxID: Int64) throws(StoreError) -> [StoredMessage] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT message.*, mailbox.path AS mailbox_path FROM message
                JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE mailbox_id = ? ORDER BY uid
                """, arguments: [mailboxID]).map(Self.storedMessage)
        }
    }

    package func message(mailboxID: Int64, uid: UInt32) throws(StoreError) -> StoredMessage? {
        try database.read { db in
            try Row.fetchOne(db, cachedSQL: """
                SELECT message.*, mailbox.path AS mailbox_path FROM message
                JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE mailbox_id = ? AND uid = ?
                """, arguments: [mailboxID, uid]).map(Self.storedMessage)
        }
    }

    package func restore(_ messages: [StoredMessage], mailboxID: Int64, uidValidity: UInt32) throws(StoreError) -> Int {
        try database.write { db in
            var added = 0
            // One new mod-sequence for the restored rows: at least the clock, so above what
            // the lost rows had even if the mailbox row itself was made anew.
            let modSeq = try ModSequence.next(db, mailboxID: mailboxID)
            for message in messages {
                let known = try Bool.fetchOne(db, cachedSQL: "SELECT 1 FROM message WHERE mailbox_id = ? AND uid = ?",
                                              arguments: [mailboxID, message.uid]) ?? false
                guard !known else { continue }
                try insertRow(db, message, modSeq: modSeq)
                added += 1
            }
            try db.execute(cachedSQL: """
                UPDATE mailbox SET uid_validity = ?,
                    uid_next = max(uid_next, coalesce((SELECT max(uid) + 1 FROM message WHERE mailbox_id = ?), 1))
                WHERE id = ?
                """, arguments: [uidValidity, mailboxID, mailboxID])
            return added
        }
    }

    // MARK: - Rows

    /// The next UID and the next mod-sequence (`ModSequence`) of a mailbox, in one statement.
    private func allocateUID(_ db: Database, mailboxID: Int64) throws -> (uid: UInt32, modSeq: UInt64) {
        guard let row = try Row.fetchOne(db, cachedSQL: """
            UPDATE mailbox SET uid_next = uid_next + 1, highest_modseq = max(highest_modseq + 1, ?) WHERE id = ?
            RETURNING uid_next - 1, highest_modseq
            """, arguments: [ModSequence.clock(), mailboxID]) else {
            throw StoreError.mailboxNotFound(path: "#\(mailboxID)")
        }
        return (row[0], row[1])
    }

    /// One `message` row, with its session and thread facts (the session was decided first).
    private func insertRow(_ db: Database, _ message: StoredMessage, modSeq: UInt64, threadIndexRoot: String? = nil,
                           contentDigest: String? = nil) throws {
        try db.execute(cachedSQL: """
            INSERT INTO message (mailbox_id, uid, filename, size, internal_date, flags, mail_from, rcpt_to,
                header_from, header_to, header_cc, subject, date, message_id, in_reply_to, "references", policy, keywords,
                session_id, session_reason, thread_index_root, content_digest, modseq, importance, queue_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                message.mailboxID, message.uid, message.filename, message.size,
                message.internalDate.timeIntervalSince1970, message.flags, message.mailFrom, message.rcptTo,
                message.headerFrom, message.headerTo, message.headerCc, message.subject, message.date,
                message.messageID, message.inReplyTo, message.references, message.policy,
                MessageFlags.keywords(forPolicy: message.policy, importance: message.importance),
                message.sessionID, message.sessionReason, threadIndexRoot, contentDigest, modSeq, message.importance, message.queueID,
            ])
    }

    private static func mailboxState(_ row: Row) -> MailboxState {
        MailboxState(id: row["id"], path: row["path"], uidValidity: row["uid_validity"], uidNext: row["uid_next"])
    }

    package static func storedMessage(_ row: Row) -> StoredMessage {
        var message = StoredMessage(
            mailboxID: row["mailbox_id"], mailboxPath: row["mailbox_path"], uid: row["uid"],
            filename: row["filename"], size: row["size"],
            internalDate: Date(timeIntervalSince1970: row["internal_date"]), flags: row["flags"],
            mailFrom: row["mail_from"], rcptTo: row["rcpt_to"], headerFrom: row["header_from"],
            headerTo: row["header_to"], headerCc: row["header_cc"], subject: row["subject"], date: row["date"],
            messageID: row["message_id"], inReplyTo: row["in_reply_to"], references: row["references"],
            sessionID: row["session_id"], sessionReason: row["session_reason"]
        )
        message.policy = row["policy"]
        message.importance = row["importance"]
        message.queueID = row["queue_id"]
        return message
    }

    package init(database: SQLiteDatabase, sessions: SQLiteSessionIndex) {
        self.database = database
        self.sessions = sessions
    }
}
