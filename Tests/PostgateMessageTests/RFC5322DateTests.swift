import Testing
@testable import PostgateMessage

@Suite struct RFC5322DateTests {
    @Test(arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 +0000"),
        (86_399, "Thu, 01 Jan 1970 23:59:59 +0000"),
        (1_000_000_000, "Sun, 09 Sep 2001 01:46:40 +0000"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 +0000"),
        (1_234_567_890, "Fri, 13 Feb 2009 23:31:30 +0000"),
        (1_709_251_200, "Fri, 01 Mar 2024 00:00:00 +0000"),
        (1_704_070_861, "Mon, 01 Jan 2024 01:01:01 +0000"),
        (1_798_761_599, "Thu, 31 Dec 2026 23:59:59 +0000"),
        (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 +0000"),
        (-1, "Wed, 31 Dec 1969 23:59:59 +0000"),
    ])
    func knownTimestamps(seconds: Int, expected: String) {
        #expect(RFC5322Date.format(secondsSince1970: seconds) == expected)
    }

    @Test func everyWeekdayAndMonthName() {
        var days = Set<Substring>()
        var months = Set<Substring>()
        for day in 0..<366 {
            let text = RFC5322Date.format(secondsSince1970: day * 86_400 + 12 * 3600)
            days.insert(text.prefix(3))
            months.insert(text.split(separator: " ")[2])
        }
        #expect(days == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"])
        #expect(months == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
    }
}
