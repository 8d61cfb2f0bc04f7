/// Splits an address-list header value into IMAP's address structures (RFC 5322
/// section 3.4, leniently: what real mail contains, not only what the grammar allows).
///
/// Works on the UTF-8 octets: every delimiter is ASCII, and octets of non-ASCII
/// characters never look like one, so this is exact and avoids Character iteration
/// (FETCH ENVELOPE of a whole mailbox parses every From, To and Cc).
enum IMAPAddressParser {
    struct Address: Equatable {
        var name: String?
        var mailbox: String?
        var host: String?
    }

    typealias Octets = ArraySlice<UInt8>

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    private static let open = UInt8(ascii: "<"), close = UInt8(ascii: ">")
    private static let colon = UInt8(ascii: ":"), comma = UInt8(ascii: ","), semicolon = UInt8(ascii: ";"), at = UInt8(ascii: "@")

    static func parse(_ value: String) -> [Address] {
        var result: [Address] = []
        for item in split(IMAPHeaderValue.stripComments(Array(value.utf8))[...], groups: true) {
            var text = trim(item)
            if let colon = groupColon(text) {
                result.append(Address(name: nil, mailbox: string(trim(text[..<colon])), host: nil))
                text = trim(text[(colon + 1)...])
                for member in split(text, groups: false) where !trim(member).isEmpty {
                    result.append(single(member))
                }
                result.append(Address(name: nil, mailbox: nil, host: nil))
            } else if !text.isEmpty {
                result.append(single(text))
            }
        }
        return result
    }

    private static func single(_ text: Octets) -> Address {
        var name: String?
        var spec = trim(text)
        if let open = spec.lastIndex(of: open), let close = spec.lastIndex(of: close), open < close {
            let phrase = trim(spec[..<open])
            if !phrase.isEmpty { name = unquote(phrase) }
            spec = spec[(open + 1)..<close]
        }
        if spec.first == at, let colon = spec.lastIndex(of: colon) { spec = spec[(colon + 1)...] }
        guard let at = spec.lastIndex(of: at) else { return Address(name: name, mailbox: spec.isEmpty ? nil : string(spec), host: nil) }
        return Address(name: name, mailbox: string(spec[..<at]), host: string(spec[(at + 1)...]))
    }

    /// A quoted display name without its quotes and backslash escapes.
    private static func unquote(_ phrase: Octets) -> String {
        guard phrase.count >= 2, phrase.first == quote, phrase.last == quote else { return string(phrase) }
        var result: [UInt8] = []
        var escaped = false
        for byte in phrase.dropFirst().dropLast() {
            if byte == backslash, !escaped {
                escaped = true
                continue
            }
            escaped = false
            result.append(byte)
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// The `:` that starts a group (outside quotes and angle brackets), if any.
    private static func groupColon(_ text: Octets) -> Int? {
        var quoted = false
        var angle = false
        for index in text.indices {
            switch text[index] {
            case quote: quoted.toggle()
            case open where !quoted: angle = true
            case close where !quoted: angle = false
            case colon where !quoted && !angle: return index
            default: break
            }
        }
        return nil
    }

    /// Splits at `,` (and, with `groups`, at `;`) outside quotes and angle brackets; with
    /// `groups`, a group (`name: a, b;`) stays one item.
    private static func split(_ text: Octets, groups: Bool) -> [Octets] {
        var items: [Octets] = []
        var start = text.startIndex
        var quoted = false
        var angle = false
        var inGroup = false
        for index in text.indices {
            let byte = text[index]
            switch byte {
            case quote: quoted.toggle()
            case open where !quoted: angle = true
            case close where !quoted: angle = false
            case colon where !quoted && !angle && groups: inGroup = true
            default: break
            }
            let separator = byte == comma || (groups && byte == semicolon)
            if separator, !quoted, !angle, !(inGroup && byte == comma) {
                if byte == semicolon { inGroup = false }
                items.append(text[start..<index])
                start = index + 1
            }
        }
        items.append(text[start...])
        return items
    }

    private static func trim(_ text: Octets) -> Octets {
        let isBlank = { (byte: UInt8) in byte == 32 || byte == 9 }
        guard let first = text.firstIndex(where: { !isBlank($0) }), let last = text.lastIndex(where: { !isBlank($0) }) else {
            return text[text.startIndex..<text.startIndex]
        }
        return text[first...last]
    }

    private static func string(_ octets: Octets) -> String {
        String(decoding: octets, as: UTF8.self)
    }
}
