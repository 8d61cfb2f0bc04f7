/// One record of a CSV file: its fields and the line it starts on (1-based, counting
/// every line break, also those inside quoted fields).
public struct CSVRecord: Sendable, Equatable {
    public var line: Int
    public var fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }

    /// True for an empty line (one empty field) or a row of fields holding only spaces and tabs.
    public var isBlank: Bool {
        fields.allSatisfy { $0.utf8.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") } }
    }
}

/// Why a CSV file cannot be read, with the line to look at.
public enum CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    case textAfterClosingQuote(line: Int)
    case unterminatedQuote(line: Int)
    case recordTooLong(line: Int, limit: Int)
    /// Bytes that are not UTF-8 text (or a NUL): not a CSV file, or one in another encoding.
    case notText(line: Int)

    public var description: String {
        switch self {
        case .textAfterClosingQuote(let line):
            "line \(line): text after the closing quote of a field (write a quote inside a quoted field as \"\")"
        case .unterminatedQuote(let line):
            "line \(line): a quoted field is never closed"
        case .recordTooLong(let line, let limit):
            "line \(line): the record is longer than \(limit) bytes"
        case .notText(let line):
            "line \(line): not UTF-8 text (is this a CSV file? save it as CSV UTF-8)"
        }
    }
}
