/// Parses one search key (RFC 9051 section 6.4.4, `search-key`); nesting is bounded by
/// the reader's parenthesis depth limit.
enum IMAPSearchKeyParser {
    static func key(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPSearchKey {
        r.keyDepth += 1
        defer { r.keyDepth -= 1 }
        guard r.keyDepth <= r.maxDepth else { throw IMAPParseError("search key nested too deeply") }
        return try singleKey(&r)
    }

    private static func singleKey(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPSearchKey {
        if r.peek() == UInt8(ascii: "(") {
            let keys = try r.parenthesized { (r) throws(IMAPParseError) in try key(&r) }
            guard !keys.isEmpty else { throw IMAPParseError("empty search key list") }
            return keys.count == 1 ? keys[0] : .and(keys)
        }
        if let byte = r.peek(), (48...57).contains(byte) || byte == UInt8(ascii: "*") {
            return .sequence(try r.sequenceSet())
        }
        let word = try r.atom().uppercased()
        if let flag = flagKeys[word] { return .flag(flag.0, set: flag.1) }
        switch word {
        case "ALL": return .all
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "NOT":
            try r.space()
            return .not(try key(&r))
        case "OR":
            try r.space()
            let left = try key(&r)
            try r.space()
            return .or(left, try key(&r))
        case "UID":
            try r.space()
            return .uid(try r.sequenceSet())
        case "KEYWORD", "UNKEYWORD":
            try r.space()
            return .flag(try r.atom(), set: word == "KEYWORD")
        case "LARGER", "SMALLER":
            try r.space()
            let size = Int(try r.number())
            return word == "LARGER" ? .larger(size) : .smaller(size)
        case "BCC", "CC", "FROM", "SUBJECT", "TO":
            try r.space()
            return .header(word, try r.astring())
        case "HEADER":
            try r.space()
            let name = try r.astring()
            try r.space()
            return .header(name, try r.astring())
        case "BODY", "TEXT":
            try r.space()
            let value = try r.astring()
            return word == "BODY" ? .body(value) : .text(value)
        case "SAVEDATESUPPORTED": return .saveDateSupported
        case "EMAILID", "THREADID":
            // RFC 8474 section 6: `"EMAILID" SP objectid`, `"THREADID" SP objectid`.
            try r.space()
            let id = try r.atom()
            guard id.utf8.count <= 255, id.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }) else {
                throw IMAPParseError("bad objectid \(id)")
            }
            return word == "EMAILID" ? .emailID(id) : .threadID(id)
        case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
            try r.space()
            let text = try r.astring()
            guard let day = IMAPDay(text) else { throw IMAPParseError("bad date \(text)") }
            switch word {
            case "BEFORE": return .before(day)
            case "ON": return .on(day)
            case "SINCE": return .since(day)
            case "SENTBEFORE": return .sentBefore(day)
            case "SENTON": return .sentOn(day)
            case "SAVEDBEFORE": return .savedBefore(day)
            case "SAVEDON": return .savedOn(day)
            case "SAVEDSINCE": return .savedSince(day)
            default: return .sentSince(day)
            }
        case "MODSEQ":
            try r.space()
            // An optional entry name and type (RFC 7162 section 3.1.5): metadata Postgate does not split.
            if r.peek() == UInt8(ascii: "\"") {
                _ = try r.string()
                try r.space()
                _ = try r.atom()
                try r.space()
            }
            return .modSeq(try r.modSequence())
        default:
            throw IMAPParseError("unknown search key \(word)")
        }
    }

    private static let flagKeys: [String: (String, Bool)] = [
        "ANSWERED": ("\\Answered", true), "UNANSWERED": ("\\Answered", false),
        "DELETED": ("\\Deleted", true), "UNDELETED": ("\\Deleted", false),
        "DRAFT": ("\\Draft", true), "UNDRAFT": ("\\Draft", false),
        "FLAGGED": ("\\Flagged", true), "UNFLAGGED": ("\\Flagged", false),
        "SEEN": ("\\Seen", true), "UNSEEN": ("\\Seen", false),
    ]
}
