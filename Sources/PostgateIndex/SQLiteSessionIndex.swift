import Foundation
import GRDB
import PostgateMessage
import PostgatePolicy
import PostgateSessions

/// The session side of delivery, run inside the index transaction that inserts the
/// message rows: duplicate detection, session assignment, participants.
package struct SQLiteSessionIndex: Sendable {
    package let settings: SessionSettings
    package let messageIDs: SessionMessageID

    /// What was decided for one row.
    package struct Assignment {
        var sessionID: Int64
        var reason: SessionMatchReason
        /// The message started the session.
        var opened = false
        /// The session this start closed (the customer's earlier one in channel mode).
        var closed: Int64?
        /// The session joined has an owner or a queue of its own.
        var placed = false
    }

    /// True when the mailbox already holds this message: same Message-ID and either the
    /// same content digest, or the same From within `duplicateWindow`.
    package func isDuplicate(_ db: Database, _ pending: PendingMessage) throws -> Bool {
        let message = pending.message
        guard let messageID = message.messageID, !messageID.isEmpty else { return false }
        let since = message.internalDate.timeIntervalSince1970 - settings.duplicateWindow
        return try Bool.fetchOne(db, cachedSQL: """
            SELECT 1 FROM message WHERE mailbox_id = ? AND message_id = ?
                AND ((content_digest IS NOT NULL AND content_digest = ?)
                     OR (coalesce(header_from, '') = coalesce(?, '') AND internal_date >= ?))
            LIMIT 1
            """, arguments: [message.mailboxID, messageID, pending.contentDigest, message.headerFrom, since]) ?? false
    }

    /// Decides the session of `pending` in its mailbox's address and records it (new
    /// session, activity, participants). Nil when the mailbox belongs to no address, or the
    /// message is not customer activity and matches no session (see `SessionActivity`).
    package func assign(_ db: Database, _ pending: PendingMessage) throws -> Assignment? {
        guard let facts = pending.threadFacts, let activity = activity(of: pending),
              let channel = try Row.fetchOne(db, cachedSQL: "SELECT session_mode FROM address WHERE mailbox_id = ?",
                                             arguments: [pending.message.mailboxID]) else { return nil }
        let mailboxID = pending.message.mailboxID
        let mode = SessionMode(rawValue: channel["session_mode"]) ?? .channel
        let now = pending.message.internalDate
        let lookup = SQLiteSessionLookup(db: db, mailboxID: mailboxID)
        let resolver = SessionResolver(mode: mode, messageIDs: messageIDs)
        guard let decision = try resolver.resolve(facts, activity: activity, now: now, lookup: lookup) else { return nil }
        let sessionID: Int64
        var (opened, closed, placed) = (false, Int64?.none, false)
        switch decision {
        case .join(let id, _):
            sessionID = id
            // A customer's message waits for an agent's answer from the first one unanswered.
            placed = try Bool.fetchOne(db, cachedSQL: """
                UPDATE session SET last_activity_at = ?1, expires_at = ?2,
                    awaiting_since = CASE WHEN ?3 THEN coalesce(awaiting_since, ?1) ELSE awaiting_since END
                WHERE id = ?4
                RETURNING owner_agent_id IS NOT NULL OR queue IS NOT NULL
                """, arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970 + settings.idleTimeout,
                                 activity == .customer, id]) ?? false
        case .start(let previous, _):
            if let previous { try db.execute(cachedSQL: "UPDATE session SET status = 'closed' WHERE id = ?", arguments: [previous]) }
            sessionID = try startSession(db, mailboxID: mailboxID, mode: mode, facts: facts, previous: previous, now: now)
            (opened, closed) = (true, previous)
        case .attach(let id, _):
            sessionID = id
        }
        if activity != .flagged {
            // A flagged sender is no participant: it must not widen who may join the session.
            try addParticipants(db, sessionID: sessionID, facts: facts, now: now)
        }
        return Assignment(sessionID: sessionID, reason: decision.reason, opened: opened, closed: closed, placed: placed)
    }

    /// What the row's policy label (`message.policy`) makes of it for sessions: no label is
    /// a customer's message; `own-reply` names its session by the signed Message-ID, checked
    /// again here with the data directory's key; any other label is flagged. Nil for an
    /// own reply whose Message-ID does not verify (it then gets no session).
    private func activity(of pending: PendingMessage) -> SessionActivity? {
        switch pending.message.policy {
        case nil:
            return .customer
        case .some(PolicyVerdict.ownReplyLabel):
            return pending.threadFacts?.messageID.flatMap(messageIDs.sessionID(fromMessageID:)).map { .ownReply(sessionID: $0) }
        default:
            return .flagged
        }
    }

    private func startSession(_ db: Database, mailboxID: Int64, mode: SessionMode, facts: SessionHeaderFacts,
                              previous: Int64?, now: Date) throws -> Int64 {
        let time = now.timeIntervalSince1970
        try db.execute(cachedSQL: """
            INSERT INTO session (mailbox_id, customer, status, mode, subject, started_at, last_activity_at, expires_at,
                previous_session_id, awaiting_since)
            VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [mailboxID, facts.from ?? "", mode.rawValue, facts.subject, time, time,
                             time + settings.idleTimeout, previous, time])
        let id = db.lastInsertedRowID
        try db.execute(cachedSQL: "INSERT INTO session_participant (session_id, email, role, added_at) VALUES (?, ?, 'customer', ?)",
                       arguments: [id, facts.from ?? "", time])
        return id
    }

    /// Records the sender and every To/Cc address outside the hosted domains (a recipient
    /// added mid-thread keeps the session and becomes a participant).
    private func addParticipants(_ db: Database, sessionID: Int64, facts: SessionHeaderFacts, now: Date) throws {
        for address in [facts.from].compactMap({ $0 }) + facts.recipients {
            guard let at = address.lastIndex(of: "@") else { continue }
            let hosted = try Bool.fetchOne(db, cachedSQL: "SELECT 1 FROM domain WHERE name = ?",
                                           arguments: [String(address[address.index(after: at)...])]) ?? false
            guard !hosted else { continue }
            try db.execute(cachedSQL: """
                INSERT OR IGNORE INTO session_participant (session_id, email, role, added_at) VALUES (?, ?, 'participant', ?)
                """, arguments: [sessionID, address, now.timeIntervalSince1970])
        }
    }

    package init(settings: SessionSettings, messageIDs: SessionMessageID) {
        self.settings = settings
        self.messageIDs = messageIDs
    }
}
