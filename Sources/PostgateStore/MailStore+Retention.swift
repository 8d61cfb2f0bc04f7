import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// What one retention pass removed (or, in a dry run, would remove).
public struct RetentionReport: Sendable, Codable, Equatable {
    public struct AddressResult: Sendable, Codable, Equatable {
        public var address: String
        public var retentionDays: Int
        /// Messages removed per mailbox path (the address's mailbox, its quarantine, queues).
        public var messages: [String: Int]
        public var sessions: Int
    }

    public var addresses: [AddressResult] = []
    public var dryRun: Bool

    public var messageCount: Int { addresses.reduce(0) { $0 + $1.messages.values.reduce(0, +) } }
    public var sessionCount: Int { addresses.reduce(0) { $0 + $1.sessions } }
}

/// Retention: each address with `retentionDays` keeps messages and sessions that long.
extension MailStore {
    /// Deletes, for every address that sets a retention, its sessions whose last activity
    /// is older than the retention and that are closed or expired at `now`, with their
    /// messages in the address's mailbox and quarantine and their copies routed to queues
    /// (agents' personal folders are left alone); and messages of the address's mailbox and quarantine older
    /// than the retention that belong to no session. A conversation still going on (a
    /// session active within the retention) keeps all its messages.
    public func applyRetention(now: Date = Date(), dryRun: Bool = false) throws(StoreError) -> RetentionReport {
        var report = RetentionReport(dryRun: dryRun)
        for record in try addresses() {
            guard let days = record.settings.retentionDays else { continue }
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            let (matches, sessions) = try retentionMatches(
                mailboxPath: record.mailboxPath, quarantinePath: DataDirectory.quarantinePath(for: record.mailboxPath),
                cutoff: cutoff, now: now)
            var result = RetentionReport.AddressResult(address: record.email, retentionDays: days,
                                                       messages: Dictionary(uniqueKeysWithValues: matches.map { ($0.0.path, $0.1.count) }),
                                                       sessions: sessions.count)
            if !dryRun {
                result.messages = try removeMessages(matches)
                try deleteSessions(sessions)
            }
            result.messages = result.messages.filter { $0.value > 0 }
            if !result.messages.isEmpty || result.sessions > 0 { report.addresses.append(result) }
        }
        if !dryRun && (report.messageCount > 0 || report.sessionCount > 0) {
            logger.notice("retention pass", metadata: ["messages": "\(report.messageCount)", "sessions": "\(report.sessionCount)"])
        }
        return report
    }

    private func retentionMatches(mailboxPath: String, quarantinePath: String, cutoff: Date, now: Date)
        throws(StoreError) -> ([(MailboxState, [UInt32])], [Int64]) {
        let mailboxes = Dictionary(try index.mailboxes().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return try database.read { db in
            let sessions = try Int64.fetchAll(db, sql: """
                SELECT session.id FROM session JOIN mailbox ON mailbox.id = session.mailbox_id
                WHERE mailbox.path = ? AND session.last_activity_at < ? AND (session.status = 'closed' OR session.expires_at <= ?)
                """, arguments: [mailboxPath, cutoff.timeIntervalSince1970, now.timeIntervalSince1970])
            var byMailbox: [Int64: [UInt32]] = [:]
            var uniqueNames: [String] = []
            func take(_ rows: [Row]) {
                for row in rows {
                    byMailbox[row["mailbox_id"], default: []].append(row["uid"])
                    uniqueNames.append(MaildirFileName.uniqueName(of: row["filename"]))
                }
            }
            // Messages of the expired sessions, and old messages of the address's mailbox and
            // quarantine in no session.
            for id in sessions {
                take(try Row.fetchAll(db, sql: """
                    SELECT message.mailbox_id, message.uid, message.filename FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                    WHERE message.session_id = ? AND mailbox.path NOT LIKE 'agents/%'
                    """, arguments: [id]))
            }
            take(try Row.fetchAll(db, sql: """
                SELECT message.mailbox_id, message.uid, message.filename FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE mailbox.path IN (?, ?) AND message.session_id IS NULL AND message.internal_date < ?
                """, arguments: [mailboxPath, quarantinePath, cutoff.timeIntervalSince1970]))
            // Their routed copies: the same file linked into a queue, found by its unique
            // name (the part of the file name before `,`), through the (mailbox, filename) index.
            let queues = mailboxes.values.filter { $0.path.hasPrefix("queues/") }
            for unique in Set(uniqueNames) {
                for queue in queues {
                    for uid in try UInt32.fetchAll(db, cachedSQL: """
                        SELECT uid FROM message WHERE mailbox_id = ? AND filename >= ? AND filename < ?
                        """, arguments: [queue.id, unique + ",", unique + "-"]) {
                        byMailbox[queue.id, default: []].append(uid)
                    }
                }
            }
            let matches = byMailbox.compactMap { id, uids in mailboxes[id].map { ($0, Array(Set(uids)).sorted()) } }
                .sorted { $0.0.path < $1.0.path }
            return (matches, sessions)
        }
    }
}
