/// What a blocklist CSV import found, before anything is saved: the new entries, the
/// duplicates (within the file and against the entries already listed) and the rows in
/// error, each with its line number.
///
/// The JSON form (`postgate blocklist import --json`) has the keys `column`, `rows`,
/// `valid`, `duplicatesInFile`, `alreadyListed`, `errors`, `saved` and `dryRun`.
public struct BlocklistImportReport: Sendable, Equatable, Codable {
    /// A row that will not be saved, and why.
    public struct Issue: Sendable, Equatable, Codable {
        public var line: Int
        public var text: String
        public var reason: String
    }

    /// A row that will be saved.
    public struct ValidRow: Sendable, Equatable, Codable {
        public var line: Int
        public var entry: BlocklistEntry
    }

    /// The column read (its header), nil for a file of one column without a header.
    public var column: String?
    /// Data rows read (not counting the header and blank lines).
    public var rows = 0
    public var valid: [ValidRow] = []
    public var duplicatesInFile: [Issue] = []
    public var alreadyListed: [Issue] = []
    public var errors: [Issue] = []
    /// True once the valid rows are saved (all of them, in one transaction).
    public var saved = false
    public var dryRun = false

    public init() {}

    /// Problem lines the summary shows; `--json` has every one.
    public static let issuesShown = 100

    public var entries: [BlocklistEntry] { valid.map(\.entry) }

    /// A summary and every problem, one per line, for people.
    public var summary: String {
        var lines = [
            "\(rows) rows read\(column.map { " from column '\($0)'" } ?? ""): \(valid.count) valid, "
                + "\(duplicatesInFile.count) duplicates in the file, \(alreadyListed.count) already listed, \(errors.count) errors",
        ]
        let issues = (errors + duplicatesInFile + alreadyListed).sorted(by: { $0.line < $1.line })
        for issue in issues.prefix(Self.issuesShown) {
            lines.append("  line \(issue.line): \(issue.reason)")
        }
        if issues.count > Self.issuesShown {
            lines.append("  … and \(issues.count - Self.issuesShown) more (--json lists them all)")
        }
        return lines.joined(separator: "\n")
    }
}
