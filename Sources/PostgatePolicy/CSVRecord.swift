import PostgateMessage

/// One record of a CSV file: its fields and the line it starts on (1-based, counting
/// every line break, also those inside quoted fields).
public struct CSVRecord: Sendable, Equatable {
    public var line: Int
    public var fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }

    /// True for an empty line (one empty field) or a row of empty fields.
    public var isBlank: Bool { fields.allSatisfy { $0.trimmingSpaces().isEmpty } }
}

/// Why a CSV file cannot be read, with the line to look at.
public enum CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    case textAfterClosingQuote(line: Int)
    case unterminatedQuote(line: Int)
    case recordTooLong(line: Int, limit: Int)

    public var description: String {
        switch self {
        case .textAfterClosingQuote(let line):
            "line \(line): text after the closing quote of a field (write a quote inside a quoted field as \"\")"
        case .unterminatedQuote(let line):
            "line \(line): a quoted field is never closed"
        case .recordTooLong(let line, let limit):
            "line \(line): the record is longer than \(limit) bytes"
        }
    }
}
