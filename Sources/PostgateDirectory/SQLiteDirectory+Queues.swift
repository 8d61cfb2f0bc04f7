import Foundation
import GRDB
import PostgateMaildir

extension SQLiteDirectory {
    package func addQueue(
        name: String, description: String?, privateSeen: Bool,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> QueueRecord {
        try QueueRecord.validateName(name)
        return try database.write { db in
            guard try queueID(db, name) == nil else { throw StoreError.queueExists(name) }
            let id = try insertQueue(db, name: name, description: description, privateSeen: privateSeen, createMailbox: createMailbox)
            return try queueRecords(db, where: "queue.id = ?", arguments: [id])[0]
        }
    }

    package func queues() throws(StoreError) -> [QueueRecord] {
        try database.read { db in try queueRecords(db, where: "1", arguments: []) }
    }

    package func removeQueue(name: String) throws(StoreError) {
        try database.write { db in
            guard let id = try queueID(db, name) else { throw StoreError.queueNotFound(name) }
            let users = try queueUsers(db, queueID: id)
            guard users.isEmpty else { throw StoreError.queueInUse(name, by: users) }
            try db.execute(cachedSQL: "DELETE FROM queue WHERE id = ?", arguments: [id])
        }
    }

    // MARK: - Shared with addresses and filters

    package func queueID(_ db: Database, _ name: String) throws -> Int64? {
        try Int64.fetchOne(db, cachedSQL: "SELECT id FROM queue WHERE lower(name) = lower(?)", arguments: [name])
    }

    package func requireQueueID(_ db: Database, _ name: String) throws -> Int64 {
        guard let id = try queueID(db, name) else { throw StoreError.queueNotFound(name) }
        return id
    }

    /// The id of queue `name`; the default queue is created on first use, any other must exist.
    package func queueIDCreatingDefault(
        _ db: Database, _ name: String,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws -> Int64 {
        if let id = try queueID(db, name) { return id }
        guard name == QueueRecord.defaultName else { throw StoreError.queueNotFound(name) }
        return try insertQueue(db, name: name, description: "default queue", createMailbox: createMailbox)
    }

    /// Adds the queue row and its mailbox; `privateSeen` keeps `\Seen` per agent in its IMAP folder.
    package func insertQueue(
        _ db: Database, name: String, description: String?, privateSeen: Bool = false,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws -> Int64 {
        let path = QueueRecord.mailboxPath(for: name)
        let mailboxID = try mailboxID(db, path: path) { (proposed) throws(StoreError) in try createMailbox(path, proposed) }
        try setPrivateSeen(db, privateSeen, mailboxID: mailboxID)
        try db.execute(cachedSQL: "INSERT INTO queue (name, description, mailbox_id, created_at) VALUES (?, ?, ?, ?)",
                       arguments: [name, description, mailboxID, Date().timeIntervalSince1970])
        return db.lastInsertedRowID
    }

    package func setPrivateSeen(_ db: Database, _ privateSeen: Bool, mailboxID: Int64) throws {
        try db.execute(cachedSQL: "UPDATE mailbox SET private_seen = ? WHERE id = ?", arguments: [privateSeen, mailboxID])
    }

    /// Addresses that name the queue as default (published or in a draft) or in a filter.
    private func queueUsers(_ db: Database, queueID: Int64) throws -> [String] {
        let name = try String.fetchOne(db, cachedSQL: "SELECT name FROM queue WHERE id = ?", arguments: [queueID]) ?? ""
        var users = Set(try addressNames(db, sql: """
            SELECT address.local_part, domain.name FROM address JOIN domain ON domain.id = address.domain_id
            WHERE address.default_queue_id = ? OR address.id IN (SELECT address_id FROM filter WHERE queue_id = ?)
            """, arguments: [queueID, queueID]))
        users.formUnion(try addressNames(db, sql: """
            SELECT address.local_part, domain.name FROM address JOIN domain ON domain.id = address.domain_id
            WHERE address.transfer_queue = ? COLLATE NOCASE
            """, arguments: [name]).map { $0 + " (transfer queue)" })
        users.formUnion(try String.fetchAll(db, cachedSQL: "SELECT name FROM response WHERE queue = ? COLLATE NOCASE",
                                            arguments: [name]).map { "standard response \($0)" })
        for row in try Row.fetchAll(db, cachedSQL: "SELECT address_id, settings FROM address_draft") {
            let draft = try decodeDraft(row["settings"])
            if draft.defaultQueue?.lowercased() == name.lowercased() {
                users.insert(try addressName(db, addressID: row["address_id"]) + " (draft)")
            }
        }
        return users.sorted()
    }

    private func queueRecords(_ db: Database, where condition: String, arguments: StatementArguments) throws -> [QueueRecord] {
        try Row.fetchAll(db, sql: """
            SELECT queue.*, mailbox.path, mailbox.private_seen,
                (SELECT count(*) FROM message WHERE message.mailbox_id = queue.mailbox_id) AS message_count
            FROM queue JOIN mailbox ON mailbox.id = queue.mailbox_id
            WHERE \(condition) ORDER BY lower(queue.name)
            """, arguments: arguments).map { row in
            QueueRecord(name: row["name"], description: row["description"], mailboxPath: row["path"],
                        messageCount: row["message_count"], usedBy: try queueUsers(db, queueID: row["id"]),
                        privateSeen: row["private_seen"],
                        createdAt: Date(timeIntervalSince1970: row["created_at"]))
        }
    }

    package func addressNames(_ db: Database, sql: String, arguments: StatementArguments) throws -> [String] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            try emailAddress(localPart: row[0], domain: row[1]).description
        }
    }

    package func addressName(_ db: Database, addressID: Int64) throws -> String {
        try addressNames(db, sql: """
            SELECT address.local_part, domain.name FROM address JOIN domain ON domain.id = address.domain_id
            WHERE address.id = ?
            """, arguments: [addressID]).first ?? "#\(addressID)"
    }
}
