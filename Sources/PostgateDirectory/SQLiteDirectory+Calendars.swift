import Foundation
import GRDB
import PostgateMaildir
import PostgatePolicy

/// A working calendar with its name, as stored.
public struct CalendarRecord: Sendable, Codable, Equatable {
    public var name: String
    public var calendar: WorkingCalendar

    public init(name: String, calendar: WorkingCalendar) {
        self.name = name
        self.calendar = calendar
    }

    /// The calendar addresses without one of their own use.
    public static let defaultName = "default"
}

extension SQLiteDirectory {
    /// Adds or replaces a calendar (checked first; a refused one changes nothing).
    package func setCalendar(_ name: String, _ calendar: WorkingCalendar) throws(StoreError) -> CalendarRecord {
        try ChannelSettings.checkChannelName(name, what: "calendar name")
        let checked: WorkingCalendar
        do { checked = try calendar.validated() } catch { throw StoreError.invalidSetting(error.description) }
        return try database.write { db in
            try db.execute(cachedSQL: "INSERT OR REPLACE INTO calendar (name, settings, updated_at) VALUES (?, ?, ?)",
                           arguments: [name, try Self.encode(checked), Date().timeIntervalSince1970])
            return CalendarRecord(name: name, calendar: checked)
        }
    }

    package func calendars() throws(StoreError) -> [CalendarRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: "SELECT name, settings FROM calendar ORDER BY name").map { row in
                CalendarRecord(name: row["name"], calendar: try JSONDecoder().decode(WorkingCalendar.self, from: Data((row["settings"] as String).utf8)))
            }
        }
    }

    /// Removes a calendar no address uses (published or drafted).
    package func removeCalendar(_ name: String) throws(StoreError) {
        try database.write { db in
            let users = try addressNames(db, sql: """
                SELECT address.local_part, domain.name FROM address JOIN domain ON domain.id = address.domain_id
                WHERE address.calendar = ? COLLATE NOCASE
                """, arguments: [name])
            guard users.isEmpty else {
                throw StoreError.invalidSetting("calendar \(name) is the calendar of \(users.joined(separator: ", ")); give them another first")
            }
            try db.execute(cachedSQL: "DELETE FROM calendar WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { throw StoreError.invalidSetting("there is no calendar \(name); see `postgate calendar list`") }
        }
    }

    /// The calendar's stored name (its case), or an error naming the calendars there are.
    package func requireCalendar(_ db: Database, _ name: String) throws -> String {
        if let stored = try String.fetchOne(db, cachedSQL: "SELECT name FROM calendar WHERE name = ?", arguments: [name]) { return stored }
        throw StoreError.invalidSetting("there is no calendar \(name); add it with `postgate calendar set \(name) …`")
    }
}
