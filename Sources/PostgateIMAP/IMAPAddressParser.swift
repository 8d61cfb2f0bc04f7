/// Splits an address-list header value into IMAP's address structures (RFC 5322
/// section 3.4, leniently: what real mail contains, not only what the grammar allows).
///
/// Works on the UTF-8 octets: every delimiter is ASCII, and octets of non-ASCII
/// characters never look like one, so this is exact and avoids Character iteration
/// (FETCH ENVELOPE of a whole mailbox parses every From, To and Cc).
enum IMAPAddressParser {
    struct Address: Equatable {
        var name: String?
        /// The source route (`@a,@b`), RFC 5322 section 4.4 obs-route; IMAP's `addr-adl`.
        var route: String? = nil
        var mailbox: String?
        var host: String?
    }

    typealias Octets = ArraySlice<UInt8>

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    private static let open = UInt8(ascii: "<"), close = UInt8(ascii: ">")
    private static let colon = UInt8(ascii: ":"), comma = UInt8(ascii: ","), semicolon = UInt8(ascii: ";"), at = UInt8(ascii: "@")

    /// Stands for a comment in the text being split: comments are whitespace to the
    /// grammar (CFWS), but the last one names an address that has no display name.
    private static let commentMark: UInt8 = 0x01

    static func parse(_ value: String) -> [Address] {
        let (text, comments) = extractComments(Array(value.utf8))
        var result: [Address] = []
        var nextComment = 0
        for item in split(text[...], groups: true) {
            var text = trim(item)
            if let colon = groupColon(text) {
                let group = text[..<colon]
                nextComment += group.count(where: { $0 == commentMark })
                result.append(Address(name: nil, mailbox: string(trim(withoutMarks(group))), host: nil))
                text = trim(text[(colon + 1)...])
                for member in split(text, groups: false) {
                    if trim(withoutMarks(member)).isEmpty {
                        nextComment += member.count(where: { $0 == commentMark })
                    } else {
                        result.append(single(member, comments: comments, next: &nextComment))
                    }
                }
                result.append(Address(name: nil, mailbox: nil, host: nil))
            } else if !trim(withoutMarks(text)).isEmpty {
                result.append(single(text, comments: comments, next: &nextComment))
            } else {
                nextComment += text.count(where: { $0 == commentMark })
            }
        }
        return result
    }

    private static func single(_ text: Octets, comments: [[UInt8]], next: inout Int) -> Address {
        var comment: [UInt8]?
        for byte in text where byte == commentMark {
            if next < comments.count, !comments[next].isEmpty { comment = comments[next] }
            next += 1
        }
        var name: String?
        let marked = trim(text)
        var spec = trim(withoutMarks(marked))
        if let open = spec.lastIndex(of: open), let close = spec.lastIndex(of: close), open < close {
            let phrase = trim(spec[..<open])
            if !phrase.isEmpty { name = unquote(phrase) }
            spec = trim(spec[(open + 1)..<close])
        }
        // `user@domain (Real Name)`: the comment is the only name there is.
        if name == nil, let comment { name = String(decoding: comment, as: UTF8.self).trimmingSpaces }
        var route: String?
        if spec.first == at, let colon = spec.lastIndex(of: colon) {
            route = string(spec[..<colon])
            spec = trim(spec[(colon + 1)...])
        }
        guard let at = spec.lastIndex(of: at) else {
            return Address(name: name, route: route, mailbox: spec.isEmpty ? nil : string(spec), host: nil)
        }
        return Address(name: name, route: route, mailbox: string(spec[..<at]), host: string(spec[(at + 1)...]))
    }

    /// The text with each top-level comment (RFC 5322 section 3.2.2) replaced by
    /// `commentMark`, and the comments' contents in order (without their parentheses and
    /// quoting backslashes).
    private static func extractComments(_ value: [UInt8]) -> ([UInt8], [[UInt8]]) {
        guard value.contains(UInt8(ascii: "(")) else { return (value, []) }
        var text: [UInt8] = []
        text.reserveCapacity(value.count)
        var comments: [[UInt8]] = []
        var depth = 0
        var quoted = false
        var escaped = false
        for byte in value {
            if escaped {
                if depth == 0 { text.append(byte) } else { comments[comments.count - 1].append(byte) }
                escaped = false
                continue
            }
            switch byte {
            case backslash:
                escaped = true
                if depth == 0 { text.append(byte) }
            case quote where depth == 0:
                quoted.toggle()
                text.append(byte)
            case UInt8(ascii: "(") where !quoted:
                if depth == 0 {
                    text.append(commentMark)
                    comments.append([])
                } else {
                    comments[comments.count - 1].append(byte)
                }
                depth += 1
            case UInt8(ascii: ")") where !quoted && depth > 0:
                depth -= 1
                if depth > 0 { comments[comments.count - 1].append(byte) }
            default:
                if depth == 0 { text.append(byte) } else { comments[comments.count - 1].append(byte) }
            }
        }
        return (text, comments)
    }

    /// The octets without comment marks: a comment inside an address (`john(x)@host`) is
    /// whitespace, and whitespace there is not part of the address.
    private static func withoutMarks(_ text: Octets) -> Octets {
        guard text.contains(commentMark) else { return text }
        return Octets(text.filter { $0 != commentMark })
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
