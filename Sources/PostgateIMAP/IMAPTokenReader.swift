/// Reads the lexical items of a command (RFC 9051 section 9: atoms, quoted strings,
/// literals, numbers, lists) from a decoded frame, where a literal's octets are the part
/// after the line that announced it.
struct IMAPTokenReader {
    private let parts: [IMAPFrameDecoder.Frame.Part]
    private var partIndex = 0
    private var bytes: [UInt8]
    private var position = 0
    /// Parentheses open now; bounded by `maxDepth`.
    private(set) var depth = 0
    /// Search keys being parsed inside each other (NOT, OR, lists); bounded by `maxDepth`.
    var keyDepth = 0
    let maxDepth: Int

    init(_ frame: IMAPFrameDecoder.Frame, maxDepth: Int = 32) {
        parts = frame.parts
        if case .text(let first)? = frame.parts.first { bytes = first } else { bytes = [] }
        self.maxDepth = maxDepth
    }

    var atEnd: Bool { position >= bytes.count && partIndex >= parts.count - 1 }
    var atLineEnd: Bool { position >= bytes.count }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func take(_ character: Character) -> Bool {
        guard peek() == character.asciiValue else { return false }
        position += 1
        return true
    }

    mutating func expect(_ character: Character) throws(IMAPParseError) {
        guard take(character) else { throw IMAPParseError("expected '\(character)'") }
    }

    mutating func space() throws(IMAPParseError) { try expect(" ") }

    mutating func expectEnd() throws(IMAPParseError) {
        guard atEnd else { throw IMAPParseError("unexpected characters after the command") }
    }

    mutating func open() throws(IMAPParseError) {
        try expect("(")
        depth += 1
        guard depth <= maxDepth else { throw IMAPParseError("too many nested parentheses") }
    }

    mutating func close() throws(IMAPParseError) {
        try expect(")")
        depth -= 1
    }

    /// An atom: one or more characters other than `(){ %*"\` , `]` and controls.
    mutating func atom(allowing extra: Set<UInt8> = [], stoppingAt stops: Set<UInt8> = []) throws(IMAPParseError) -> String {
        let start = position
        while let byte = peek(), (Self.isAtomChar(byte) || extra.contains(byte)) && !stops.contains(byte) { position += 1 }
        guard position > start else { throw IMAPParseError("expected an atom") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    static func isAtomChar(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte != 0x7F else { return false }
        return !"(){ %*\"\\]".utf8.contains(byte)
    }

    /// A quoted string or a literal (`string`).
    mutating func string() throws(IMAPParseError) -> [UInt8] {
        if take("\"") { return try quotedRest() }
        if peek() == UInt8(ascii: "{") { return try literal() }
        throw IMAPParseError("expected a string")
    }

    /// `astring`: an atom (with `]` allowed) or a string.
    mutating func astring() throws(IMAPParseError) -> String {
        if peek() == UInt8(ascii: "\"") || peek() == UInt8(ascii: "{") {
            return String(decoding: try string(), as: UTF8.self)
        }
        return try atom(allowing: [UInt8(ascii: "]")])
    }

    /// A mailbox name or list pattern: an astring that may also hold `%` and `*`.
    mutating func listMailbox() throws(IMAPParseError) -> String {
        if peek() == UInt8(ascii: "\"") || peek() == UInt8(ascii: "{") {
            return String(decoding: try string(), as: UTF8.self)
        }
        return try atom(allowing: [UInt8(ascii: "]"), UInt8(ascii: "%"), UInt8(ascii: "*")])
    }

    mutating func number() throws(IMAPParseError) -> UInt32 {
        guard let value = UInt32(try digits(upTo: 10)) else { throw IMAPParseError("expected a number") }
        return value
    }

    /// `mod-sequence-valzer`: 0 or a positive 63-bit number (RFC 7162 section 7).
    mutating func modSequence() throws(IMAPParseError) -> UInt64 {
        guard let value = UInt64(try digits(upTo: 19)), value <= UInt64(Int64.max) else {
            throw IMAPParseError("expected a mod-sequence")
        }
        return value
    }

    private mutating func digits(upTo limit: Int) throws(IMAPParseError) -> String {
        let start = position
        while let byte = peek(), (48...57).contains(byte) { position += 1 }
        guard position > start, position - start <= limit else { throw IMAPParseError("expected a number") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    mutating func sequenceSet() throws(IMAPParseError) -> IMAPSequenceSet {
        var ranges: [(IMAPSequenceSet.Bound, IMAPSequenceSet.Bound)] = []
        repeat {
            let low = try bound()
            let high = take(":") ? try bound() : low
            ranges.append((low, high))
            guard ranges.count <= 10_000 else { throw IMAPParseError("sequence set too long") }
        } while take(",")
        return IMAPSequenceSet(ranges: ranges)
    }

    private mutating func bound() throws(IMAPParseError) -> IMAPSequenceSet.Bound {
        if take("*") { return .star }
        let value = try number()
        guard value > 0 else { throw IMAPParseError("0 is not a valid message number") }
        return .number(value)
    }

    /// `( item SP item … )` with `item` read by `read`; `()` is an empty list.
    mutating func parenthesized<T>(_ read: (inout IMAPTokenReader) throws(IMAPParseError) -> T) throws(IMAPParseError) -> [T] {
        try open()
        var items: [T] = []
        if take(")") {
            depth -= 1
            return items
        }
        repeat {
            items.append(try read(&self))
        } while take(" ")
        try close()
        return items
    }

    /// A flag: `\Word` or a keyword atom.
    mutating func flag() throws(IMAPParseError) -> String {
        if take("\\") {
            if take("*") { return "\\*" }
            return "\\" + (try atom())
        }
        return try atom()
    }

    // MARK: - Strings

    private mutating func quotedRest() throws(IMAPParseError) -> [UInt8] {
        var result: [UInt8] = []
        while let byte = peek() {
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return result
            case UInt8(ascii: "\\"):
                guard let next = peek(), next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") else {
                    throw IMAPParseError("bad escape in a quoted string")
                }
                result.append(next)
                position += 1
            default:
                result.append(byte)
            }
        }
        throw IMAPParseError("unterminated quoted string")
    }

    /// `{n}` / `{n+}` closing this line whose octets were streamed to a spool file
    /// (`IMAPFrameDecoder.Frame.Part.streamed`): their count; nil if none is here.
    mutating func streamedLiteral() -> Int? {
        guard peek() == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}"),
              partIndex + 2 < parts.count, case .streamed(let size) = parts[partIndex + 1],
              case .text(let next) = parts[partIndex + 2]
        else { return nil }
        partIndex += 2
        bytes = next
        position = 0
        return size
    }

    /// `{n}` / `{n+}` closing this line; the octets are the next part.
    private mutating func literal() throws(IMAPParseError) -> [UInt8] {
        guard let close = bytes[position...].firstIndex(of: UInt8(ascii: "}")), close == bytes.count - 1,
              partIndex + 2 < parts.count, case .literal(let octets) = parts[partIndex + 1],
              case .text(let next) = parts[partIndex + 2]
        else { throw IMAPParseError("bad literal") }
        partIndex += 2
        bytes = next
        position = 0
        return octets
    }
}

/// Why a command could not be parsed; answered with tagged BAD.
public struct IMAPParseError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
