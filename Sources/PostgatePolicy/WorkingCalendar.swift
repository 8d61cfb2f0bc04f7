import Foundation

/// When a contact centre works: in a time zone, time segments for workdays and others for
/// non-workdays (weekends and holidays), and the holidays. A value type: no clock, no I/O;
/// callers pass the time.
public struct WorkingCalendar: Sendable, Codable, Equatable {
    public enum Weekday: String, Sendable, Codable, CaseIterable {
        case mon, tue, wed, thu, fri, sat, sun

        /// Foundation's weekday number (Sunday 1 … Saturday 7).
        var number: Int { [2, 3, 4, 5, 6, 7, 1][Self.allCases.firstIndex(of: self)!] }
    }

    /// A time of day range, minutes from midnight; `end` may be 1440 (24:00).
    public struct Segment: Sendable, Codable, Equatable, CustomStringConvertible {
        public var start: Int
        public var end: Int

        /// `HH:MM-HH:MM`, 24-hour; the end may be `24:00` and must come after the start.
        public init(parsing text: String) throws(CalendarError) {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let start = Self.minutes(parts[0], allowsEndOfDay: false),
                  let end = Self.minutes(parts[1], allowsEndOfDay: true) else {
                throw .invalid("time segment '\(text)' is not HH:MM-HH:MM between 00:00 and 24:00 (such as 09:00-17:30)")
            }
            guard start < end else { throw .invalid("time segment '\(text)' must end after it starts") }
            self.start = start
            self.end = end
        }

        static func minutes(_ text: Substring, allowsEndOfDay: Bool) -> Int? {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
                  let hour = Int(parts[0]), let minute = Int(parts[1]), minute < 60 else { return nil }
            if hour == 24 && minute == 0 && allowsEndOfDay { return 1440 }
            return hour < 24 ? hour * 60 + minute : nil
        }

        public var description: String {
            String(format: "%02d:%02d-%02d:%02d", start / 60, start % 60, end / 60, end % 60)
        }
    }

    /// The most segments of one kind of day.
    public static let maxSegments = 4

    public var timeZone: String = "UTC"
    public var workdays: [Weekday] = [.mon, .tue, .wed, .thu, .fri]
    public var workdaySegments: [Segment] = []
    public var nonWorkdaySegments: [Segment] = []
    /// Days on which the non-workday segments apply, `YYYY-MM-DD` in `timeZone`.
    public var holidays: [String] = []

    public init() {}

    /// Checks every rule; returns the calendar with its segments and holidays in order.
    public func validated() throws(CalendarError) -> WorkingCalendar {
        guard TimeZone(identifier: timeZone) != nil else {
            throw .invalid("time zone '\(timeZone)' is not a known time zone name (such as Europe/Berlin or UTC)")
        }
        var copy = self
        for (name, segments) in [("workday", workdaySegments), ("non-workday", nonWorkdaySegments)] {
            guard segments.count <= Self.maxSegments else {
                throw .invalid("\(segments.count) \(name) segments; at most \(Self.maxSegments) are allowed")
            }
            let sorted = segments.sorted { $0.start < $1.start }
            for (earlier, later) in zip(sorted, sorted.dropFirst()) where later.start < earlier.end {
                throw .invalid("\(name) segments \(earlier) and \(later) overlap")
            }
        }
        copy.workdaySegments.sort { $0.start < $1.start }
        copy.nonWorkdaySegments.sort { $0.start < $1.start }
        for day in holidays where Self.day(day) == nil {
            throw .invalid("holiday '\(day)' is not a day written YYYY-MM-DD")
        }
        copy.holidays = Array(Set(holidays)).sorted()
        var seen: [Weekday] = []
        for day in workdays where !seen.contains(day) { seen.append(day) }
        copy.workdays = Weekday.allCases.filter(seen.contains)
        return copy
    }

