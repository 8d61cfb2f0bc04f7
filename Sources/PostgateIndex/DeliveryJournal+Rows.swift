import Foundation
import GRDB
import PostgateMaildir

/// The `delivery_journal` table (`SQLiteDatabase.registerJournalSchema`).
extension DeliveryJournal {
    /// A message whose files a crash may have lost: its unique name and the mailboxes
    /// that got a copy.
    package struct Entry: Sendable, Equatable {
        package var uniqueName: String
        package var mailboxIDs: [Int64]
    }

    /// Journals `content`, delivered as `uniqueName` to `mailboxIDs`, in the delivery's
    /// transaction.
    package static func insert(_ db: Database, uniqueName: String, mailboxIDs: [Int64], content: [UInt8]) throws {
        try db.execute(cachedSQL: "INSERT INTO delivery_journal (unique_name, mailbox_ids, content) VALUES (?, ?, ?)",
                       arguments: [uniqueName, mailboxIDs.map(String.init).joined(separator: ","), Data(content)])
    }

    /// Every message still journalled, oldest first (without their content).
    package func entries() throws(StoreError) -> [Entry] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT unique_name, mailbox_ids FROM delivery_journal ORDER BY id").map { row in
                let ids: String = row[1]
                return Entry(uniqueName: row[0], mailboxIDs: ids.split(separator: ",").compactMap { Int64($0) })
            }
        }
    }

    /// Whether no message of any process is journalled.
    package func isEmpty() throws(StoreError) -> Bool {
        try database.read { db in try !Bool.fetchOne(db, cachedSQL: "SELECT EXISTS (SELECT 1 FROM delivery_journal)")! }
    }

    /// The journalled content of `uniqueName`, nil if it is not journalled.
    package func content(of uniqueName: String) throws(StoreError) -> [UInt8]? {
        try database.read { db in
            try Data.fetchOne(db, sql: "SELECT content FROM delivery_journal WHERE unique_name = ?", arguments: [uniqueName])
                .map { Array($0) }
        }
    }

    /// Deletes the rows of `uniqueNames`, whose files are durable: one scan of the small
    /// table per 500 names.
    package func delete(_ uniqueNames: [String]) throws(StoreError) {
        guard !uniqueNames.isEmpty else { return }
        try database.write(publishingGeneration: false) { db in
            for batch in stride(from: 0, to: uniqueNames.count, by: 500).map({ uniqueNames[$0..<min($0 + 500, uniqueNames.count)] }) {
                let marks = Array(repeating: "?", count: batch.count).joined(separator: ",")
                try db.execute(sql: "DELETE FROM delivery_journal WHERE unique_name IN (\(marks))", arguments: StatementArguments(Array(batch)))
            }
        }
    }
}
