import Foundation
import GRDB
import PostgateSessions

/// `SessionLookup` for one channel address (its mailbox), on the delivery transaction's connection.
package struct SQLiteSessionLookup: SessionLookup {
    package let db: Database
    package let mailboxID: Int64

    package func session(id: Int64) throws -> SessionCandidate? {
        try Row.fetchOne(db, cachedSQL: "SELECT * FROM session WHERE id = ? AND mailbox_id = ?", arguments: [id, mailboxID])
            .map(candidate)
    }

    package func sessions(containingMessageIDs messageIDs: [String]) throws -> [SessionCandidate] {
        guard !messageIDs.isEmpty else { return [] }
        let bracketed = messageIDs.map { "<\($0)>" }
        var arguments: StatementArguments = [mailboxID]
        arguments += StatementArguments(bracketed)
        let rows = try Row.fetchAll(db, sql: """
            SELECT DISTINCT message.message_id, message.session_id FROM message
            JOIN session ON session.id = message.session_id
            WHERE message.mailbox_id = ?1 AND session.mailbox_id = ?1 AND message.message_id IN (\(databaseQuestionMarks(count: bracketed.count)))
            """, arguments: arguments)
        var byID: [String: [Int64]] = [:]
        for row in rows { byID[row["message_id"], default: []].append(row["session_id"]) }
        var seen: Set<Int64> = []
        let ordered = bracketed.flatMap { byID[$0] ?? [] }.filter { seen.insert($0).inserted }
        return try ordered.compactMap { try session(id: $0) }
    }

    package func sessions(threadIndexRoot: String) throws -> [SessionCandidate] {
        let ids = try Int64.fetchAll(db, cachedSQL: """
            SELECT message.session_id FROM message JOIN session ON session.id = message.session_id
            WHERE message.thread_index_root = ? AND session.mailbox_id = ?
            GROUP BY message.session_id ORDER BY max(message.id) DESC
            """, arguments: [threadIndexRoot, mailboxID])
        return try ids.compactMap { try session(id: $0) }
    }

    package func latestSession(customer: String) throws -> SessionCandidate? {
        try Row.fetchOne(db, cachedSQL: """
            SELECT * FROM session WHERE mailbox_id = ? AND customer = ?
            ORDER BY last_activity_at DESC, id DESC LIMIT 1
            """, arguments: [mailboxID, customer]).map(candidate)
    }

    private func candidate(_ row: Row) throws -> SessionCandidate {
        let id: Int64 = row["id"]
        let participants = try String.fetchAll(db, cachedSQL: """
            SELECT email FROM session_participant WHERE session_id = ? AND role = 'participant'
            """, arguments: [id])
        let status: String = row["status"]
        return SessionCandidate(
            id: id, customer: row["customer"], participants: Set(participants),
            expiresAt: status == "open" ? Date(timeIntervalSince1970: row["expires_at"]) : nil)
    }
}
