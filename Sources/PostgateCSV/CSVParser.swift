/// A streaming CSV parser (RFC 4180): bytes in, records out, in chunks of any size.
///
/// - Fields are separated by `,`; records end at CRLF, LF or a lone CR.
/// - A field in double quotes may hold commas, line breaks and `""` for one quote
///   (RFC 4180 section 2, rules 5–7); text after its closing quote is an error.
/// - A UTF-8 byte order mark at the very start is skipped (Excel writes one).
/// - Memory is bounded: a record longer than `maxRecordBytes` is an error.
/// - Fields are UTF-8 text: other bytes (binary data, another encoding) are an error.
///
/// The parser is a value-type state machine; `CSVFileReader` feeds it from a file.
public struct CSVParser: Sendable {
    private enum State: Sendable {
        case fieldStart, unquoted, quoted, quoteInQuoted, afterCR
    }

    public let maxRecordBytes: Int
    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var fields: [String] = []
    private var recordBytes = 0
    private var line = 1
    private var recordLine = 1
    private var quoteLine = 1
    private var bomBytesSeen = 0
    private var started = false

    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    public init(maxRecordBytes: Int = 1 << 20) {
        self.maxRecordBytes = maxRecordBytes
    }

    /// Parses `bytes`, calling `emit` for every record completed by them.
    public mutating func parse(
        _ bytes: UnsafeRawBufferPointer, emit: (CSVRecord) throws -> Void
    ) throws {
        for byte in bytes {
            if !started, try skipBOM(byte, emit: emit) { continue }
            try consume(byte, emit: emit)
        }
    }

    /// Parses bytes held in an array (tests, small inputs).
    public mutating func parse(_ bytes: [UInt8], emit: (CSVRecord) throws -> Void) throws {
        try bytes.withUnsafeBytes { try parse($0, emit: emit) }
    }

    /// Ends the input: emits the last record if it had no line break after it.
    public mutating func finish(emit: (CSVRecord) throws -> Void) throws {
        if !started { try replayBOMPrefix(emit: emit) }
        switch state {
        case .quoted:
            throw CSVError.unterminatedQuote(line: quoteLine)
        case .afterCR:
            return
        case .fieldStart where fields.isEmpty && field.isEmpty:
            return
        default:
            try endRecord(emit: emit)
        }
    }

    /// Parses a whole input in memory.
    public static func records(_ bytes: [UInt8]) throws -> [CSVRecord] {
        var parser = CSVParser()
        var records: [CSVRecord] = []
        try parser.parse(bytes) { records.append($0) }
        try parser.finish { records.append($0) }
        return records
    }

    // MARK: - State machine

    /// Swallows a leading byte order mark; true if `byte` was part of it.
    private mutating func skipBOM(_ byte: UInt8, emit: (CSVRecord) throws -> Void) throws -> Bool {
        if byte == Self.bom[bomBytesSeen] {
            bomBytesSeen += 1
            if bomBytesSeen == Self.bom.count { started = true }
            return true
        }
        try replayBOMPrefix(emit: emit)
        return false
    }

    /// A partial BOM was ordinary data after all.
    private mutating func replayBOMPrefix(emit: (CSVRecord) throws -> Void) throws {
        started = true
        for byte in Self.bom.prefix(bomBytesSeen) { try consume(byte, emit: emit) }
    }

    private mutating func consume(_ byte: UInt8, emit: (CSVRecord) throws -> Void) throws {
        recordBytes += 1
        if recordBytes > maxRecordBytes { throw CSVError.recordTooLong(line: recordLine, limit: maxRecordBytes) }
        switch state {
        case .afterCR:
            state = .fieldStart
            if byte == UInt8(ascii: "\n") { recordBytes = 0; return }
            try consume(byte, emit: emit)
        case .fieldStart:
            if byte == UInt8(ascii: "\"") {
                state = .quoted
                quoteLine = line
            } else {
                try plain(byte, emit: emit)
            }
        case .unquoted:
            try plain(byte, emit: emit)
        case .quoted:
            if byte == UInt8(ascii: "\"") {
                state = .quoteInQuoted
            } else {
                if byte == UInt8(ascii: "\n") { line += 1 }
                field.append(byte)
            }
        case .quoteInQuoted:
            if byte == UInt8(ascii: "\"") {
                field.append(byte)
                state = .quoted
            } else if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
                try plain(byte, emit: emit)
            } else {
                throw CSVError.textAfterClosingQuote(line: line)
            }
        }
    }

    /// A byte outside quotes: a separator, a line break or field text.
    private mutating func plain(_ byte: UInt8, emit: (CSVRecord) throws -> Void) throws {
        switch byte {
        case UInt8(ascii: ","):
            try endField()
            state = .fieldStart
        case UInt8(ascii: "\n"):
            try endRecord(emit: emit)
            line += 1
            state = .fieldStart
        case UInt8(ascii: "\r"):
            try endRecord(emit: emit)
            line += 1
            state = .afterCR
        default:
            field.append(byte)
            state = .unquoted
        }
    }

    /// Ends a field; bytes that are not UTF-8 text, or a NUL, are refused rather than
    /// read as replacement characters.
    private mutating func endField() throws {
        guard !field.contains(0), let text = String(validating: field, as: UTF8.self) else {
            throw CSVError.notText(line: recordLine)
        }
        fields.append(text)
        field.removeAll(keepingCapacity: true)
    }

    private mutating func endRecord(emit: (CSVRecord) throws -> Void) throws {
        try endField()
        let record = CSVRecord(line: recordLine, fields: fields)
        fields.removeAll(keepingCapacity: true)
        recordBytes = 0
        recordLine = line + 1
        try emit(record)
    }
}
