import Foundation

/// A daily window in which a receiving gateway does not connect (a provider's maintenance
/// hours, say), `HH:MM-HH:MM` in a time zone. A window whose end is before its start
/// passes midnight: `22:00-02:00` covers the two hours either side of it.
public struct SkipWindow: Sendable, Equatable, CustomStringConvertible {
    /// Minutes after midnight; `start` is inside the window, `end` is not.
    public let start: Int
    public let end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// Parses `HH:MM-HH:MM` (24-hour clock); nil if malformed or empty (start equal to end).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Self.minutes(parts[0]), let end = Self.minutes(parts[1]), start != end else {
            return nil
        }
        self.start = start
        self.end = end
    }

    private static func minutes(_ text: Substring) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute) else {
            return nil
        }
        return hour * 60 + minute
    }

    public var description: String {
        String(format: "%02d:%02d-%02d:%02d", start / 60, start % 60, end / 60, end % 60)
    }

    /// Whether `minute` (after midnight) falls in the window.
    public func contains(minute: Int) -> Bool {
        start < end ? (start..<end).contains(minute) : (minute >= start || minute < end)
    }

    /// If `date` is inside one of `windows` (read on the wall clock of `timeZone`), the
    /// moment the last of the overlapping windows ends; nil when outside all.
    public static func end(of windows: [SkipWindow], at date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var moment = date
        var inside = false
        // Windows may chain (`01:00-02:00`, `02:00-03:00`): step to each end until outside.
        for _ in 0...windows.count {
            let parts = calendar.dateComponents([.hour, .minute], from: moment)
            let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
            guard let window = windows.first(where: { $0.contains(minute: minute) }) else { break }
            inside = true
            let remaining = (window.end - minute + 24 * 60) % (24 * 60)
            let startOfMinute = Date(timeIntervalSince1970: (moment.timeIntervalSince1970 / 60).rounded(.down) * 60)
            moment = startOfMinute.addingTimeInterval(Double(remaining) * 60)
        }
        return inside ? moment : nil
    }
}
