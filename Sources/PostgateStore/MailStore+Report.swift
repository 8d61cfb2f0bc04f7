import Foundation
import GRDB
import PostgateIndex
import PostgateMaildir
import PostgateMessage
import PostgateDirectory

/// The activity of the channel addresses over a time range, per day (UTC), for
/// `postgate report`.
public struct ActivityReport: Sendable, Codable, Equatable {
    public struct Counts: Sendable, Codable, Equatable {
        /// `YYYY-MM-DD` (UTC), or `total`.
        public var date: String
        /// Customers' messages delivered to the addresses (no policy label).
        public var messagesIn = 0
        /// Agents' replies queued from the addresses (auto-replies not included).
        public var messagesOut = 0
        public var sessionsOpened = 0
        /// Sessions closed, or ended by their idle timeout.
        public var sessionsClosed = 0
        /// Auto-replies (RFC 3834) the addresses queued.
        public var autoReplies = 0
        /// Automatic messages received: labelled `auto-reply` by the inbound policy.
        public var autoRepliesReceived = 0
        public var quarantined = 0
        public var blocked = 0

        public init(date: String) { self.date = date }

        mutating func add(_ other: Counts) {
            messagesIn += other.messagesIn
            messagesOut += other.messagesOut
            sessionsOpened += other.sessionsOpened
            sessionsClosed += other.sessionsClosed
            autoReplies += other.autoReplies
            autoRepliesReceived += other.autoRepliesReceived
            quarantined += other.quarantined
            blocked += other.blocked
        }
    }

    /// From a session's start to its first reply, for the sessions started in the range.
    public struct FirstResponse: Sendable, Codable, Equatable {
        public var answered = 0
        public var unanswered = 0
        public var medianSeconds: Double?
        public var p90Seconds: Double?

        private enum CodingKeys: String, CodingKey { case answered, unanswered, medianSeconds, p90Seconds }

        /// Every key; the times `null` when no session was answered.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(answered, forKey: .answered)
            try c.encode(unanswered, forKey: .unanswered)
            try c.encode(medianSeconds, forKey: .medianSeconds)
            try c.encode(p90Seconds, forKey: .p90Seconds)
        }
    }

    /// The address reported on; nil for all.
    public var address: String?
    public var since: Date
    public var until: Date
    /// Every day of the range, oldest first, days without activity included.
    public var days: [Counts]
    public var totals: Counts
    public var firstResponse: FirstResponse

    private enum CodingKeys: String, CodingKey { case address, since, until, days, totals, firstResponse }

    /// Every key; `address` is `null` for a report on all addresses.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(since, forKey: .since)
        try c.encode(until, forKey: .until)
        try c.encode(days, forKey: .days)
        try c.encode(totals, forKey: .totals)
        try c.encode(firstResponse, forKey: .firstResponse)
    }
}

