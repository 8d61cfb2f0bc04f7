import Foundation
import GRDB
import PostgateMaildir
import PostgateIndex

extension SQLiteDirectory {
    /// Personal folders, then one shared folder per channel address and per work queue the
    /// agent belongs to (`Shared/<address>`, `Shared/Queues/<queue>`).
    package func visibleMailboxes(agentID: Int64) throws(StoreError) -> [VisibleMailbox] {
        try database.read { db in
            let personal = try Row.fetchAll(db, cachedSQL: """
                SELECT agent_folder.name, agent_folder.special_use, mailbox.id, mailbox.path, mailbox.private_seen
                FROM agent_folder JOIN mailbox ON mailbox.id = agent_folder.mailbox_id
                WHERE agent_folder.agent_id = ? ORDER BY agent_folder.name
                """, arguments: [agentID]).map { Self.visible($0, kind: .personal, prefix: "") }
            let shared = try Row.fetchAll(db, cachedSQL: """
                SELECT address.local_part || '@' || domain.name AS name, NULL AS special_use,
                       mailbox.id, mailbox.path, mailbox.private_seen
                FROM agent_address JOIN address ON address.id = agent_address.address_id
                JOIN domain ON domain.id = address.domain_id JOIN mailbox ON mailbox.id = address.mailbox_id
                WHERE agent_address.agent_id = ?
                UNION ALL
                SELECT ? || queue.name, NULL, mailbox.id, mailbox.path, mailbox.private_seen
                FROM agent_queue JOIN queue ON queue.id = agent_queue.queue_id JOIN mailbox ON mailbox.id = queue.mailbox_id
                WHERE agent_queue.agent_id = ?
                UNION ALL
                SELECT ?, NULL, mailbox.id, mailbox.path, 0 FROM mailbox WHERE mailbox.path = ?
                UNION ALL
                SELECT ? || queue.name, NULL, mailbox.id, mailbox.path, 0
                FROM agent_queue JOIN queue ON queue.id = agent_queue.queue_id
                JOIN mailbox ON mailbox.path = ? || lower(queue.name)
                WHERE agent_queue.agent_id = ? ORDER BY 1
                """, arguments: [agentID, VisibleMailbox.queuePrefix, agentID,
                                 VisibleMailbox.responsesName, ResponseRecord.allMailboxPath,
                                 VisibleMailbox.responsesName + "/", ResponseRecord.queueMailboxPrefix, agentID])
                .map { row in
                    var mailbox = Self.visible(row, kind: .shared, prefix: VisibleMailbox.sharedPrefix)
                    mailbox.readOnly = mailbox.path.hasPrefix(ResponseRecord.mailboxRoot)
                    return mailbox
                }
            return personal + shared
        }
    }

    package func addFolder(
        agentID: Int64, name: String, specialUse: String?, path: String,
        createMailbox: (_ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) {
        try database.write { db in
            if try folderID(db, agentID: agentID, name: name) != nil { throw StoreError.folderExists(name) }
            let mailboxID = try self.mailboxID(db, path: path, createMailbox: createMailbox)
            try db.execute(cachedSQL: "INSERT INTO agent_folder (agent_id, name, mailbox_id, special_use) VALUES (?, ?, ?, ?)",
                           arguments: [agentID, name, mailboxID, specialUse])
        }
    }

    package func removeFolder(agentID: Int64, name: String) throws(StoreError) -> MailboxState {
        try database.write { db in
            guard let row = try Row.fetchOne(db, cachedSQL: """
                SELECT agent_folder.id AS folder_id, mailbox.id, mailbox.path, mailbox.uid_validity, mailbox.uid_next
                FROM agent_folder JOIN mailbox ON mailbox.id = agent_folder.mailbox_id
                WHERE agent_folder.agent_id = ? AND agent_folder.name = ?
                """, arguments: [agentID, name]) else { throw StoreError.folderNotFound(name) }
            let mailboxID: Int64 = row["id"]
            try db.execute(cachedSQL: "DELETE FROM agent_folder WHERE id = ?", arguments: [row["folder_id"] as Int64])
            try db.execute(cachedSQL: "DELETE FROM message_private_seen WHERE mailbox_id = ?", arguments: [mailboxID])
            try db.execute(cachedSQL: "DELETE FROM message WHERE mailbox_id = ?", arguments: [mailboxID])
            try db.execute(cachedSQL: "DELETE FROM mailbox WHERE id = ?", arguments: [mailboxID])
            return MailboxState(id: mailboxID, path: row["path"], uidValidity: row["uid_validity"], uidNext: row["uid_next"])
        }
    }

    package func renameFolder(agentID: Int64, from: String, to: String) throws(StoreError) {
        try database.write { db in
            guard try folderID(db, agentID: agentID, name: from) != nil else { throw StoreError.folderNotFound(from) }
            if try folderID(db, agentID: agentID, name: to) != nil { throw StoreError.folderExists(to) }
            // SQLite's substr counts code points, so the prefix is measured in code points
            // too, never in Swift's characters: `e` and a combining accent are two of them.
            let prefix = from.unicodeScalars.count + 1
            try db.execute(cachedSQL: """
                UPDATE agent_folder SET name = ? || substr(name, ?)
                WHERE agent_id = ? AND (name = ? OR substr(name, 1, ?) = ?)
                """, arguments: [to, prefix, agentID, from, prefix, from + "/"])
        }
    }

    package func subscriptions(agentID: Int64) throws(StoreError) -> Set<String> {
        try database.read { db in
            Set(try String.fetchAll(db, cachedSQL: "SELECT name FROM agent_subscription WHERE agent_id = ?", arguments: [agentID]))
        }
    }

    package func setSubscribed(_ subscribed: Bool, agentID: Int64, name: String) throws(StoreError) {
        try database.write { db in
            let sql = subscribed
                ? "INSERT OR IGNORE INTO agent_subscription (agent_id, name) VALUES (?, ?)"
                : "DELETE FROM agent_subscription WHERE agent_id = ? AND name = ?"
            try db.execute(sql: sql, arguments: [agentID, name])
        }
    }

    private func folderID(_ db: Database, agentID: Int64, name: String) throws -> Int64? {
        try Int64.fetchOne(db, cachedSQL: "SELECT id FROM agent_folder WHERE agent_id = ? AND name = ?", arguments: [agentID, name])
    }

    private static func visible(_ row: Row, kind: VisibleMailbox.Kind, prefix: String) -> VisibleMailbox {
        VisibleMailbox(name: prefix + (row["name"] as String), kind: kind, mailboxID: row["id"], path: row["path"],
                       specialUse: row["special_use"], privateSeen: row["private_seen"])
    }
}
