import Foundation

/// A calendar day as IMAP writes it (`1-Feb-1994`, RFC 9051 section 9, `date`), for the
/// date search keys, which compare days without time or zone (section 6.4.4).
public struct IMAPDay: Sendable, Equatable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses `d-Mon-yyyy` or `dd-Mon-yyyy`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let day = Int(parts[0]), let year = Int(parts[2]), (1...31).contains(day), (1...9999).contains(year),
              let month = Self.monthNames.firstIndex(where: { $0.lowercased() == parts[1].lowercased() })
        else { return nil }
        self.init(year: year, month: month + 1, day: day)
    }

    /// The day of `date` in UTC offset `secondsFromGMT`.
    public init(_ date: Date, secondsFromGMT: Int = 0) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: secondsFromGMT) ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        self.init(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }
}
