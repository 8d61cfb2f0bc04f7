/// A message or body part as FETCH needs it (RFC 9051 sections 6.4.5 and 7.5.2): its
/// header fields with their raw bytes, its body, and for `multipart/*` and
/// `message/rfc822` its children, numbered as IMAP numbers parts.
///
/// This is the small MIME view IMAP needs (boundaries, Content-* fields, line counts);
/// the shared MIME parser of `PostgateMessage` can replace it behind the same interface.
/// Parsing is bounded: at most `maxDepth` levels and `maxParts` parts per message.
struct IMAPMessageEntity {
    struct Field {
        var name: String
        /// `name` in lower case, for lookups.
        var key: String
        /// The whole field, CRLF included.
        var range: Range<Int>
        /// The value unfolded, without the line ending.
        var value: String
    }

    let source: [UInt8]
    /// The header section including the blank line that ends it.
    let headerRange: Range<Int>
    let bodyRange: Range<Int>
    let fields: [Field]
    let contentType: ContentType
    /// Parts of a multipart, or the one encapsulated message of `message/rfc822`.
    let children: [IMAPMessageEntity]

    static let maxDepth = 20
    static let maxParts = 500

    struct ContentType {
        var type: String
        var subtype: String
        var parameters: [(String, String)]

        func parameter(_ name: String) -> String? {
            parameters.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// Parses `source[range]` as a message (or, with `defaultType`, a body part).
    init(_ source: [UInt8], range: Range<Int>? = nil, defaultType: ContentType = .textPlain, depth: Int = 0, budget: inout Int) {
        let range = range ?? 0..<source.count
        self.source = source
        let split = Self.headerEnd(source, range)
        headerRange = range.lowerBound..<split
        bodyRange = split..<range.upperBound
        fields = Self.fields(source, headerRange)
        let typeField = fields.first { $0.key == "content-type" }?.value
        contentType = typeField.flatMap(ContentType.parse) ?? defaultType
        budget -= 1
        guard depth < Self.maxDepth, budget > 0 else {
            children = []
            return
        }
        switch contentType.type {
        case "multipart":
            let childDefault = contentType.subtype == "digest" ? ContentType.messageRFC822 : .textPlain
            var parts: [IMAPMessageEntity] = []
            for partRange in Self.partRanges(source, bodyRange, boundary: contentType.parameter("boundary")) where budget > 0 {
                parts.append(IMAPMessageEntity(source, range: partRange, defaultType: childDefault, depth: depth + 1, budget: &budget))
            }
            children = parts
        case "message" where contentType.subtype == "rfc822" || contentType.subtype == "global":
            children = [IMAPMessageEntity(source, range: bodyRange, depth: depth + 1, budget: &budget)]
        default:
            children = []
        }
    }

    init(_ source: [UInt8]) {
        var budget = Self.maxParts
        self.init(source, budget: &budget)
    }

    var isMultipart: Bool { contentType.type == "multipart" }
    var isMessage: Bool { contentType.type == "message" && !children.isEmpty && !isMultipart }

    func field(_ name: String) -> String? {
        let key = name.lowercased()
        return fields.first { $0.key == key }?.value
    }

    var header: ArraySlice<UInt8> { source[headerRange] }
    var body: ArraySlice<UInt8> { source[bodyRange] }

    /// The entity for a part path (`[1, 2]` is part 1.2) of this message; nil if there is
    /// none (RFC 3501 section 6.4.5). A message that is not multipart has one part, 1: its
    /// body, whatever its type, so where that body is message/rfc822, part 1 is the
    /// encapsulated message and 1.2 the second part of that message.
    func part(_ path: [Int]) -> IMAPMessageEntity? {
        guard let first = path.first else { return self }
        let body: IMAPMessageEntity
        if isMultipart {
            guard first >= 1, first <= children.count else { return nil }
            body = children[first - 1]
        } else {
            guard first == 1 else { return nil }
            body = self
        }
        return body.subpart(Array(path.dropFirst()))
    }

    /// A part below this body part: the parts of a multipart, or of the message a
    /// message/rfc822 part encapsulates.
    private func subpart(_ path: [Int]) -> IMAPMessageEntity? {
        guard let first = path.first else { return self }
        if isMessage { return children[0].part(path) }
        if isMultipart {
            guard first >= 1, first <= children.count else { return nil }
            return children[first - 1].subpart(Array(path.dropFirst()))
        }
        return first == 1 ? subpart(Array(path.dropFirst())) : nil
    }

    /// The header fields whose names are (or, with `exclude`, are not) in `names`, raw,
    /// followed by the blank line (RFC 9051 section 6.4.5, HEADER.FIELDS).
    func headerFields(_ names: [String], exclude: Bool) -> [UInt8] {
        let wanted = Set(names.map { $0.lowercased() })
        var result: [UInt8] = []
        for field in fields where wanted.contains(field.key) != exclude {
            result += source[field.range]
        }
        return result + [13, 10]
    }

    /// Lines of the body (for `text/*` and `message/rfc822` in BODYSTRUCTURE): its line
    /// breaks. A last line without one is not counted: before a boundary, the line break
    /// belongs to the delimiter (RFC 2046 section 5.1.1), so the part's text ends without
    /// one although it ended a line (as Dovecot counts).
    var bodyLineCount: Int {
        body.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
    }

    // MARK: - Parsing

    /// Index just after the blank line ending the header, or the end if there is none.
    static func headerEnd(_ source: [UInt8], _ range: Range<Int>) -> Int {
        var index = range.lowerBound
        // A part may start with its blank line at once (no header fields).
        if index < range.upperBound, source[index] == 10 { return index + 1 }
        if index + 1 < range.upperBound, source[index] == 13, source[index + 1] == 10 { return index + 2 }
        while index < range.upperBound {
            guard source[index] == 10 else {
                index += 1
                continue
            }
            let next = index + 1
            if next < range.upperBound, source[next] == 10 { return next + 1 }
            if next + 1 < range.upperBound, source[next] == 13, source[next + 1] == 10 { return next + 2 }
            index = next
        }
        return range.upperBound
    }

    private static func fields(_ source: [UInt8], _ range: Range<Int>) -> [Field] {
        var fields: [Field] = []
        var start = range.lowerBound
        var index = range.lowerBound
        func finish(_ end: Int) {
            guard end > start else { return }
            let raw = source[start..<end]
            if let colon = raw.firstIndex(of: UInt8(ascii: ":")), colon > start {
                let name = String(decoding: source[start..<colon], as: UTF8.self).trimmingSpaces
                let value = String(decoding: source[(colon + 1)..<end].filter { $0 != 13 && $0 != 10 }, as: UTF8.self).trimmingSpaces
                fields.append(Field(name: name, key: name.lowercased(), range: start..<end, value: value))
            }
        }
        while index < range.upperBound {
            if source[index] == 10 {
                let next = index + 1
                let continues = next < range.upperBound && (source[next] == 32 || source[next] == 9)
                if !continues {
                    finish(next)
                    start = next
                }
            }
            index += 1
        }
        finish(range.upperBound)
        return fields.filter { !$0.name.isEmpty }
    }

    /// The ranges of the parts between `--boundary` lines, up to `--boundary--`.
    private static func partRanges(_ source: [UInt8], _ range: Range<Int>, boundary: String?) -> [Range<Int>] {
        guard let boundary, !boundary.isEmpty, boundary.utf8.count <= 200 else { return [] }
        let delimiter = Array(("--" + boundary).utf8)
        var ranges: [Range<Int>] = []
        var partStart: Int?
        var lineStart = range.lowerBound
        while lineStart < range.upperBound {
            let lineEnd = source[lineStart..<range.upperBound].firstIndex(of: 10).map { $0 + 1 } ?? range.upperBound
            let line = source[lineStart..<lineEnd]
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                let closing = rest.starts(with: [45, 45])
                let trailing = (closing ? rest.dropFirst(2) : rest).allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 || $0 == 10 }
                if trailing {
                    if let start = partStart {
                        // The CRLF before the delimiter belongs to the delimiter (RFC 2046 section 5.1.1).
                        var end = lineStart
                        if end > start, source[end - 1] == 10 { end -= 1 }
                        if end > start, source[end - 1] == 13 { end -= 1 }
                        ranges.append(start..<end)
                    }
                    if closing { return ranges }
                    partStart = lineEnd
                }
            }
            lineStart = lineEnd
        }
        if let start = partStart { ranges.append(start..<range.upperBound) }
        return ranges
    }
}

