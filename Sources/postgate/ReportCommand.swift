import ArgumentParser
import Foundation
import PostgateMaildir
import PostgateMessage
import PostgateStore

/// `postgate report [--address A] [--since 30d] [--html FILE]`.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Activity per day: messages in and out, sessions, first-response time, auto-replies, quarantined, blocked.",
        discussion: """
        Counts per day (UTC) for one address (--address, or an alias of it) or all: customers' \
        messages in, agents' replies out, sessions opened and closed (or ended by their idle \
        timeout), auto-replies sent (AUTO-REPLIES) and automatic messages received (AUTO-IN), \
        quarantined and blocked messages; and, for the sessions opened in the range, the median \
        and 90th percentile time from the session's start to its first agent's reply (an \
        auto-reply is not an answer). --since takes a number of days (30d) or a day (YYYY-MM-DD). --html FILE writes \
        a self-contained page with charts. With --json: {address, since, until, days[{date, \
        messagesIn, messagesOut, sessionsOpened, sessionsClosed, autoReplies, autoRepliesReceived, \
        quarantined, blocked}], totals, firstResponse {answered, unanswered, medianSeconds, p90Seconds}}.
        """
    )

    @Option(help: ArgumentHelp("only this address (or an alias of it)", valueName: "EMAIL")) var address: String?
    @Option(help: ArgumentHelp("from N days ago (30d) or from a day (YYYY-MM-DD, UTC)", valueName: "WHEN")) var since = "30d"
    @Option(help: ArgumentHelp("also write a self-contained HTML page with charts to FILE", valueName: "FILE")) var html: String?
    @OptionGroup var options: StoreOptions

    func run() throws {
        let address = address.map(parseAddress)
        guard let start = Self.start(since, now: Date()) else {
            fail("--since \(since) is neither a number of days (30d, at most 3650d) nor a day written YYYY-MM-DD")
        }
        let store = try options.openStore()
        let report = try reportingFailure { () throws(StoreError) in try store.activityReport(address: address, since: start) }
        if let html {
            do { try Data(ReportPage.html(report).utf8).write(to: URL(fileURLWithPath: html)) } catch {
                fail("cannot write \(html): \(error.localizedDescription)")
            }
        }
        try options.print(report) {
            let rows = report.days.map(Self.row) + [Self.row(report.totals)]
            var text = TextTable(headers: ["DAY", "IN", "OUT", "OPENED", "CLOSED", "AUTO-REPLIES", "AUTO-IN", "QUARANTINED", "BLOCKED"], rows: rows).render()
            let first = report.firstResponse
            text += "\nfirst response: \(first.answered) sessions answered, \(first.unanswered) not yet"
            if let median = first.medianSeconds, let p90 = first.p90Seconds {
                text += "; median \(Self.duration(median)), 90th percentile \(Self.duration(p90))"
            }
            if let html { text += "\nHTML page written to \(html)" }
            return text
        }
    }

    static func row(_ counts: ActivityReport.Counts) -> [String] {
        [counts.date, counts.messagesIn, counts.messagesOut, counts.sessionsOpened, counts.sessionsClosed, counts.autoReplies,
         counts.autoRepliesReceived, counts.quarantined, counts.blocked].map { "\($0)" }
    }

    /// The start of the range: N days before now (at the start of that UTC day), or a day.
    static func start(_ text: String, now: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        if text.hasSuffix("d"), let days = Int(text.dropLast()), (1...3650).contains(days) {
            return calendar.date(byAdding: .day, value: -(days - 1), to: calendar.startOfDay(for: now))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        guard text.count == 10, let day = formatter.date(from: text), day <= now else { return nil }
        return day
    }

    /// `42 s`, `3 min`, `2.5 h`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded())) min" }
        return String(format: "%.1f h", seconds / 3600)
    }
}

/// The report as one HTML page with its charts drawn in inline SVG: nothing to fetch.
enum ReportPage {
    static func html(_ report: ActivityReport) -> String {
        let title = "Postgate activity" + (report.address.map { " of \(escape($0))" } ?? "")
        let first = report.firstResponse
        let response = first.medianSeconds.map { median in
            "median \(ReportCommand.duration(median)), 90th percentile \(ReportCommand.duration(first.p90Seconds ?? median))"
        } ?? "no session answered yet"
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(title)</title>
        <style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}th:first-child,td:first-child{text-align:left}.in{fill:#3b7dd8}.out{fill:#e08a2c}.opened{fill:#4a9a5b}</style>
        </head><body>
        <h1>\(title)</h1>
        <p>\(report.days.first?.date ?? "") to \(report.days.last?.date ?? "") (UTC). First response: \(first.answered) sessions answered, \(first.unanswered) not yet; \(response).</p>
        <h2>Messages in and out per day</h2>
        \(chart(report.days, series: [(\.messagesIn, "in"), (\.messagesOut, "out")]))
        <h2>Sessions opened per day</h2>
        \(chart(report.days, series: [(\.sessionsOpened, "opened")]))
        <h2>Per day</h2>
        <table><tr><th>Day</th><th>In</th><th>Out</th><th>Opened</th><th>Closed</th><th>Auto-replies</th><th>Automatic in</th><th>Quarantined</th><th>Blocked</th></tr>

        """
        for counts in report.days + [report.totals] {
            page += "<tr>" + ReportCommand.row(counts).map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        page += "</table>\n</body></html>\n"
        return page
    }

    /// A bar chart: one group of bars per day, one bar per series, scaled to the largest value.
    static func chart(_ days: [ActivityReport.Counts], series: [(KeyPath<ActivityReport.Counts, Int>, String)]) -> String {
        let height = 120.0
        let barWidth = 6.0
        let group = barWidth * Double(series.count) + 4
        let largest = max(1, days.flatMap { day in series.map { day[keyPath: $0.0] } }.max() ?? 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"\(Int(group * Double(max(days.count, 1)) + 40))\" height=\"\(Int(height + 20))\">"
        for (index, day) in days.enumerated() {
            for (offset, (path, name)) in series.enumerated() {
                let value = day[keyPath: path]
                let bar = height * Double(value) / Double(largest)
                let x = 30 + Double(index) * group + Double(offset) * barWidth
                svg += "<rect class=\"\(name)\" x=\"\(x)\" y=\"\(height - bar + 5)\" width=\"\(barWidth - 1)\" height=\"\(bar)\"><title>\(escape(day.date)) \(name): \(value)</title></rect>"
            }
        }
        svg += "<text x=\"0\" y=\"15\" font-size=\"10\">\(largest)</text><line x1=\"28\" y1=\"\(height + 5)\" x2=\"100%\" y2=\"\(height + 5)\" stroke=\"#999\"/></svg>"
        return svg
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
