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
        var header = MessageHeader()
        var current: [UInt8] = []
        var line: [UInt8] = []
        func flushField() {
            defer { current.removeAll(keepingCapacity: true) }
            guard let colon = current.firstIndex(of: UInt8(ascii: ":")) else { return }
            let name = String(decoding: current[..<colon], as: UTF8.self).trimmingSpaces()
            guard !name.isEmpty, !name.contains(" ") else { return }
            let value = String(decoding: current[(colon + 1)...], as: UTF8.self).trimmingSpaces()
            header.fields.append(Field(name: name, value: value))
        }
        /// Adds a complete line; false at the empty line that ends the header section.
        func take() -> Bool {
            defer { line.removeAll(keepingCapacity: true) }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.isEmpty { return false }
            if line[0] == UInt8(ascii: " ") || line[0] == UInt8(ascii: "\t") {
                current.append(contentsOf: line)
            } else {
                flushField()
                current = line
            }
            return true
        }
        var ended = false
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else {
                line.append(byte)
                continue
            }
            if !take() {
                ended = true
                break
            }
        }
        // A last line without a line break still belongs to the header.
        if !ended, !line.isEmpty { _ = take() }
        flushField()
        return header
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