extension IMAPMessageEntity.ContentType {
    static let textPlain = Self(type: "text", subtype: "plain", parameters: [("charset", "us-ascii")])
    static let messageRFC822 = Self(type: "message", subtype: "rfc822", parameters: [])

    /// `type/subtype; name=value; name="quoted"`; nil if there is no `type/subtype`.
    static func parse(_ value: String) -> Self? {
        let items = IMAPHeaderValue.splitParameters(value)
        guard let first = items.first else { return nil }
        let kinds = first.split(separator: "/", maxSplits: 1).map { $0.trimmingSpaces.lowercased() }
        guard kinds.count == 2, !kinds[0].isEmpty, !kinds[1].isEmpty else { return nil }
        return Self(type: kinds[0], subtype: kinds[1], parameters: IMAPHeaderValue.parameters(items.dropFirst()))
    }
}

/// Splitting structured header values (`a; b=c; d="e;f"`) and removing comments.
enum IMAPHeaderValue {
    static func splitParameters(_ value: String) -> [String] {
        var items: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in stripComments(value) {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" && quoted {
                current.append(character)
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if character == ";" && !quoted {
                items.append(current.trimmingSpaces)
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current.trimmingSpaces)
        return items.filter { !$0.isEmpty }
    }

    static func parameters(_ items: ArraySlice<String>) -> [(String, String)] {
        items.compactMap { item in
            guard let equals = item.firstIndex(of: "=") else { return nil }
            let name = item[..<equals].trimmingSpaces.lowercased()
            var value = item[item.index(after: equals)...].trimmingSpaces
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
                    .replacingOccurrences(of: "\\\\", with: "\\")
            }
            return name.isEmpty ? nil : (name, value)
        }
    }

