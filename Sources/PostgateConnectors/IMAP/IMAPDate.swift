import Foundation

/// IMAP dates (RFC 9051 section 9: `date` for SEARCH, `date-time` for INTERNALDATE).
enum IMAPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `d-Mon-yyyy` of the date's day in UTC, as SEARCH SINCE and BEFORE take it.
    static func searchDay(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return "\(parts.day!)-\(months[parts.month! - 1])-\(parts.year!)"
    }

    /// `dd-Mon-yyyy hh:mm:ss +zzzz` (the day may have a leading space), or nil.
    static func internalDate(_ text: String) -> Date? {
        let fields = text.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard fields.count == 3 else { return nil }
        let day = fields[0].split(separator: "-")
        let time = fields[1].split(separator: ":")
        let zone = fields[2]
        guard day.count == 3, time.count == 3, zone.count == 5, let sign = zone.first, sign == "+" || sign == "-",
              let dayOfMonth = Int(day[0]), let monthIndex = months.firstIndex(where: { $0.caseInsensitiveCompare(day[1]) == .orderedSame }),
              let year = Int(day[2]), let hour = Int(time[0]), let minute = Int(time[1]), let second = Int(time[2]),
              let zoneHours = Int(zone.dropFirst().prefix(2)), let zoneMinutes = Int(zone.suffix(2))
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: monthIndex + 1, day: dayOfMonth, hour: hour, minute: minute, second: second)
        guard let utc = calendar.date(from: components) else { return nil }
        let offset = (zoneHours * 3600 + zoneMinutes * 60) * (sign == "-" ? -1 : 1)
        return utc.addingTimeInterval(TimeInterval(-offset))
    }
}
