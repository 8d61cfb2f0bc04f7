import Foundation
import Testing
@testable import PostgatePolicy

/// Working hours: segments per kind of day, holidays, time zones, the next change.
@Suite struct WorkingCalendarTests {
    static func at(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    static func berlin() throws -> WorkingCalendar {
        var calendar = WorkingCalendar()
        calendar.timeZone = "Europe/Berlin"
        calendar.workdaySegments = [try .init(parsing: "13:00-17:00"), try .init(parsing: "08:00-12:00")]
        calendar.nonWorkdaySegments = [try .init(parsing: "10:00-14:00")]
        calendar.holidays = ["2026-12-25"]
        return try calendar.validated()
    }

    @Test func openInSegmentsOfTheDayInItsTimeZone() throws {
        let calendar = try Self.berlin()
        #expect(calendar.workdaySegments.map(\.description) == ["08:00-12:00", "13:00-17:00"])
        #expect(calendar.isOpen(at: Self.at("2026-12-07T07:30:00Z")))  // Monday 08:30 in Berlin
        #expect(!calendar.isOpen(at: Self.at("2026-12-07T11:30:00Z")))  // 12:30, the lunch break
        #expect(!calendar.isOpen(at: Self.at("2026-12-07T16:00:00Z")))  // 17:00 exactly: closed
        #expect(calendar.isOpen(at: Self.at("2026-12-05T10:00:00Z")))  // Saturday 11:00
        #expect(!calendar.isOpen(at: Self.at("2026-12-25T08:00:00Z")))  // a holiday Friday, 09:00
        #expect(calendar.isOpen(at: Self.at("2026-12-25T09:30:00Z")))  // … within its non-workday hours
    }

    @Test func theNextChangeSkipsBreaksHolidaysAndWeekends() throws {
        let calendar = try Self.berlin()
        #expect(calendar.nextChange(after: Self.at("2026-12-07T07:30:00Z")) == Self.at("2026-12-07T11:00:00Z"))
        #expect(calendar.nextChange(after: Self.at("2026-12-07T11:30:00Z")) == Self.at("2026-12-07T12:00:00Z"))
        // Thursday 24th, 23:00: the holiday opens at 10:00 Berlin time.
        #expect(calendar.nextChange(after: Self.at("2026-12-24T22:00:00Z")) == Self.at("2026-12-25T09:00:00Z"))
        var always = WorkingCalendar()
        always.workdays = WorkingCalendar.Weekday.allCases
        always.workdaySegments = [try .init(parsing: "00:00-24:00")]
        #expect(always.isOpen(at: Self.at("2026-12-07T23:59:00Z")) && always.nextChange(after: Self.at("2026-12-07T12:00:00Z")) == nil)
    }

    @Test func aDaylightSavingChangeKeepsWallClockHours() throws {
        var calendar = WorkingCalendar()
        calendar.timeZone = "Europe/Berlin"
        calendar.workdays = WorkingCalendar.Weekday.allCases
        calendar.workdaySegments = [try .init(parsing: "09:00-17:00")]
        // Sunday 2026-03-29: clocks go forward at 02:00; 09:00 local is 07:00 UTC.
        #expect(calendar.nextChange(after: Self.at("2026-03-29T01:00:00Z")) == Self.at("2026-03-29T07:00:00Z"))
        #expect(calendar.isOpen(at: Self.at("2026-03-29T07:00:00Z")) && !calendar.isOpen(at: Self.at("2026-03-29T06:59:00Z")))
    }

    @Test(arguments: [
        ("25:00-26:00", "is not HH:MM-HH:MM"), ("09:00-09:00", "must end after it starts"), ("9:00-10:00", "is not HH:MM-HH:MM"),
    ])
    func badSegmentsAreRefused(_ text: String, _ needle: String) {
        #expect { try WorkingCalendar.Segment(parsing: text) } throws: { "\($0)".contains(needle) }
    }

    @Test func overlapsTooManySegmentsAndBadDaysAreRefused() throws {
        var calendar = WorkingCalendar()
        calendar.workdaySegments = [try .init(parsing: "08:00-12:00"), try .init(parsing: "11:00-13:00")]
        #expect(throws: CalendarError.invalid("workday segments 08:00-12:00 and 11:00-13:00 overlap")) { try calendar.validated() }
        calendar.workdaySegments = try ["00:00-01:00", "02:00-03:00", "04:00-05:00", "06:00-07:00", "08:00-09:00"].map { try .init(parsing: $0) }
        #expect(throws: CalendarError.self) { try calendar.validated() }
        calendar.workdaySegments = []
        calendar.holidays = ["2026-02-30"]
        #expect(throws: CalendarError.invalid("holiday '2026-02-30' is not a day written YYYY-MM-DD")) { try calendar.validated() }
        calendar.holidays = []
        calendar.timeZone = "Mars/Olympus"
        #expect(throws: CalendarError.self) { try calendar.validated() }
    }

    @Test func holidaysComeFromAnICalendarFile() throws {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261225\r\n"
            + "DTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20270101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        #expect(try WorkingCalendar.holidays(fromICalendar: ics) == ["2026-12-25", "2026-12-26", "2027-01-01"])
        #expect(throws: CalendarError.self) { try WorkingCalendar.holidays(fromICalendar: "not a calendar") }
    }

    @Test func workingSecondsCountOnlyOpenHours() throws {
        let calendar = try Self.berlin()
        // Monday 11:30-13:30 Berlin: 30 minutes before lunch, the break, 30 minutes after.
        #expect(calendar.workingSeconds(from: Self.at("2026-12-07T10:30:00Z"), to: Self.at("2026-12-07T12:30:00Z")) == 3600)
        // Thursday 24th 16:00 to Saturday 26th 09:00 Berlin (23:00 UTC on Friday is Saturday 00:00):
        // one hour on Thursday, the holiday's four hours, nothing on Saturday before 10:00.
        #expect(calendar.workingSeconds(from: Self.at("2026-12-24T15:00:00Z"), to: Self.at("2026-12-26T08:00:00Z")) == 5 * 3600)
        // Closed all the way: nothing counts.
        #expect(calendar.workingSeconds(from: Self.at("2026-12-07T20:00:00Z"), to: Self.at("2026-12-08T06:00:00Z")) == 0)
        var always = WorkingCalendar()
        always.workdays = WorkingCalendar.Weekday.allCases
        always.workdaySegments = [try .init(parsing: "00:00-24:00")]
        #expect(always.workingSeconds(from: Self.at("2026-12-07T12:00:00Z"), to: Self.at("2026-12-09T12:00:00Z")) == 2 * 86400)
    }
}
