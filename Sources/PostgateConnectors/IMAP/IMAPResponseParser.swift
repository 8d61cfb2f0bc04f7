/// A piece of one framed response: text up to a literal's `{n}` (or the line's end, CRLF
/// removed), a held literal, or the size of a literal that was streamed.
public enum IMAPResponsePart: Sendable, Equatable {
    case text([UInt8])
    case literal([UInt8])
    case streamed(Int)
}

/// Parses one framed response into an `IMAPResponse` (RFC 9051 section 9, formal syntax; the
/// response shapes of section 7). Responses it has no model for become
/// `IMAPUntaggedResponse.other` with their values, so extensions the client did not ask for
/// never fail a session.
struct IMAPResponseParser {
    private let parts: [IMAPResponsePart]
    private var partIndex = 0
    private var bytes: [UInt8] = []
    private var position = 0

    static func parse(_ parts: [IMAPResponsePart]) throws(IMAPClientError) -> IMAPResponse {
        var parser = IMAPResponseParser(parts: parts)
        do {
            return try parser.response()
        } catch {
            throw .protocolError("malformed response: \(preview(parts))")
        }
    }

    /// The start of a response, for messages: at most 100 characters, literals left out.
    static func preview(_ parts: [IMAPResponsePart]) -> String {
        guard case .text(let first) = parts.first else { return "" }
        let text = String(decoding: first.prefix(100), as: UTF8.self)
        return first.count > 100 || parts.count > 1 ? text + "…" : text
    }

    private struct Malformed: Error {}

    private init(parts: [IMAPResponsePart]) {
        self.parts = parts
        if case .text(let first) = parts.first { bytes = first }
    }

    // MARK: Responses

    private mutating func response() throws(Malformed) -> IMAPResponse {
        guard let first = peek() else { throw Malformed() }
        if first == UInt8(ascii: "+") {
            position += 1
            if peek() == UInt8(ascii: " ") { position += 1 }
            return .continuation(restText())
        }
        if first == UInt8(ascii: "*") {
            position += 1
            try expect(UInt8(ascii: " "))
            return .untagged(try untagged())
        }
        let tag = try atom()
        try expect(UInt8(ascii: " "))
        guard let status = IMAPStatus(rawValue: try atom().uppercased()), [.ok, .no, .bad].contains(status) else { throw Malformed() }
        return .tagged(tag, try statusResponse(status))
    }

    private mutating func untagged() throws(Malformed) -> IMAPUntaggedResponse {
        let word = try atom()
        if let number = Int(word), number >= 0 {
            try expect(UInt8(ascii: " "))
            let name = try atom().uppercased()
            switch name {
            case "EXISTS": return .exists(number)
            case "RECENT": return .recent(number)
            case "EXPUNGE": return .expunge(number)
            case "FETCH":
                try expect(UInt8(ascii: " "))
                guard case .list(let items) = try value() else { throw Malformed() }
                return .fetch(number, try Self.fetchAttributes(items))
            default:
                return .other(name, try restValues())
            }
        }
        let name = word.uppercased()
        if let status = IMAPStatus(rawValue: name) { return .status(try statusResponse(status)) }
        switch name {
        case "CAPABILITY":
            return .capability(try restValues().compactMap { $0.text?.uppercased() })
        case "LIST", "LSUB":
            return .list(try mailbox())
        case "FLAGS":
            try expect(UInt8(ascii: " "))
            guard case .list(let flags) = try value() else { throw Malformed() }
            return .flags(flags.compactMap(\.text))
        case "SEARCH":
            // Numbers, then (RFC 7162 section 3.1.5) an optional `(MODSEQ n)`, skipped.
            var uids: [UInt32] = []
            for value in try restValues() {
                if case .list = value { continue }
                guard let number = value.number, let uid = UInt32(exactly: number) else { throw Malformed() }
                uids.append(uid)
            }
            return .search(uids)
        default:
            return .other(name, try restValues())
        }
    }

