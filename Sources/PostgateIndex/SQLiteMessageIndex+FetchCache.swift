import Foundation
import GRDB
import PostgateMaildir

/// The fetch cache (`message_cache`, migration "imap-cache-v1") behind IMAP FETCH, and
/// the previews (`message_preview`, "imap-preview-v1") behind FETCH PREVIEW.
extension SQLiteMessageIndex {
    package func cachedFetchBatch(mailboxID: Int64, uids: ClosedRange<UInt32>, items: Set<CachedFetchBatch.Item>) throws(StoreError) -> CachedFetchBatch {
        // Only the columns asked for: the others are not copied out of SQLite.
        let columns = zip(CachedFetchBatch.Item.allCases, ["c.envelope", "c.body_structure", "c.body"]).map { items.contains($0) ? $1 : "NULL" }
        return try database.read { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT m.uid, \(columns.joined(separator: ", ")) FROM message m JOIN message_cache c ON c.message_id = m.id
                WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid
                """), arguments: [mailboxID, uids.lowerBound, uids.upperBound])
            var batch = CachedFetchBatch()
            while let row = try rows.next() {
                try batch.append(uid: row[0]) { item, octets in
                    try row.withUnsafeData(atIndex: item.rawValue + 1) { data in
                        data?.withUnsafeBytes { octets.append(contentsOf: $0) }
                    }
                }
            }
            return batch
        }
    }

    package func cachedPreviews(mailboxID: Int64, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: String] {
        try database.read { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT m.uid, p.preview FROM message m JOIN message_preview p ON p.message_id = m.id
                WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?
                """), arguments: [mailboxID, uids.lowerBound, uids.upperBound])
            var previews: [UInt32: String] = [:]
            while let row = try rows.next() { previews[row[0]] = row[1] }
            return previews
        }
    }

    package func storePreviews(_ previews: [UInt32: String], mailboxID: Int64) throws(StoreError) {
        guard !previews.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO message_preview (message_id, preview) SELECT id, ? FROM message WHERE mailbox_id = ? AND uid = ?
                """)
            for (uid, preview) in previews { try statement.execute(arguments: [preview, mailboxID, uid]) }
        }
    }

    package func storeFetchItems(_ items: [UInt32: CachedFetchItems], mailboxID: Int64) throws(StoreError) {
        guard !items.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO message_cache (message_id, envelope, body_structure, body)
                SELECT id, ?, ?, ? FROM message WHERE mailbox_id = ? AND uid = ?
                """)
            for (uid, item) in items {
                try statement.execute(arguments: [Data(item.envelope), Data(item.bodyStructure), Data(item.body), mailboxID, uid])
            }
        }
    }
}
