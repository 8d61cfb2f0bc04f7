import Foundation
import GRDB
import PostgateAutoReply
import PostgateMessage

/// An auto-reply on its way into the queue: its kind, whom it answers and the limits of
/// its address, checked against the auto-replies already queued in the inserting transaction.
public struct OutboundAutoReply: Sendable {
    public var kind: AutoReplyKind
    public var recipient: EmailAddress
    public var rules: AutoReplyRules

    public init(kind: AutoReplyKind, recipient: EmailAddress, rules: AutoReplyRules) {
        self.kind = kind
        self.recipient = recipient
        self.rules = rules
    }
}

extension OutboundQueue {
    /// Why the limits hold `autoReply` back, or nil to queue it; reads the auto-replies from
    /// `sender` to the recipient (the last hour's count, the newest) and whether the session
    /// has one, in the caller's write transaction.
    static func holdAutoReply(_ autoReply: OutboundAutoReply, sender: String, sessionID: Int64?, now: Date,
                              _ db: Database) throws -> AutoReplySkip? {
        // Recipients are stored as `EmailAddress.description`; compared without regard to case.
        let recipient = autoReply.recipient.description
        let row = try Row.fetchOne(db, cachedSQL: """
            SELECT count(CASE WHEN m.created_at > ? THEN 1 END) AS recent, max(m.created_at) AS newest
            FROM outbound_message m JOIN outbound_recipient r ON r.message_id = m.id
            WHERE m.auto_reply IS NOT NULL AND m.mail_from = ? AND lower(r.address) = lower(?)
            """, arguments: [now.timeIntervalSince1970 - 3600, sender, recipient])
        var answered = false
        if let sessionID {
            answered = try Bool.fetchOne(db, cachedSQL: """
                SELECT EXISTS (SELECT 1 FROM outbound_message WHERE session_id = ? AND auto_reply IS NOT NULL)
                """, arguments: [sessionID]) ?? false
        }
        let history = AutoReplyHistory(
            sentLastHour: (row?["recent"] as Int?) ?? 0, lastSent: (row?["newest"] as Double?).map(Date.init(timeIntervalSince1970:)),
            sessionAnswered: answered)
        return AutoReplyDecision.admit(history, rules: autoReply.rules, now: now)
    }
}
