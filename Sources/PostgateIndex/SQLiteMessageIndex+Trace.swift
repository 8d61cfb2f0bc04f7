import GRDB
import PostgateMaildir

/// The lookups of `postgate trace`: a message's copies by queue id or by Message-ID; and
/// the bytes the messages take, for `/metrics`.
extension SQLiteMessageIndex {
    /// A scan of the covering index `message_imap_summary`, which holds `size`.
    package func messageBytes() throws(StoreError) -> Int64 {
        try database.read { db in try Int64.fetchOne(db, cachedSQL: "SELECT coalesce(sum(size), 0) FROM message") ?? 0 }
    }

    package func messages(queueID: String) throws(StoreError) -> [StoredMessage] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT message.*, mailbox.path AS mailbox_path FROM message
                JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE queue_id = ? ORDER BY message.id
                """, arguments: [queueID]).map(Self.storedMessage)
        }
    }

    /// Each mailbox's `(mailbox_id, message_id)` index answers: the mailboxes are few.
    package func messages(messageIDs: [String]) throws(StoreError) -> [StoredMessage] {
        guard !messageIDs.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: messageIDs.count).joined(separator: ", ")
        return try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT message.*, mailbox.path AS mailbox_path FROM message
                JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE message.mailbox_id IN (SELECT id FROM mailbox) AND message.message_id IN (\(marks))
                ORDER BY message.internal_date, message.id
                """, arguments: StatementArguments(messageIDs)).map(Self.storedMessage)
        }
    }
}
