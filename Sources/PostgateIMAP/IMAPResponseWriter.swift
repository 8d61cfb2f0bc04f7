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
        bytes.append(contentsOf: text.utf8)
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
        raw("{\(octets.count)}")
        crlf()
        bytes.append(contentsOf: octets)
    }

    /// `(\Seen \Flagged …)`.
    public mutating func flagList(_ flags: [String]) {
        raw("(" + flags.joined(separator: " ") + ")")
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
