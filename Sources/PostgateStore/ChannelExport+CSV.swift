import Foundation

/// The CSV form of a channel export: four tables (RFC 4180: comma-separated, fields with a
/// comma, quote or line break quoted, CRLF line ends, a header row). Each address setting
/// has a column; texts are written as they are, other values (booleans, numbers, lists) and
/// the draft as JSON in their cell; an empty cell is an absent value.
public enum ChannelCSV {
    public static let fileNames = ["domains.csv", "queues.csv", "addresses.csv", "filters.csv"]

    /// The settings whose values are texts (written raw); the others are JSON.
    static let textKeys: Set<String> = [
        "displayName", "usage", "contactCard", "templateHeaderText", "templateHeaderHTML", "templateFooterText",
        "templateFooterHTML", "defaultQueue", "contactCentreAddress", "sessionMode",
    ]
    static var settingKeys: [String] { ChannelSettings.CodingKeys.allCases.map(\.stringValue) }

    /// The four files, by name.
    public static func tables(of export: ChannelExport) -> [(String, String)] {
        let domains = [["name", "kind"]] + export.domains.map { [$0.name, $0.kind.rawValue] }
        let queues = [["name", "description", "privateSeen"]] + export.queues.map {
            [$0.name, $0.description ?? "", $0.privateSeen == true ? "true" : ""]
        }
        let addresses = [["email"] + settingKeys + ["draft"]] + export.addresses.map { entry in
            [entry.email] + cells(of: entry.settings) + [entry.draft.map(json) ?? ""]
        }
        let filters = [["address", "position", "field", "keyword", "queue"]] + export.filters.map {
            [$0.address, String($0.position), $0.field.rawValue, $0.keyword, $0.queue]
        }
        return zip(fileNames, [domains, queues, addresses, filters]).map { ($0, CSVFormat.write($1)) }
    }

    /// Reads the four files (by name, as `tables` writes them) back into an export.
    /// - Throws: `.invalidSetting` naming the file, line and what is wrong.
    public static func export(from files: [String: String]) throws(StoreError) -> ChannelExport {
        var export = ChannelExport()
        export.domains = try rows(files, "domains.csv", ["name", "kind"]).map { row throws(StoreError) in
            guard let kind = DomainKind(rawValue: row["kind"]) else { throw row.error("kind must be hosted, standard or advanced") }
            return .init(name: row["name"], kind: kind)
        }
        // privateSeen is optional: files written before it existed still import.
        export.queues = try rows(files, "queues.csv", ["name", "description"]).map { row throws(StoreError) in
            guard let seen = row.optional("privateSeen") else { return .init(name: row["name"], description: row.optional("description")) }
            guard let value = Bool(seen) else { throw row.error("privateSeen must be true or false") }
            return .init(name: row["name"], description: row.optional("description"), privateSeen: value ? true : nil)
        }
        export.addresses = try rows(files, "addresses.csv", ["email"] + settingKeys + ["draft"]).map { row throws(StoreError) in
            .init(email: row["email"], settings: try settings(from: row),
                  draft: try row.optional("draft").map { text throws(StoreError) in try decode(text, row: row) })
        }
        export.filters = try rows(files, "filters.csv", ["address", "position", "field", "keyword", "queue"]).map { row throws(StoreError) in
            guard let position = Int(row["position"]), let field = FilterRule.Field(rawValue: row["field"]) else {
                throw row.error("position must be a number and field sender, subject or body")
            }
            return .init(address: row["address"], position: position, field: field, keyword: row["keyword"], queue: row["queue"])
        }
        return export
    }

    private static func cells(of settings: ChannelSettings) -> [String] {
        let object = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(settings))) as? [String: Any] ?? [:]
        return settingKeys.map { key in
            switch object[key] {
            case nil, is NSNull: ""
            case let text as String where textKeys.contains(key): text
            case let value?: (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
        }
    }

    private static func settings(from row: CSVRow) throws(StoreError) -> ChannelSettings {
        var object: [String: Any] = [:]
        for key in settingKeys {
            guard let cell = row.optional(key) else { continue }
            if textKeys.contains(key) {
                object[key] = cell
            } else if let value = try? JSONSerialization.jsonObject(with: Data(cell.utf8), options: [.fragmentsAllowed]) {
                object[key] = value
            } else {
                throw row.error("\(key) holds '\(cell)', which is not a value of that setting")
            }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { throw row.error("unreadable settings") }
        return try decode(String(decoding: data, as: UTF8.self), row: row)
    }

    private static func decode(_ text: String, row: CSVRow) throws(StoreError) -> ChannelSettings {
        do { return try JSONDecoder().decode(ChannelSettings.self, from: Data(text.utf8)) } catch {
            throw row.error("settings do not fit: \(error)")
        }
    }

    private static func json(_ settings: ChannelSettings) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(settings)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private static func rows(_ files: [String: String], _ name: String, _ columns: [String]) throws(StoreError) -> [CSVRow] {
        guard let text = files[name] else { throw .invalidSetting("the import has no \(name)") }
        let records: [[String]]
        do { records = try CSVFormat.read(text) } catch { throw .invalidSetting("\(name): \(error.description)") }
        guard let header = records.first else { throw .invalidSetting("\(name) is empty; it needs at least its header row") }
        let missing = columns.filter { !header.contains($0) }
        guard missing.isEmpty else { throw .invalidSetting("\(name) lacks the column(s) \(missing.joined(separator: ", "))") }
        let index = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return records.dropFirst().enumerated().map { CSVRow(file: name, line: $0.offset + 2, cells: $0.element, index: index) }
    }
}

/// One record of an import file, with where it came from for error messages.
struct CSVRow {
    var file: String
    var line: Int
    var cells: [String]
    var index: [String: Int]

    subscript(column: String) -> String {
        index[column].flatMap { $0 < cells.count ? cells[$0] : nil } ?? ""
    }

    func optional(_ column: String) -> String? {
        let value = self[column]
        return value.isEmpty ? nil : value
    }

    func error(_ reason: String) -> StoreError {
        .invalidSetting("\(file) record \(line - 1): \(reason)")
    }
}
