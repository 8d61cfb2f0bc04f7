import Foundation
import GRDB
import PostgateMessage
import PostgatePolicy
import PostgateMaildir
import PostgateIndex

/// `PolicyIndex` on the SQLite file of the data directory (tables `blocklist`,
/// `quarantine_mailbox`, and `message.policy`).
extension SQLiteDirectory {
    package var directory: SQLiteDirectory { self }

    package func blocklist(of address: EmailAddress, containing: String?) throws(StoreError) -> [BlocklistRecord] {
        try database.read { db in
            let id = try directory.requireAddressID(db, address)
            let pattern = "%" + (containing ?? "").lowercased() + "%"
            return try Row.fetchAll(db, cachedSQL: """
                SELECT kind, value, display, created_at FROM blocklist
                WHERE address_id = ? AND (value LIKE ? OR lower(display) LIKE ?)
                ORDER BY display
                """, arguments: [id, pattern, pattern]).map { row in
                BlocklistRecord(
                    address: address.canonical, kind: BlocklistEntry.Kind(rawValue: row["kind"]) ?? .address,
                    entry: row["display"], value: row["value"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    package func blocklistValues(of address: EmailAddress) throws(StoreError) -> Set<String> {
        try database.read { db in
            let id = try directory.requireAddressID(db, address)
            return Set(try String.fetchAll(db, cachedSQL: "SELECT value FROM blocklist WHERE address_id = ?", arguments: [id]))
        }
    }

    package func addToBlocklist(_ entries: [BlocklistEntry], of address: EmailAddress) throws(StoreError) -> [BlocklistRecord] {
        let now = Date()
        try database.write { db in
            let id = try directory.requireAddressID(db, address)
            if let listed = try Self.insert(db, entries, addressID: id, at: now) {
                throw StoreError.blocklistEntryExists(address, entry: listed.display)
            }
        }
        return entries.map {
            BlocklistRecord(address: address.canonical, kind: $0.kind, entry: $0.display, value: $0.value, createdAt: now)
        }
    }

    /// Inserts `entries` into the blocklist of `addressID` (the blocklist commands and
    /// `postgate import`). Returns the first entry that is already listed (or given twice):
    /// the caller must then throw, so the transaction rolls back; nil when all were added.
    package static func insert(_ db: Database, _ entries: [BlocklistEntry], addressID: Int64, at now: Date) throws -> BlocklistEntry? {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO blocklist (address_id, kind, value, display, created_at) VALUES (?, ?, ?, ?, ?)
            """)
        for entry in entries {
            do {
                try insert.execute(arguments: [addressID, entry.kind.rawValue, entry.value, entry.display, now.timeIntervalSince1970])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                return entry  // UNIQUE(address_id, value)
            }
        }
        return nil
    }

    package func removeFromBlocklist(_ entry: BlocklistEntry, of address: EmailAddress) throws(StoreError) {
        try database.write { db in
            let id = try directory.requireAddressID(db, address)
            try db.execute(cachedSQL: "DELETE FROM blocklist WHERE address_id = ? AND value = ?", arguments: [id, entry.value])
            if db.changesCount == 0 { throw StoreError.blocklistEntryNotFound(address, entry: entry.display) }
        }
    }

    package func replaceInBlocklist(_ entry: BlocklistEntry, with new: BlocklistEntry, of address: EmailAddress) throws(StoreError) -> BlocklistRecord {
        try database.write { db in
            let id = try directory.requireAddressID(db, address)
            guard let created = try Double.fetchOne(db, cachedSQL: "SELECT created_at FROM blocklist WHERE address_id = ? AND value = ?",
                                                    arguments: [id, entry.value]) else {
                throw StoreError.blocklistEntryNotFound(address, entry: entry.display)
            }
            if new.value != entry.value,
               try Int.fetchOne(db, cachedSQL: "SELECT 1 FROM blocklist WHERE address_id = ? AND value = ?", arguments: [id, new.value]) != nil {
                throw StoreError.blocklistEntryExists(address, entry: new.display)
            }
            try db.execute(cachedSQL: "UPDATE blocklist SET kind = ?, value = ?, display = ? WHERE address_id = ? AND value = ?",
                           arguments: [new.kind.rawValue, new.value, new.display, id, entry.value])
            return BlocklistRecord(address: address.canonical, kind: new.kind, entry: new.display, value: new.value,
                                   createdAt: Date(timeIntervalSince1970: created))
        }
    }

    package func blocklistEntry(mailboxID: Int64, keys: [String]) throws(StoreError) -> BlocklistEntry? {
        guard !keys.isEmpty else { return nil }
        return try database.read { db in
            let placeholders = Array(repeating: "?", count: keys.count).joined(separator: ", ")
            var arguments: StatementArguments = [mailboxID]
            arguments += StatementArguments(keys)
            // One statement per number of keys, a handful (the address, its domain and parents).
            return try Row.fetchOne(db, cachedSQL: """
                SELECT blocklist.kind, blocklist.value, blocklist.display FROM blocklist
                JOIN address ON address.id = blocklist.address_id
                WHERE address.mailbox_id = ? AND blocklist.value IN (\(placeholders))
                ORDER BY length(blocklist.value) DESC LIMIT 1
                """, arguments: arguments).map { row in
                BlocklistEntry(kind: BlocklistEntry.Kind(rawValue: row["kind"]) ?? .address, value: row["value"], display: row["display"])
            }
        }
    }

}
