import Foundation
import GRDB
import PostgateMaildir

extension SQLiteDirectory {
    package func responses() throws(StoreError) -> [ResponseRecord] {
        try database.read { db in try responseRecords(db, where: "1", arguments: []) }
    }

    package func response(named name: String) throws(StoreError) -> ResponseRecord? {
        try database.read { db in try responseRecords(db, where: "response.name = ?", arguments: [name]).first }
    }

    package func responseMailbox(
        queue: String?, createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> (id: Int64, path: String, queue: String?) {
        try database.write { db in
            var name: String?
            if let queue {
                guard let id = try queueID(db, queue) else { throw StoreError.queueNotFound(queue) }
                name = try String.fetchOne(db, cachedSQL: "SELECT name FROM queue WHERE id = ?", arguments: [id])
            }
            // The folder of everyone's responses is the parent of the queues' ones: it always exists.
            _ = try mailboxID(db, path: ResponseRecord.allMailboxPath) { (proposed) throws(StoreError) in
                try createMailbox(ResponseRecord.allMailboxPath, proposed)
            }
            let path = ResponseRecord.mailboxPath(queue: name)
            let id = try mailboxID(db, path: path) { (proposed) throws(StoreError) in try createMailbox(path, proposed) }
            return (id, path, name)
        }
    }

    package func saveResponse(name: String, subject: String, queue: String?, mailboxID: Int64, uid: UInt32, size: Int,
                              attachments: [String], replacing: Bool, now: Date) throws(StoreError) -> (mailboxID: Int64, uid: UInt32)? {
        let list = String(decoding: (try? JSONEncoder().encode(attachments)) ?? Data("[]".utf8), as: UTF8.self)
        return try database.write { db in
            let old = try Row.fetchOne(db, cachedSQL: "SELECT mailbox_id, uid, created_at FROM response WHERE name = ?", arguments: [name])
            if old != nil, !replacing { throw StoreError.responseExists(name) }
            try db.execute(cachedSQL: "DELETE FROM response WHERE name = ?", arguments: [name])
            try db.execute(cachedSQL: """
                INSERT INTO response (name, subject, queue, mailbox_id, uid, size, attachments, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [name, subject, queue, mailboxID, Int64(uid), size, list,
                                 (old?["created_at"] as Double?) ?? now.timeIntervalSince1970, now.timeIntervalSince1970])
            return old.map { (mailboxID: $0["mailbox_id"], uid: $0["uid"]) }
        }
    }

    package func removeResponse(named name: String) throws(StoreError) -> (mailboxID: Int64, uid: UInt32) {
        try database.write { db in
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT mailbox_id, uid FROM response WHERE name = ?", arguments: [name]) else {
                throw StoreError.responseNotFound(name)
            }
            try db.execute(cachedSQL: "DELETE FROM response WHERE name = ?", arguments: [name])
            return (mailboxID: row["mailbox_id"], uid: row["uid"])
        }
    }

    private func responseRecords(_ db: Database, where condition: String, arguments: StatementArguments) throws -> [ResponseRecord] {
        try Row.fetchAll(db, sql: """
            SELECT response.*, mailbox.path FROM response JOIN mailbox ON mailbox.id = response.mailbox_id
            WHERE \(condition) ORDER BY lower(response.name)
            """, arguments: arguments).map { row in
            let list = (row["attachments"] as String?).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
            return ResponseRecord(name: row["name"], subject: row["subject"], queue: row["queue"], size: row["size"], attachments: list,
                                  createdAt: Date(timeIntervalSince1970: row["created_at"]),
                                  updatedAt: Date(timeIntervalSince1970: row["updated_at"]), mailboxPath: row["path"], uid: row["uid"])
        }
    }
}
