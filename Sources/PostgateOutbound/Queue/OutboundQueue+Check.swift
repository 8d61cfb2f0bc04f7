import Foundation
import GRDB
import PostgateMaildir
import PostgateIndex

/// What `postgate check` says about the outbound queue: replies that wait are invisible to
/// the agents who sent them, so a next hop that stopped answering must show up here.
extension OutboundQueue {
    /// Recipients not yet delivered, and the oldest and latest of them.
    public struct Backlog: Sendable, Equatable {
        /// Recipients queued or deferred.
        public var waiting = 0
        /// Of those, recipients whose last attempt failed temporarily.
        public var deferred = 0
        /// When the oldest message with a waiting recipient was queued.
        public var oldestQueuedAt: Date?
        /// When the oldest message with a deferred recipient was queued.
        public var oldestDeferredAt: Date?
        /// The reason of the most recent temporary failure, and when it was.
        public var lastError: String?
        public var lastErrorAt: Date?
    }

    /// The queue's backlog now: two indexed queries.
    public func backlog() throws(StoreError) -> Backlog {
        try database.read { db in
            var backlog = Backlog()
            if let row = try Row.fetchOne(db, sql: """
                SELECT count(*) AS waiting, coalesce(sum(r.state = 'deferred'), 0) AS deferred, min(m.created_at) AS oldest,
                       min(CASE WHEN r.state = 'deferred' THEN m.created_at END) AS oldest_deferred
                FROM outbound_recipient r JOIN outbound_message m ON m.id = r.message_id
                WHERE r.state IN ('queued', 'deferred')
                """) {
                backlog.waiting = row["waiting"]
                backlog.deferred = row["deferred"]
                backlog.oldestQueuedAt = (row["oldest"] as Double?).map { Date(timeIntervalSince1970: $0) }
                backlog.oldestDeferredAt = (row["oldest_deferred"] as Double?).map { Date(timeIntervalSince1970: $0) }
            }
            if let row = try Row.fetchOne(db, sql: """
                SELECT last_reply, last_attempt_at FROM outbound_recipient
                WHERE state = 'deferred' AND last_attempt_at IS NOT NULL ORDER BY last_attempt_at DESC LIMIT 1
                """) {
                backlog.lastError = row["last_reply"]
                backlog.lastErrorAt = (row["last_attempt_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
            }
            return backlog
        }
    }

    /// One finding for the queue: ok when nothing waits longer than a delivery takes;
    /// a warning while recipients are deferred; an error once a recipient has waited
    /// `alertAfter` seconds or more (the next hop has not answered for that long).
    public func checkFinding(now: Date = Date(), alertAfter: Double) throws(StoreError) -> CheckFinding {
        let backlog = try backlog()
        let subject = "outbound queue"
        guard backlog.waiting > 0, let oldest = backlog.oldestQueuedAt else {
            return CheckFinding(subject, .ok, "nothing waiting")
        }
        let age = max(0, now.timeIntervalSince(oldest))
        let error = backlog.lastError.map { "; last error: " + $0.split(whereSeparator: \.isNewline).joined(separator: " ") } ?? ""
        let text = "\(backlog.waiting) recipient(s) waiting (\(backlog.deferred) deferred), oldest queued \(Self.duration(age)) ago\(error)"
        if age >= alertAfter {
            return CheckFinding(subject, .error, text + "; see `postgate outbound list`, fix the next hop, then `postgate outbound retry`")
        }
        if backlog.deferred > 0 {
            return CheckFinding(subject, .warning, text + "; see `postgate outbound list`")
        }
        return CheckFinding(subject, .ok, text)
    }

    /// `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        switch total {
        case ..<60: return "\(total) s"
        case ..<3600: return "\(total / 60) min"
        case ..<86400: return "\(total / 3600) h \(total % 3600 / 60) min"
        default: return "\(total / 86400) d \(total % 86400 / 3600) h"
        }
    }
}
