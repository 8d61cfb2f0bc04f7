import Foundation

/// IMAP's `date-time` (RFC 9051 section 9): `"17-Jul-1996 02:44:25 -0700"`, used for
/// INTERNALDATE in FETCH and APPEND.
public enum IMAPDateTime {
    /// Formats `date` in UTC: ` 1-Jan-2026 10:00:00 +0000` (day padded with a space).
    public static func format(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let day = IMAPDay(date)
        let time = ((seconds % 86400) + 86400) % 86400
        let dd = day.day < 10 ? " \(day.day)" : "\(day.day)"
        return "\(dd)-\(IMAPDay.monthNames[day.month - 1])-\(day.year) \(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60)) +0000"
    }

    /// Parses a `date-time`; nil if malformed.
    public static func parse(_ text: String) -> Date? {
        let fields = text.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard fields.count == 3, let day = IMAPDay(String(fields[0])) else { return nil }
        let clock = fields[1].split(separator: ":").compactMap { Int($0) }
        let zone = fields[2]
        guard clock.count == 3, clock[0] < 24, clock[1] < 60, clock[2] < 61, zone.count == 5,
              let sign = zone.first, sign == "+" || sign == "-", let offset = Int(zone.dropFirst()) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        guard let midnight = calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day)) else { return nil }
        let zoneSeconds = (offset / 100 * 3600 + offset % 100 * 60) * (sign == "-" ? -1 : 1)
        return midnight.addingTimeInterval(TimeInterval(clock[0] * 3600 + clock[1] * 60 + clock[2] - zoneSeconds))
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