    /// Removes `(comments)` outside quoted strings (RFC 5322 section 3.2.2).
    static func stripComments(_ value: String) -> String {
        String(decoding: stripComments(Array(value.utf8)), as: UTF8.self)
    }

    /// `stripComments` on UTF-8 octets (the delimiters are all ASCII).
    static func stripComments(_ value: [UInt8]) -> [UInt8] {
        guard value.contains(UInt8(ascii: "(")) else { return value }
        var result: [UInt8] = []
        result.reserveCapacity(value.count)
        var depth = 0
        var quoted = false
        var escaped = false
        for byte in value {
            if escaped {
                if depth == 0 { result.append(byte) }
                escaped = false
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"):
                escaped = true
                if depth == 0 { result.append(byte) }
            case UInt8(ascii: "\"") where depth == 0: quoted.toggle(); result.append(byte)
            case UInt8(ascii: "(") where !quoted: depth += 1
            case UInt8(ascii: ")") where !quoted && depth > 0: depth -= 1
            default: if depth == 0 { result.append(byte) }
            }
        }
        return result
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let bytes = String(self).utf8
        guard let first = bytes.firstIndex(where: { $0 != 32 && $0 != 9 }),
              let last = bytes.lastIndex(where: { $0 != 32 && $0 != 9 }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
