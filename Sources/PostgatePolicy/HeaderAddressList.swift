import PostgateMessage

/// The mailboxes named in an address header field (From, To, Cc, Resent-To,
/// Delivered-To…), read leniently from the `address-list` of RFC 5322 section 3.4:
/// display names, quoted strings, comments and groups are skipped; what cannot be parsed
/// as an address is left out rather than failing the message.
public enum HeaderAddressList {
    /// At most this many addresses are read from one field, so a hostile header cannot
    /// make the policy check slow.
    static let limit = 1000

    public static func addresses(in value: String) -> [EmailAddress] {
        segments(withoutComments(value)).prefix(limit).compactMap(address)
    }

    /// The addresses of every field called `name` in `header`.
    public static func addresses(_ name: String, in header: MessageHeader) -> [EmailAddress] {
        header.values(name).flatMap { addresses(in: $0) }
    }

    /// `value` without `( comments )`, which may nest (section 3.2.2).
    private static func withoutComments(_ value: String) -> String {
        var result = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for char in value {
            defer { escaped = !escaped && char == "\\" }
            if escaped { if depth == 0 { result.append(char) }; continue }
            if char == "\"" && depth == 0 { quoted.toggle() }
            if !quoted && char == "(" { depth += 1; continue }
            if !quoted && char == ")" && depth > 0 { depth -= 1; continue }
            if depth == 0 { result.append(char) }
        }
        return result
    }

    /// Splits at commas outside quotes and angle brackets; drops a group's `name:` and `;`.
    private static func segments(_ value: String) -> [String] {
        var segments: [String] = []
        var current = ""
        var quoted = false
        var angled = false
        var escaped = false
        for char in value {
            defer { escaped = !escaped && char == "\\" }
            if !escaped && char == "\"" { quoted.toggle() }
            if !quoted && char == "<" { angled = true }
            if !quoted && char == ">" { angled = false }
            if !quoted && !angled && (char == "," || char == ";") {
                segments.append(current)
                current = ""
            } else if !quoted && !angled && char == ":" {
                current = ""
            } else {
                current.append(char)
            }
        }
        segments.append(current)
        return segments
    }

    private static func address(_ segment: String) -> EmailAddress? {
        var text = Substring(segment)
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        let trimmed = String(text).trimmingSpaces()
        guard !trimmed.isEmpty else { return nil }
        return try? EmailAddress(trimmed)
    }
}