extension MailStore {
    /// The activity of `address` (all addresses when nil) from `since` to `until`.
    public func activityReport(address: EmailAddress?, since: Date, until: Date = Date()) throws(StoreError) -> ActivityReport {
        let records = try addresses()
        let chosen: [AddressRecord]
        if let address {
            guard let record = try self.address(address, countingMessages: false) else { throw .addressNotFound(address) }
            chosen = records.filter { $0.email == record.email }
        } else {
            chosen = records
        }
        let paths = chosen.map(\.mailboxPath)
        let quarantines = paths.map(DataDirectory.quarantinePath(for:))
        let senders = chosen.map(\.email)
        let (from, to) = (since.timeIntervalSince1970, until.timeIntervalSince1970)
        var byDay: [String: ActivityReport.Counts] = [:]
        var firstResponse = ActivityReport.FirstResponse()
        try database.read { db in
            func count(_ sql: String, _ arguments: StatementArguments, into keyPath: WritableKeyPath<ActivityReport.Counts, Int>) throws {
                for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                    let day: String = row[0]
                    byDay[day, default: .init(date: day)][keyPath: keyPath] += row[1] as Int
                }
            }
            let mailboxes = "SELECT id FROM mailbox WHERE path IN (\(Self.placeholders(paths.count)))"
            let held = "SELECT id FROM mailbox WHERE path IN (\(Self.placeholders(quarantines.count)))"
            let range: StatementArguments = [from, to]
            func messages(_ condition: String, in set: String, _ names: [String], into keyPath: WritableKeyPath<ActivityReport.Counts, Int>) throws {
                try count("""
                    SELECT date(internal_date, 'unixepoch'), count(*) FROM message
                    WHERE mailbox_id IN (\(set)) AND \(condition) AND internal_date >= ? AND internal_date < ? GROUP BY 1
                    """, StatementArguments(names) + range, into: keyPath)
            }
            try messages("policy IS NULL", in: mailboxes, paths, into: \.messagesIn)
            try messages("policy = 'auto-reply'", in: mailboxes, paths, into: \.autoRepliesReceived)
            try messages("policy = 'blocked'", in: mailboxes, paths, into: \.blocked)
            try messages("1", in: held, quarantines, into: \.quarantined)
            let outbound: [(String, WritableKeyPath<ActivityReport.Counts, Int>)] = [
                ("auto_reply IS NULL", \.messagesOut), ("auto_reply IS NOT NULL", \.autoReplies),
            ]
            for (condition, keyPath) in outbound {
                try count("""
                    SELECT date(created_at, 'unixepoch'), count(*) FROM outbound_message
                    WHERE mail_from IN (\(Self.placeholders(senders.count))) AND \(condition) AND created_at >= ? AND created_at < ? GROUP BY 1
                    """, StatementArguments(senders) + range, into: keyPath)
            }
            try count("""
                SELECT date(started_at, 'unixepoch'), count(*) FROM session
                WHERE mailbox_id IN (\(mailboxes)) AND started_at >= ? AND started_at < ? GROUP BY 1
                """, StatementArguments(paths) + range, into: \.sessionsOpened)
            // A closed session ended at its last activity; an open one at its idle timeout,
            // once that has passed.
            try count("""
                SELECT date(ended, 'unixepoch'), count(*) FROM (
                    SELECT CASE WHEN status = 'closed' THEN last_activity_at ELSE expires_at END AS ended FROM session
                    WHERE mailbox_id IN (\(mailboxes)))
                WHERE ended >= ? AND ended < ? AND ended <= ? GROUP BY 1
                """, StatementArguments(paths) + range + [Date().timeIntervalSince1970], into: \.sessionsClosed)
            var delays: [Double] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT session.started_at, (SELECT min(created_at) FROM outbound_message WHERE session_id = session.id AND auto_reply IS NULL) AS answered
                FROM session WHERE mailbox_id IN (\(mailboxes)) AND started_at >= ? AND started_at < ?
                """, arguments: StatementArguments(paths) + range) {
                if let answered = row["answered"] as Double? {
                    delays.append(max(0, answered - (row["started_at"] as Double)))
                } else {
                    firstResponse.unanswered += 1
                }
            }
            delays.sort()
            firstResponse.answered = delays.count
            firstResponse.medianSeconds = Self.percentile(delays, 0.5)
            firstResponse.p90Seconds = Self.percentile(delays, 0.9)
        }
        var days: [ActivityReport.Counts] = []
        var totals = ActivityReport.Counts(date: "total")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var day = calendar.startOfDay(for: since)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        while day < until, days.count < 3660 {
            let name = formatter.string(from: day)
            let counts = byDay[name] ?? .init(date: name)
            days.append(counts)
            totals.add(counts)
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return ActivityReport(address: address.map { _ in chosen.first?.email ?? "" }, since: since, until: until, days: days,
                              totals: totals, firstResponse: firstResponse)
    }

    static func placeholders(_ count: Int) -> String {
        count == 0 ? "NULL" : Array(repeating: "?", count: count).joined(separator: ", ")
    }

    /// The nearest-rank percentile of sorted values; nil for none.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}

extension MailStore {
    /// When the newest message of each mailbox arrived, by mailbox path.
    public func lastMessageDates() throws(StoreError) -> [String: Date] {
        try database.read { db in
            var dates: [String: Date] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT mailbox.path, (SELECT max(internal_date) FROM message WHERE message.mailbox_id = mailbox.id) AS newest
                FROM mailbox
                """) {
                if let newest = row["newest"] as Double? { dates[row["path"]] = Date(timeIntervalSince1970: newest) }
            }
            return dates
        }
    }

    /// How many routing filters each address has, by its mailbox path.
    public func filterCounts() throws(StoreError) -> [String: Int] {
        try database.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT mailbox.path, count(filter.id) AS filters
                FROM address JOIN mailbox ON mailbox.id = address.mailbox_id LEFT JOIN filter ON filter.address_id = address.id
                GROUP BY address.id
                """) {
                counts[row["path"]] = row["filters"]
            }
            return counts
        }
    }
}
