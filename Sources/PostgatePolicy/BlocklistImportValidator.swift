import PostgateMessage

/// Checks the records of a blocklist CSV file one by one, building the
/// `BlocklistImportReport` shown before anything is saved.
///
/// The first non-blank record decides the layout. With several columns it is the header
/// and `column` names the one holding the addresses (required: a guess could block the
/// wrong people). With one column no mapping is needed; its first row is a header only if
/// it equals `column` or is a word that cannot be an entry (`email`, `Blocked address`).
public struct BlocklistImportValidator: Sendable {
    private let column: String?
    private let existing: Set<String>
    private var columnIndex: Int?
    private var firstLines: [String: Int] = [:]
    public private(set) var report = BlocklistImportReport()

    /// - Parameters:
    ///   - column: the header of the column to read (`--column`), matched ignoring case.
    ///   - existing: the `value`s of the entries already in the blocklist.
    public init(column: String?, existing: Set<String>) {
        self.column = column
        self.existing = existing
    }

    /// Takes the next record of the file.
    /// - Throws: `BlocklistImportError` when the file's columns do not allow an import.
    public mutating func take(_ record: CSVRecord) throws(BlocklistImportError) {
        if record.isBlank { return }
        guard let index = columnIndex else {
            try readLayout(record)
            return
        }
        report.rows += 1
        guard index < record.fields.count else {
            report.errors.append(.init(line: record.line, text: "", reason: "no field in column \(index + 1)\(report.column.map { " ('\($0)')" } ?? "")"))
            return
        }
        check(record.fields[index], line: record.line)
    }

    /// Ends the file: a file with no data rows is an error.
    public func finish() throws(BlocklistImportError) -> BlocklistImportReport {
        guard columnIndex != nil else { throw .empty }
        return report
    }

    private mutating func readLayout(_ record: CSVRecord) throws(BlocklistImportError) {
        let names = record.fields.map { $0.trimmingSpaces() }
        if names.count > 1 {
            guard let column else { throw .columnRequired(columns: names) }
            guard let index = names.firstIndex(where: { $0.lowercased() == column.lowercased() }) else {
                throw .unknownColumn(column, columns: names)
            }
            columnIndex = index
            report.column = names[index]
            return
        }
        columnIndex = 0
        let first = names[0]
        let namesColumn = first.lowercased() == column?.lowercased()
        guard namesColumn || isHeaderWord(first) else {
            take(dataRow: record)
            return
        }
        if let column, !namesColumn { throw .unknownColumn(column, columns: names) }
        report.column = first
    }

    private mutating func take(dataRow record: CSVRecord) {
        report.rows += 1
        check(record.fields[0], line: record.line)
    }

    /// A header cell: not an entry, and no `@` or `.` that would make it a mistyped one.
    private func isHeaderWord(_ text: String) -> Bool {
        !text.contains("@") && !text.contains(".") && (try? BlocklistEntry(parsing: text)) == nil
    }

    private mutating func check(_ text: String, line: Int) {
        let entry: BlocklistEntry
        do {
            entry = try BlocklistEntry(parsing: text)
        } catch {
            report.errors.append(.init(line: line, text: text, reason: error.description))
            return
        }
        if let first = firstLines[entry.value] {
            report.duplicatesInFile.append(.init(line: line, text: text, reason: "\(entry.display) duplicates line \(first)"))
        } else if existing.contains(entry.value) {
            firstLines[entry.value] = line
            report.alreadyListed.append(.init(line: line, text: text, reason: "\(entry.display) is already in the blocklist"))
        } else {
            firstLines[entry.value] = line
            report.valid.append(.init(line: line, entry: entry))
        }
    }
}

/// Why a CSV file cannot be imported at all.
public enum BlocklistImportError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case columnRequired(columns: [String])
    case unknownColumn(String, columns: [String])

    public var description: String {
        switch self {
        case .empty:
            "the file has no rows"
        case .columnRequired(let columns):
            "the file has \(columns.count) columns (\(Self.list(columns))); name the one holding the addresses with --column NAME"
        case .unknownColumn(let name, let columns):
            "the file has no column '\(name)'; its columns are \(Self.list(columns))"
        }
    }

    private static func list(_ columns: [String]) -> String {
        columns.map { "'\($0)'" }.joined(separator: ", ")
    }
}
