import Foundation
import GRDB
import PostgateMaildir

extension SQLiteMessageIndex {
    package func sessions(mailboxPath: String?, openOnly: Bool, now: Date, page: (beforeID: Int64?, limit: Int)?) throws(StoreError) -> [SessionRecord] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let mailboxPath {
            conditions.append("mailbox.path = ?")
            arguments.append(mailboxPath)
        }
        if openOnly {
            conditions.append("session.status = 'open' AND session.expires_at > ?")
            arguments.append(now.timeIntervalSince1970)
        }
        if let before = page?.beforeID {
            conditions.append("session.id < ?")
            arguments.append(before)
        }
        let condition = conditions.isEmpty ? "1" : conditions.joined(separator: " AND ")
        return try database.read { db in
            try sessionRecords(db, where: condition, arguments: StatementArguments(arguments), now: now,
                               order: page.map { "session.id DESC LIMIT \(max(0, $0.limit))" })
        }
    }

    package func session(id: Int64, now: Date) throws(StoreError) -> (SessionRecord, [StoredMessage])? {
        try database.read { db in
            guard let session = try sessionRecords(db, where: "session.id = ?", arguments: [id], now: now, order: nil).first else {
                return nil
            }
            let messages = try Row.fetchAll(db, cachedSQL: """
                SELECT message.*, mailbox.path AS mailbox_path FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE message.session_id = ? ORDER BY message.internal_date, message.id
                """, arguments: [id]).map(Self.storedMessage)
            return (session, messages)
        }
    }

    private func sessionRecords(_ db: Database, where condition: String, arguments: StatementArguments,
                                now: Date, order: String?) throws -> [SessionRecord] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT session.*, address.local_part, domain.name AS domain_name, mailbox.path AS mailbox_path,
                (SELECT count(*) FROM message WHERE message.session_id = session.id) AS message_count,
                (SELECT name FROM agent WHERE agent.id = session.owner_agent_id) AS owner_name
            FROM session
            JOIN mailbox ON mailbox.id = session.mailbox_id
            LEFT JOIN address ON address.mailbox_id = session.mailbox_id
            LEFT JOIN domain ON domain.id = address.domain_id
            WHERE \(condition)
            ORDER BY \(order ?? "session.last_activity_at DESC, session.id DESC")
            """, arguments: arguments)
        return try rows.map { row in try sessionRecord(db, row, now: now) }
    }

    private func sessionRecord(_ db: Database, _ row: Row, now: Date) throws -> SessionRecord {
        let id: Int64 = row["id"]
        let expiresAt = Date(timeIntervalSince1970: row["expires_at"])
        let status: String = row["status"]
        let participants = try String.fetchAll(db, cachedSQL: """
            SELECT email FROM session_participant WHERE session_id = ? ORDER BY role = 'participant', added_at, email
            """, arguments: [id])
        let localPart: String? = row["local_part"]
        let domain: String? = row["domain_name"]
        let mailboxPath: String = row["mailbox_path"]
        // A removed address's sessions stay, named by their mailbox.
        let address = localPart.flatMap { local in domain.map { "\(local)@\($0)" } } ?? mailboxPath
        return SessionRecord(
            id: id, address: address, customer: row["customer"],
            status: status == "open" && expiresAt > now ? "open" : "closed", mode: row["mode"], subject: row["subject"],
            startedAt: Date(timeIntervalSince1970: row["started_at"]),
            lastActivityAt: Date(timeIntervalSince1970: row["last_activity_at"]), expiresAt: expiresAt,
            previousSessionId: row["previous_session_id"], messageCount: row["message_count"],
            participants: participants, owner: row["owner_name"], queue: row["queue"],
            awaitingSince: (row["awaiting_since"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