    static func day(_ text: String) -> DateComponents? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        return components.isValidDate(in: calendar) ? components : nil
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        return calendar
    }

    /// Whether the local day of `date` is a workday (a workday of the week, not a holiday).
    public func isWorkday(_ date: Date) -> Bool {
        let calendar = calendar
        let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: date)
        let name = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        if holidays.contains(name) { return false }
        return workdays.contains { $0.number == parts.weekday }
    }

    /// Whether the contact centre works at `date`.
    public func isOpen(at date: Date) -> Bool {
        // Wall-clock time in the calendar's zone, so a daylight-saving change moves nothing.
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        let segments = isWorkday(date) ? workdaySegments : nonWorkdaySegments
        return segments.contains { $0.start <= minute && minute < $0.end }
    }

    /// The first moment after `date` at which `isOpen` changes, looking at most a year and a
    /// week ahead; nil when it never changes (always open, or never).
    public func nextChange(after date: Date) -> Date? {
        let calendar = calendar
        let now = isOpen(at: date)
        var day = calendar.startOfDay(for: date)
        for _ in 0..<372 {
            let segments = isWorkday(day) ? workdaySegments : nonWorkdaySegments
            let boundaries = ([0] + segments.flatMap { [$0.start, $0.end] }).sorted()
            for minutes in boundaries {
                let moment = minutes == 1440
                    ? calendar.date(byAdding: .day, value: 1, to: day)
                    : calendar.date(bySettingHour: minutes / 60, minute: minutes % 60, second: 0, of: day)
                guard let moment, moment > date else { continue }
                if isOpen(at: moment) != now { return moment }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = next
        }
        return nil
    }

    /// The seconds between `start` and `end` during which the contact centre works: the
    /// clock that transfers a session nobody answers runs only in working hours.
    public func workingSeconds(from start: Date, to end: Date) -> TimeInterval {
        var total: TimeInterval = 0
        var moment = start
        while moment < end {
            let open = isOpen(at: moment)
            let next = min(nextChange(after: moment) ?? end, end)
            if open { total += next.timeIntervalSince(moment) }
            guard next > moment else { break }
            moment = next
        }
        return total
    }

    /// The days of the all-day and dated events of an iCalendar file (RFC 5545 VEVENT
    /// DTSTART, and DTEND exclusive for all-day events), for importing holidays.
    public static func holidays(fromICalendar text: String) throws(CalendarError) -> [String] {
        // Unfold continuation lines (RFC 5545 section 3.1).
        let unfolded = text.replacingOccurrences(of: "\r\n ", with: "").replacingOccurrences(of: "\n ", with: "")
            .replacingOccurrences(of: "\r\n\t", with: "").replacingOccurrences(of: "\n\t", with: "")
        guard unfolded.contains("BEGIN:VCALENDAR") else { throw .invalid("the file is not an iCalendar file (no BEGIN:VCALENDAR)") }
        var days: [String] = []
        var start: String?
        var end: String?
        for raw in unfolded.split(whereSeparator: \.isNewline) {
            let line = String(raw)
            if line == "BEGIN:VEVENT" { (start, end) = (nil, nil) }
            if line.hasPrefix("DTSTART") { start = line.split(separator: ":").last.map { String($0.prefix(8)) } }
            if line.hasPrefix("DTEND") { end = line.split(separator: ":").last.map { String($0.prefix(8)) } }
            guard line == "END:VEVENT", let first = start.flatMap(Self.compactDay) else { continue }
            var dayDate = first
            let last = end.flatMap(Self.compactDay).map { $0.addingTimeInterval(-86_400) } ?? first
            var count = 0
            while dayDate <= max(first, last), count < 366 {
                days.append(Self.dayName(dayDate))
                dayDate = dayDate.addingTimeInterval(86_400)
                count += 1
            }
        }
        return days
    }

    private static func compactDay(_ text: String) -> Date? {
        guard text.count == 8, text.allSatisfy(\.isNumber) else { return nil }
        let day = "\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.suffix(2))"
        guard let components = Self.day(day) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }

    private static func dayName(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}

/// Why a calendar setting is refused, in one line.
public enum CalendarError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let text): text
        }
    }
}