    /// After the status word: an optional `[code]`, then text (RFC 9051 section 7.1).
    private mutating func statusResponse(_ status: IMAPStatus) throws(Malformed) -> IMAPStatusResponse {
        guard peek() == UInt8(ascii: " ") else {
            guard atEnd else { throw Malformed() }
            return IMAPStatusResponse(status, text: "")
        }
        position += 1
        var code: IMAPResponseCode?
        if peek() == UInt8(ascii: "[") {
            position += 1
            let start = position
            let name = try atom(stopAtBracket: true).uppercased()
            var arguments: [IMAPValue] = []
            while peek() == UInt8(ascii: " ") {
                position += 1
                if peek() == UInt8(ascii: "]") { break }
                arguments.append(try value(stopAtBracket: true))
            }
            let raw = String(decoding: bytes[start..<min(position, bytes.count)], as: UTF8.self)
            try expect(UInt8(ascii: "]"))
            code = IMAPResponseCode(name: name, arguments: arguments, raw: raw)
            if peek() == UInt8(ascii: " ") { position += 1 }
        }
        return IMAPStatusResponse(status, code: code, text: restText())
    }

    /// `LIST (attributes) delimiter name` (RFC 9051 section 7.3.1); extended data after the
    /// name (RFC 5258) is skipped.
    private mutating func mailbox() throws(Malformed) -> IMAPMailbox {
        try expect(UInt8(ascii: " "))
        guard case .list(let attributes) = try value() else { throw Malformed() }
        try expect(UInt8(ascii: " "))
        let delimiter: Character?
        switch try value() {
        case .nil: delimiter = nil
        case .string(let bytes) where bytes.count == 1: delimiter = Character(Unicode.Scalar(bytes[0]))
        default: throw Malformed()
        }
        try expect(UInt8(ascii: " "))
        let name: String
        switch try value() {
        case .atom(let text): name = text
        case .string(let bytes): name = String(decoding: bytes, as: UTF8.self)
        // A mailbox named "NIL" sent as an atom.
        case .nil: name = "NIL"
        default: throw Malformed()
        }
        return IMAPMailbox(name: name, delimiter: delimiter, attributes: attributes.compactMap(\.text))
    }

    /// FETCH data items (RFC 9051 section 7.5.2): name and value pairs.
    private static func fetchAttributes(_ items: [IMAPValue]) throws(Malformed) -> IMAPFetchAttributes {
        guard items.count % 2 == 0 else { throw Malformed() }
        var result = IMAPFetchAttributes()
        var index = 0
        while index < items.count {
            guard case .atom(let rawName) = items[index] else { throw Malformed() }
            let name = rawName.uppercased()
            let value = items[index + 1]
            index += 2
            switch name {
            case "UID":
                guard let number = value.number, let uid = UInt32(exactly: number), uid > 0 else { throw Malformed() }
                result.uid = uid
            case "RFC822.SIZE":
                guard let number = value.number, let size = Int(exactly: number) else { throw Malformed() }
                result.size = size
            case "INTERNALDATE":
                guard let text = value.text else { throw Malformed() }
                result.internalDate = text
            case "FLAGS":
                guard case .list(let flags) = value else { throw Malformed() }
                result.flags = flags.compactMap(\.text)
            case "MODSEQ":
                guard case .list(let values) = value, let modSeq = values.first?.number else { throw Malformed() }
                result.modSeq = modSeq
            case "RFC822", "BODY[]", "BINARY[]":
                result.body = value
            default:
                // BODY[]<0> answers a partial fetch from the first octet.
                if name.hasPrefix("BODY[]<0") || name.hasPrefix("BINARY[]<0") { result.body = value }
            }
        }
        return result
    }

    // MARK: Values

    private var atEnd: Bool { position >= bytes.count && partIndex >= parts.count - 1 }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func expect(_ byte: UInt8) throws(Malformed) {
        guard peek() == byte else { throw Malformed() }
        position += 1
    }

