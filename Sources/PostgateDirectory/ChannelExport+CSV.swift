import Foundation
import PostgateCSV
import PostgatePolicy
import PostgateMaildir

/// The CSV form of a channel export: five tables (RFC 4180: comma-separated, fields with a
/// comma, quote or line break quoted, CRLF line ends, a header row), written by `CSVWriter`
/// and read by `CSVParser` (errors name the file and line). Each address setting
/// has a column; texts are written as they are, other values (booleans, numbers, lists) and
/// the draft as JSON in their cell; an empty cell is an absent value.
public enum ChannelCSV {
    public static let fileNames = ["domains.csv", "queues.csv", "addresses.csv", "filters.csv", "blocklist.csv"]
    /// Files an import may lack: an export written before blocklists were part of it.
    package static let optionalFileNames: Set<String> = ["blocklist.csv"]
    package static let blocklistColumns = ["address", "kind", "entry"]

    /// The settings whose values are texts (written raw); the others are JSON.
    package static let textKeys: Set<String> = [
        "displayName", "usage", "contactCard", "templateHeaderText", "templateHeaderHTML", "templateFooterText",
        "templateFooterHTML", "defaultQueue", "contactCentreAddress", "sessionMode",
        "autoReplyInText", "autoReplyInHTML", "autoReplyOutText", "autoReplyOutHTML",
    ]
    package static var settingKeys: [String] { ChannelSettings.CodingKeys.allCases.map(\.stringValue) }

    /// The five files, by name.
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
        let blocklist = [blocklistColumns] + (export.blocklist ?? []).map { [$0.address, $0.kind.rawValue, $0.entry] }
        return zip(fileNames, [domains, queues, addresses, filters, blocklist]).map { ($0, CSVWriter.write($1)) }
    }

    /// Reads the files (by name, as `tables` writes them) back into an export. Without
    /// `blocklist.csv` the export's `blocklist` is nil (an import leaves blocklists alone).
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
        if files["blocklist.csv"] != nil {
            export.blocklist = try rows(files, "blocklist.csv", blocklistColumns).map { row throws(StoreError) in
                guard let kind = BlocklistEntry.Kind(rawValue: row["kind"]) else { throw row.error("kind must be address or domain") }
                return .init(address: row["address"], kind: kind, entry: row["entry"])
            }
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
        let records: [CSVRecord]
        do { records = try CSVParser.records(Array(text.utf8)).filter { !$0.isBlank } } catch {
            throw .invalidSetting("\(name): \(error)")
        }
        guard let header = records.first?.fields else { throw .invalidSetting("\(name) is empty; it needs at least its header row") }
        let missing = columns.filter { !header.contains($0) }
        guard missing.isEmpty else { throw .invalidSetting("\(name) lacks the column(s) \(missing.joined(separator: ", "))") }
        let index = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return records.dropFirst().map { CSVRow(file: name, line: $0.line, cells: $0.fields, index: index) }
    }
}

/// One record of an import file, with where it came from for error messages.
package struct CSVRow {
    package var file: String
    package var line: Int
    package var cells: [String]
    package var index: [String: Int]

    package subscript(column: String) -> String {
        index[column].flatMap { $0 < cells.count ? cells[$0] : nil } ?? ""
    }

    package func optional(_ column: String) -> String? {
        let value = self[column]
        return value.isEmpty ? nil : value
    }

    package func error(_ reason: String) -> StoreError {
        .invalidSetting("\(file) line \(line): \(reason)")
    }
}
