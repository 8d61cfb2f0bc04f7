import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgatePolicy
import PostgateStore

/// `postgate calendar set|list|show|remove`: the working calendars of the addresses.
struct CalendarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "Set, list, show and remove working calendars (working hours and holidays).",
        discussion: """
        A calendar has a time zone (IANA), the workdays of the week, up to four time segments \\
        for workdays and up to four for other days (weekends and holidays), and holidays. An \\
        address works by its own calendar (`address set --calendar`), else by the one named \\
        `default`; with neither it is always in working hours. Changes apply at once.
        """,
        subcommands: [Set.self, List.self, Show.self, Remove.self]
    )

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a calendar or change one (settings not named keep their value).",
            discussion: """
            Segments are HH:MM-HH:MM (24-hour, end up to 24:00), not overlapping; --workday and \\
            --non-workday each replace their list ("" empties it). --holiday adds a day \\
            (YYYY-MM-DD); --holidays-ics FILE adds the days of an iCalendar file's events. A new \\
            calendar starts in UTC, Monday to Friday, with no segments.
            """
        )

        @Argument(help: "the calendar's name: a letter or _, then letters, digits, _") var name: String
        @Option(name: .customLong("time-zone"), help: ArgumentHelp("IANA time zone, e.g. Europe/Berlin", valueName: "ZONE")) var timeZone: String?
        @Option(help: ArgumentHelp("workdays of the week, e.g. mon,tue,wed,thu,fri", valueName: "DAYS")) var workdays: String?
        @Option(name: .customLong("workday"), help: ArgumentHelp("working hours on workdays (repeatable)", valueName: "HH:MM-HH:MM")) var workday: [String] = []
        @Option(name: .customLong("non-workday"), help: ArgumentHelp("working hours on other days (repeatable)", valueName: "HH:MM-HH:MM")) var nonWorkday: [String] = []
        @Option(name: .customLong("holiday"), help: ArgumentHelp("a holiday (repeatable; adds)", valueName: "YYYY-MM-DD")) var holidays: [String] = []
        @Option(name: .customLong("holidays-ics"), help: ArgumentHelp("add the days of an iCalendar file's events", valueName: "FILE")) var holidaysICS: String?
        @Flag(name: .customLong("clear-holidays"), help: "remove every holiday first") var clearHolidays = false
        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.openStore()
            let existing = try reportingFailure { () throws(StoreError) in try store.calendars() }
            var calendar = existing.first { $0.name.lowercased() == name.lowercased() }?.calendar ?? WorkingCalendar()
            do {
                timeZone.map { calendar.timeZone = $0 }
                if let workdays {
                    calendar.workdays = try workdays.split(separator: ",").map { day throws(CalendarError) in
                        guard let weekday = WorkingCalendar.Weekday(rawValue: day.trimmingCharacters(in: .whitespaces).lowercased()) else {
                            throw .invalid("'\(day)' is not a day of the week (mon, tue, wed, thu, fri, sat, sun)")
                        }
                        return weekday
                    }
                }
                if !workday.isEmpty { calendar.workdaySegments = try workday.filter { !$0.isEmpty }.map { text throws(CalendarError) in try .init(parsing: text) } }
                if !nonWorkday.isEmpty { calendar.nonWorkdaySegments = try nonWorkday.filter { !$0.isEmpty }.map { text throws(CalendarError) in try .init(parsing: text) } }
                if clearHolidays { calendar.holidays = [] }
                calendar.holidays += holidays
                if let holidaysICS {
                    guard let text = try? String(contentsOfFile: holidaysICS, encoding: .utf8) else { fail("cannot read \(holidaysICS)") }
                    calendar.holidays += try WorkingCalendar.holidays(fromICalendar: text)
                }
            } catch {
                fail(error.description)
            }
            let record = try reportingFailure { () throws(StoreError) in try store.setCalendar(name, calendar) }
            try options.print(record) { CalendarCommand.describe(record, now: Date()) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the calendars, each open or closed now.",
            discussion: "With --json: an array of {name, calendar {timeZone, workdays, workdaySegments, nonWorkdaySegments, holidays}}."
        )
        @OptionGroup var options: StoreOptions

        func run() throws {
            let records = try options.withStore { (store) throws(StoreError) in try store.calendars() }
            let now = Date()
            try options.print(records) {
                guard !records.isEmpty else { return "no calendars; add one with `postgate calendar set default --time-zone ZONE --workday 09:00-17:00`" }
                return TextTable(headers: ["NAME", "TIME ZONE", "WORKDAYS", "HOURS", "NOW", "NEXT CHANGE"], rows: records.map { r in
                    [r.name, r.calendar.timeZone, r.calendar.workdays.map(\.rawValue).joined(separator: ","),
                     r.calendar.workdaySegments.map(\.description).joined(separator: " "),
                     r.calendar.isOpen(at: now) ? "open" : "closed",
                     r.calendar.nextChange(after: now)?.formatted(.iso8601) ?? "never"]
                }).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a calendar, whether it is open at a time (now by default) and when that changes next.",
            discussion: "With --json: {name, calendar, at, open, nextChange}."
        )
        @Argument(help: "the calendar") var name: String
        @Option(help: ArgumentHelp("the time to look at, ISO 8601 (2026-12-24T23:00:00Z)", valueName: "TIME")) var at: String?
        @OptionGroup var options: StoreOptions

        func run() throws {
            let moment = CalendarCommand.moment(at)
            let records = try options.withStore { (store) throws(StoreError) in try store.calendars() }
            guard let record = records.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                fail("there is no calendar \(name); see `postgate calendar list`")
            }
            try options.print(HoursView(record: record, at: moment)) { CalendarCommand.describe(record, now: moment) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a calendar no address uses.")
        @Argument(help: "the calendar") var name: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            try options.withStore { (store) throws(StoreError) in try store.removeCalendar(name) }
            try options.print(["removed": name]) { "removed calendar \(name)" }
        }
    }

    /// A time from `--at`, or now.
    static func moment(_ text: String?) -> Date {
        guard let text else { return Date() }
        guard let date = try? Date(text, strategy: .iso8601) else { fail("--at \(text) is not an ISO 8601 time such as 2026-12-24T23:00:00Z") }
        return date
    }

    static func describe(_ record: CalendarRecord, now: Date) -> String {
        let c = record.calendar
        let open = c.isOpen(at: now)
        var changes = "never"
        if let next = c.nextChange(after: now) { changes = next.formatted(.iso8601) + (open ? " (closes)" : " (opens)") }
        let workdays: String = c.workdays.map(\.rawValue).joined(separator: ",")
        let hours: String = c.workdaySegments.map(\.description).joined(separator: " ")
        let other: String = c.nonWorkdaySegments.isEmpty ? "closed" : c.nonWorkdaySegments.map(\.description).joined(separator: " ")
        let holidays: String = c.holidays.isEmpty ? "none" : c.holidays.joined(separator: ", ")
        let lines: [(String, String)] = [
            ("calendar", record.name), ("time zone", c.timeZone), ("workdays", workdays), ("workday hours", hours),
            ("other days", other), ("holidays", holidays), ("at " + now.formatted(.iso8601), open ? "open" : "closed"),
            ("changes", changes),
        ]
        return lines.map { ($0.0 + ":").padding(toLength: 32, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }
}

/// Whether a calendar is open at a time, for --json.
struct HoursView: Encodable {
    var name: String
    var calendar: WorkingCalendar?
    var at: Date
    var open: Bool
    var nextChange: Date?

    init(record: CalendarRecord?, at: Date) {
        name = record?.name ?? ""
        calendar = record?.calendar
        self.at = at
        open = record?.calendar.isOpen(at: at) ?? true
        nextChange = record?.calendar.nextChange(after: at)
    }

    private enum CodingKeys: String, CodingKey { case name, calendar, at, open, nextChange }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name.isEmpty ? nil : name, forKey: .name)
        try c.encode(calendar, forKey: .calendar)
        try c.encode(at, forKey: .at)
        try c.encode(open, forKey: .open)
        try c.encode(nextChange, forKey: .nextChange)
    }
}