    private mutating func restValues() throws(Malformed) -> [IMAPValue] {
        var values: [IMAPValue] = []
        while true {
            while peek() == UInt8(ascii: " ") { position += 1 }
            if atEnd { return values }
            values.append(try value())
        }
    }

    /// The rest of the response as text (response text has no literals; any that came are
    /// shown as their text).
    private mutating func restText() -> String {
        var text = position < bytes.count ? String(decoding: bytes[position...], as: UTF8.self) : ""
        position = bytes.count
        while partIndex < parts.count - 1 {
            partIndex += 1
            switch parts[partIndex] {
            case .text(let more), .literal(let more): text += String(decoding: more, as: UTF8.self)
            case .streamed: break
            }
        }
        return text
    }

    private mutating func value(stopAtBracket: Bool = false) throws(Malformed) -> IMAPValue {
        guard let byte = peek() else { throw Malformed() }
        switch byte {
        case UInt8(ascii: "("):
            position += 1
            var items: [IMAPValue] = []
            while true {
                while peek() == UInt8(ascii: " ") { position += 1 }
                guard let next = peek() else { throw Malformed() }
                if next == UInt8(ascii: ")") {
                    position += 1
                    return .list(items)
                }
                items.append(try value(stopAtBracket: stopAtBracket))
            }
        case UInt8(ascii: "\""):
            return try quoted()
        case UInt8(ascii: "{"):
            return try literal()
        case UInt8(ascii: "~") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "{"):
            // literal8 (RFC 3516).
            position += 1
            return try literal()
        default:
            let text = try atom(stopAtBracket: stopAtBracket)
            return text.uppercased() == "NIL" ? .nil : .atom(text)
        }
    }

    /// Atom characters; a `[` opens a section (`BODY[HEADER.FIELDS (FROM)]`) read whole to its
    /// `]`, spaces and parentheses included, and `<n>` after it stays in the atom.
    private mutating func atom(stopAtBracket: Bool = false) throws(Malformed) -> String {
        let start = position
        var depth = 0
        while let byte = peek() {
            if depth > 0 {
                if byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "]") { depth -= 1 }
                position += 1
                continue
            }
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "\"")
                || byte == UInt8(ascii: "{") || byte < 0x20 || byte == 0x7F {
                break
            }
            if byte == UInt8(ascii: "]") {
                if stopAtBracket { break }
                throw Malformed()
            }
            if byte == UInt8(ascii: "[") { depth += 1 }
            position += 1
        }
        guard depth == 0, position > start else { throw Malformed() }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// A quoted string (RFC 9051 section 4.3): `\"` and `\\` escaped.
    private mutating func quoted() throws(Malformed) -> IMAPValue {
        position += 1
        var result: [UInt8] = []
        while let byte = peek() {
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return .string(result)
            case UInt8(ascii: "\\"):
                guard let escaped = peek() else { throw Malformed() }
                position += 1
                result.append(escaped)
            default:
                result.append(byte)
            }
        }
        throw Malformed()
    }

    /// `{n}` (or `{n+}`) ends a text part; the next part is its octets (RFC 9051 section 4.3).
    private mutating func literal() throws(Malformed) -> IMAPValue {
        guard bytes.last == UInt8(ascii: "}"), let size = IMAPResponseFramer.literalSize(at: bytes[position...]) else { throw Malformed() }
        guard partIndex + 2 < parts.count, case .text(let after) = parts[partIndex + 2] else { throw Malformed() }
        let value: IMAPValue
        switch parts[partIndex + 1] {
        case .literal(let octets) where octets.count == size: value = .string(octets)
        case .streamed(let streamed) where streamed == size: value = .streamed(size)
        default: throw Malformed()
        }
        partIndex += 2
        bytes = after
        position = 0
        return value
    }
}
