import Foundation
import GRDB
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMessage

/// A session that ended without the customer's reply and whose address sends a closing
/// message: what the message needs.
public struct SessionClosing: Sendable {
    public var sessionID: Int64
    /// The channel address.
    public var address: EmailAddress
    public var customer: String
    /// The session's last customer message: its Message-ID, References and raw Subject.
    public var messageID: String?
    public var references: String?
    public var subject: String?
}

/// The passes `postgate serve` makes over open sessions (`sessions.sweep_interval`): the
/// transfer of sessions no agent answered, and the end of sessions without the customer's
/// reply.
extension MailStore {
    /// Moves each open session whose address transfers on no agent reply and whose oldest
    /// unanswered customer message has waited that long in working time (the address's
    /// calendar; always, without one) to the address's transfer queue (or its default queue).
    /// Returns the sessions moved.
    @discardableResult
    public func transferUnansweredSessions(now: Date = Date()) throws(StoreError) -> [Int64] {
        let time = now.timeIntervalSince1970
        let rows = try database.read { db in
            // Elapsed wall-clock time is at least the working time: a cheap first filter.
            try Row.fetchAll(db, sql: """
                SELECT session.id, session.awaiting_since, address.transfer_after_seconds, address.transfer_queue,
                    address.calendar, queue.name AS default_queue
                FROM session JOIN address ON address.mailbox_id = session.mailbox_id
                LEFT JOIN queue ON queue.id = address.default_queue_id
                WHERE session.status = 'open' AND session.expires_at > ?1 AND session.awaiting_since IS NOT NULL
                    AND address.transfer_after_seconds IS NOT NULL
                    AND session.awaiting_since + address.transfer_after_seconds <= ?1
                """, arguments: [time])
        }
        guard !rows.isEmpty else { return [] }
        let calendars = try self.calendars()
        let queues = Set(try self.queues().map { $0.name.lowercased() })
        var moved: [Int64] = []
        for row in rows {
            let id: Int64 = row["id"]
            let since = Date(timeIntervalSince1970: row["awaiting_since"])
            let threshold: Int = row["transfer_after_seconds"]
            let name = ((row["calendar"] as String?) ?? CalendarRecord.defaultName).lowercased()
            let calendar = calendars.first { $0.name.lowercased() == name }?.calendar
            let worked = calendar?.workingSeconds(from: since, to: now) ?? now.timeIntervalSince(since)
            guard worked >= Double(threshold) else { continue }
            var target: String? = row["transfer_queue"]
            if let named = target, !queues.contains(named.lowercased()) {
                logger.warning("transfer queue is gone; the default queue takes the session", metadata: ["session": "\(id)", "queue": "\(named)"])
                target = nil
            }
            guard let queue = target ?? row["default_queue"], let place = try sessionPlace(id) else { continue }
            let minutes = threshold % 60 == 0 ? "\(threshold / 60) working minutes" : "\(threshold) working seconds"
            if try move(place, to: queue, actor: "no-reply", detail: "no agent reply in \(minutes)", now: now) {
                moved.append(id)
                logger.info("session transferred", metadata: ["session": "\(id)", "queue": "\(queue)", "reason": "no agent reply"])
            } else {
                // Already there and nobody owns it: the clock starts again.
                try database.write(publishingGeneration: false) { db in
                    try db.execute(sql: "UPDATE session SET awaiting_since = ? WHERE id = ?", arguments: [time, id])
                }
            }
        }
        return moved
    }

    /// Closes each open session whose idle timeout has passed (`session.closed` to webhooks,
    /// `closed` in its history). Returns the closings to send: those of addresses with a
    /// closing message, for sessions that ended within `grace` (a gateway that was stopped
    /// for long does not send stale closing messages).
    public func closeIdleSessions(now: Date = Date(), grace: TimeInterval = 3600) throws(StoreError) -> [SessionClosing] {
        let time = now.timeIntervalSince1970
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT session.id, session.mailbox_id, session.customer, session.expires_at, address.closing_text,
                    address.local_part, domain.name AS domain_name
                FROM session LEFT JOIN address ON address.mailbox_id = session.mailbox_id
                LEFT JOIN domain ON domain.id = address.domain_id
                WHERE session.status = 'open' AND session.expires_at <= ?
                ORDER BY session.expires_at LIMIT 1000
                """, arguments: [time])
        }
        var closings: [SessionClosing] = []
        for row in rows {
            let id: Int64 = row["id"]
            let closing = try database.write(publishingGeneration: false) { db -> SessionClosing? in
                try db.execute(sql: "UPDATE session SET status = 'closed', awaiting_since = NULL WHERE id = ? AND status = 'open'",
                               arguments: [id])
                guard db.changesCount > 0 else { return nil }
                try Self.recordEvent(db, sessionID: id, at: now, kind: "closed", actor: "idle-timeout")
                try WebhookOutbox.enqueue(db, [WebhookEvent(type: .sessionClosed, sessionID: id, detail: "idle timeout")], now: now)
                guard (row["closing_text"] as String?) != nil, (row["expires_at"] as Double) >= time - grace,
                      let local = row["local_part"] as String?, let domain = row["domain_name"] as String?,
                      let address = try? EmailAddress("\(local)@\(domain)") else { return nil }
                let last = try Row.fetchOne(db, sql: """
                    SELECT message_id, "references", subject FROM message WHERE session_id = ? AND mailbox_id = ? AND policy IS NULL
                    ORDER BY internal_date DESC, id DESC LIMIT 1
                    """, arguments: [id, row["mailbox_id"]])
                return SessionClosing(sessionID: id, address: address, customer: row["customer"], messageID: last?["message_id"],
                                      references: last?["references"], subject: last?["subject"])
            }
            if let closing { closings.append(closing) }
        }
        return closings
    }
}
