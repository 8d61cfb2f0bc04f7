import Foundation
import GRDB

/// The fetch cache (`message_cache`, migration "imap-cache-v1") behind IMAP FETCH.
extension SQLiteMessageOperations {
    func cachedFetchItems(mailboxID: Int64, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: CachedFetchItems] {
        try database.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT m.uid, c.envelope, c.body_structure, c.body FROM message m JOIN message_cache c ON c.message_id = m.id
                WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?
                """, arguments: [mailboxID, uids.lowerBound, uids.upperBound])
            var items: [UInt32: CachedFetchItems] = [:]
            while let row = try rows.next() {
                items[row[0]] = CachedFetchItems(envelope: Self.bytes(row, 1), bodyStructure: Self.bytes(row, 2), body: Self.bytes(row, 3))
            }
            return items
        }
    }

    func storeFetchItems(_ items: [UInt32: CachedFetchItems], mailboxID: Int64) throws(StoreError) {
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

    private static func bytes(_ row: Row, _ column: Int) -> [UInt8] {
        (row[column] as Data?).map { [UInt8]($0) } ?? []
    }
}
