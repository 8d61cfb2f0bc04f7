import Foundation
import GRDB
import PostgateMaildir

/// The search text (`message_search`, migration "search-text-v1") behind IMAP SEARCH.
extension SQLiteMessageIndex {
    /// The messages of the mailbox with no search text yet; whether a row exists is read
    /// from the narrow index, not from the rows filled with header and body text.
    package func uidsWithoutSearchText(mailboxID: Int64) throws(StoreError) -> [UInt32] {
        try database.read { db in
            try UInt32.fetchAll(db.cachedStatement(sql: """
                SELECT m.uid FROM message m LEFT JOIN message_search s INDEXED BY message_search_fields ON s.message_id = m.id
                WHERE m.mailbox_id = ? AND s.message_id IS NULL ORDER BY m.uid
                """), arguments: [mailboxID])
        }
    }

    package func storeSearchTexts(_ texts: [UInt32: MessageSearchText], mailboxID: Int64) throws(StoreError) {
        guard !texts.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO message_search (message_id, subject, from_field, to_field, cc, bcc, header, body, complete)
                SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM message WHERE mailbox_id = ? AND uid = ?
                """)
            for (uid, text) in texts {
                try statement.execute(arguments: [text.subject, text.from, text.to, text.cc, text.bcc, text.header, text.body,
                                                  text.complete, mailboxID, uid])
            }
        }
    }

    package func searchUIDs(mailboxID: Int64, field: MessageSearchText.Field, containing folded: String) throws(StoreError)
        -> (matching: Set<UInt32>, incomplete: Set<UInt32>) {
        try database.read { db in
            // `instr` compares octets: both sides are folded the same way, so this is the
            // case-insensitive substring test.
            // The one-line fields are read from their narrow index, never from the rows.
            let narrow = field == .header || field == .body ? "" : "INDEXED BY message_search_fields"
            let matching = try UInt32.fetchSet(db, sql: """
                SELECT m.uid FROM message m JOIN message_search s \(narrow) ON s.message_id = m.id
                WHERE m.mailbox_id = ? AND instr(s.\(field.rawValue), ?) > 0
                """, arguments: [mailboxID, folded])
            // Only bodies are cut to the index's limit.
            guard field == .body else { return (matching, []) }
            let partial = try UInt32.fetchSet(db, sql: """
                SELECT m.uid FROM message m JOIN message_search s ON s.message_id = m.id
                WHERE m.mailbox_id = ? AND s.complete = 0
                """, arguments: [mailboxID])
            return (matching, partial)
        }
    }
}
