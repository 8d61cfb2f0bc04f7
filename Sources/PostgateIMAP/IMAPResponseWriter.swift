/// Builds response bytes (RFC 9051 section 7): quoted strings where they are safe,
/// literals where they are not (8-bit, CR, LF, NUL, long), `NIL` for absent values.
public struct IMAPResponseWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// With room for `capacity` octets, so a long response is not copied as it grows.
    public init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(_ octets: some Collection<UInt8>) {
        bytes.append(contentsOf: octets)
    }

    public mutating func crlf() {
        bytes.append(contentsOf: [13, 10])
    }

    /// A whole untagged line: `* <text>\r\n`.
    public mutating func untagged(_ text: String) {
        raw("* " + text)
        crlf()
    }

    /// A tagged status: `<tag> OK [CODE] text\r\n`.
    public mutating func tagged(_ tag: String, _ status: IMAPStatus, code: String? = nil, _ text: String) {
        raw(tag + " " + status.rawValue + " " + (code.map { "[\($0)] " } ?? "") + text)
        crlf()
    }

    /// A string: quoted if short and 7-bit clean, else a literal.
    public mutating func string(_ octets: some Collection<UInt8>) {
        let needsLiteral = octets.count > 1024 || octets.contains { $0 >= 0x80 || $0 == 13 || $0 == 10 || $0 == 0 }
        if needsLiteral {
            literal(octets)
        } else {
            bytes.append(UInt8(ascii: "\""))
            for byte in octets {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    public mutating func string(_ text: String) {
        string(Array(text.utf8))
    }

    /// `NIL` or a string.
    public mutating func nstring(_ text: String?) {
        if let text { string(text) } else { raw("NIL") }
    }

    /// An astring: a bare atom when it is one, else a string.
    public mutating func astring(_ text: String) {
        if !text.isEmpty, text.utf8.allSatisfy({ IMAPTokenReader.isAtomChar($0) || $0 == UInt8(ascii: "]") }) {
            raw(text)
        } else {
            string(text)
        }
    }

    public mutating func literal(_ octets: some Collection<UInt8>) {
        bytes.append(UInt8(ascii: "{"))
        number(UInt64(octets.count))
        bytes.append(contentsOf: [UInt8(ascii: "}"), 13, 10])
        bytes.append(contentsOf: octets)
    }

    /// `(\Seen \Flagged …)`.
    public mutating func flagList(_ flags: [String]) {
        bytes.append(UInt8(ascii: "("))
        for (position, flag) in flags.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: " ")) }
            raw(flag)
        }
        bytes.append(UInt8(ascii: ")"))
    }

    /// A number in decimal, written without making a string (FETCH of 10,000 messages
    /// writes tens of thousands of them).
    public mutating func number(_ value: some BinaryInteger) {
        var value = UInt64(clamping: value)
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value > 0
            bytes.append(contentsOf: buffer[start...])
        }
    }
}

/// The status words of tagged and untagged status responses (RFC 9051 section 7.1).
public enum IMAPStatus: String, Sendable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
    case bye = "BYE"
    case preauth = "PREAUTH"
}
