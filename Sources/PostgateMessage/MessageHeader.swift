/// The header section of an RFC 5322 message, split into fields.
///
/// Parsing is lenient (mail in the wild is not always well formed) but bounded: it reads
/// only the bytes it is given, unfolds continuation lines (RFC 5322 section 2.2.3) and
/// keeps each field's raw value. Field names compare case-insensitively.
public struct MessageHeader: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        /// The unfolded value without the leading space after the colon.
        public var value: String
    }

    public private(set) var fields: [Field] = []

    public init(fields: [Field] = []) {
        self.fields = fields
    }

    /// Parses the header section at the start of `bytes`, stopping at the first empty line.
    /// Lines may end in CRLF or LF; a last line without a line break is kept.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) -> MessageHeader where Bytes.Element == UInt8 {
        // Every message's header is parsed on the delivery path: lines are found with one
        // scan each and copied whole, never byte by byte through a generic collection.
        if let header = bytes.withContiguousStorageIfAvailable(parse(contiguous:)) { return header }
        return Array(bytes).withUnsafeBufferPointer(parse(contiguous:))
    }

    private static func parse(contiguous bytes: UnsafeBufferPointer<UInt8>) -> MessageHeader {
        var header = MessageHeader()
        // The current field, its continuation lines appended as they are (unfolding).
        var current: [UInt8] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            var end = newline
            if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if end == start { break }  // the empty line that ends the header section
            let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if line[0] != UInt8(ascii: " "), line[0] != UInt8(ascii: "\t") {
                header.appendField(current)
                current.removeAll(keepingCapacity: true)
            }
            current.append(contentsOf: line)
            start = newline + 1
        }
        header.appendField(current)
        return header
    }

    /// Adds the field in `text` (`name: value`, unfolded); ignores text that is no field.
    private mutating func appendField(_ text: [UInt8]) {
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = Self.trimmed(text[..<colon])
        guard !name.isEmpty, !name.contains(UInt8(ascii: " ")) else { return }
        fields.append(Field(name: String(decoding: name, as: UTF8.self),
                            value: String(decoding: Self.trimmed(text[(colon + 1)...]), as: UTF8.self)))
    }

    /// `bytes` without leading and trailing space, tab and CR (as `trimmingSpaces`).
    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return bytes[first...last]
    }

    /// The value of the first field called `name`.
    public subscript(name: String) -> String? {
        fields.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    /// Every value of the fields called `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }
}
