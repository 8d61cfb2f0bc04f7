import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir
import PostgateIndex

/// `AgentDirectory` on the SQLite file (tables `agent`, `agent_address`, `agent_queue`,
/// `agent_folder`, `agent_subscription`).
extension SQLiteDirectory {

    package func addAgent(name: String, displayName: String?, passwordHash: String) throws(StoreError) -> Int64 {
        try database.write { db in
            if try requireAgentID(db, name, mustExist: false) != nil { throw StoreError.agentAlreadyExists(name) }
            try db.execute(cachedSQL: "INSERT INTO agent (name, display_name, password_hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, displayName, passwordHash, Date().timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    package func agents() throws(StoreError) -> [AgentRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: "SELECT id FROM agent ORDER BY name").map { try record(db, id: $0["id"]) }
        }
    }

    package func agent(named name: String) throws(StoreError) -> AgentRecord? {
        try database.read { db in
            try requireAgentID(db, name, mustExist: false).map { try record(db, id: $0) }
        }
    }

    package func removeAgent(named name: String) throws(StoreError) {
        try database.write { db in
            let id = try requireAgentID(db, name)
            try db.execute(cachedSQL: "DELETE FROM agent WHERE id = ?", arguments: [id])
        }
    }

    package func setProfile(_ change: AgentProfileChange, agent name: String) throws(StoreError) {
        try database.write { db in
            let id = try requireAgentID(db, name)!
            if case .some(.some(let email)) = change.email,
               let other = try String.fetchOne(db, cachedSQL: "SELECT name FROM agent WHERE email = ? AND id != ?", arguments: [email, id]) {
                throw StoreError.invalidSetting("\(email) is already the email address of agent \(other)")
            }
            for (column, value) in [("email", change.email), ("signature_text", change.signatureText), ("signature_html", change.signatureHTML)] {
                guard let value else { continue }
                try db.execute(sql: "UPDATE agent SET \(column) = ? WHERE id = ?", arguments: [value, id])
            }
        }
    }

    /// The agent whose own email address is `email` (canonical form), if any.
    package func agent(email: String) throws(StoreError) -> AgentRecord? {
        try database.read { db in
            guard let id = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM agent WHERE email = ?", arguments: [email]) else { return nil }
            return try record(db, id: id)
        }
    }

    package func setPasswordHash(_ hash: String, agent name: String) throws(StoreError) {
        try database.write { db in
            let id = try requireAgentID(db, name)
            try db.execute(cachedSQL: "UPDATE agent SET password_hash = ? WHERE id = ?", arguments: [hash, id])
        }
    }

    package func credentials(of name: String) throws(StoreError) -> (id: Int64, hash: String)? {
        try database.read { db in
            try Row.fetchOne(db, cachedSQL: "SELECT id, password_hash FROM agent WHERE name = ?", arguments: [name])
                .map { (id: $0["id"], hash: $0["password_hash"]) }
        }
    }

    package func addressID(mailboxID: Int64) throws(StoreError) -> Int64 {
        try database.read { db in
            guard let id = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM address WHERE mailbox_id = ?", arguments: [mailboxID]) else {
                throw StoreError.mailboxNotFound(path: "#\(mailboxID)")
            }
            return id
        }
    }

    package func setMembership(
        _ member: Bool, agent name: String, target: MembershipTarget, membership: AgentMembership
    ) throws(StoreError) {
        let changed = try database.write { (db: Database) -> Int in
            let agentID = try requireAgentID(db, name)
            let link = try membershipLink(db, target)
            try db.execute(sql: member
                ? "INSERT OR IGNORE INTO \(link.table) (agent_id, \(link.column)) VALUES (?, ?)"
                : "DELETE FROM \(link.table) WHERE agent_id = ? AND \(link.column) = ?", arguments: [agentID, link.id])
            return db.changesCount
        }
        guard changed > 0 else {
            throw member
                ? StoreError.agentAlreadyGranted(agent: name, membership: membership)
                : StoreError.agentNotGranted(agent: name, membership: membership)
        }
    }

    /// The membership table, its column and the row id a target names.
    private func membershipLink(_ db: Database, _ target: MembershipTarget) throws -> (table: String, column: String, id: Int64) {
        switch target {
        case .address(let addressID):
            return ("agent_address", "address_id", addressID)
        case .queue(let queue):
            return ("agent_queue", "queue_id", try self.requireQueueID(db, queue))
        }
    }

    // MARK: - Rows

    package func requireAgentID(_ db: Database, _ name: String, mustExist: Bool = true) throws -> Int64? {
        let id = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM agent WHERE name = ?", arguments: [name])
        if id == nil, mustExist { throw StoreError.agentNotFound(name) }
        return id
    }

    private func record(_ db: Database, id: Int64) throws -> AgentRecord {
        let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM agent WHERE id = ?", arguments: [id])!
        let addresses = try String.fetchAll(db, cachedSQL: """
            SELECT address.local_part || '@' || domain.name FROM agent_address
            JOIN address ON address.id = agent_address.address_id JOIN domain ON domain.id = address.domain_id
            WHERE agent_address.agent_id = ? ORDER BY 1
            """, arguments: [id])
        let queues = try String.fetchAll(db, cachedSQL: """
            SELECT queue.name FROM agent_queue JOIN queue ON queue.id = agent_queue.queue_id
            WHERE agent_queue.agent_id = ? ORDER BY lower(queue.name)
            """, arguments: [id])
        return AgentRecord(name: row["name"], displayName: row["display_name"], addresses: addresses, queues: queues,
                           createdAt: Date(timeIntervalSince1970: row["created_at"]), email: row["email"],
                           signatureText: row["signature_text"], signatureHTML: row["signature_html"])
    }

}
