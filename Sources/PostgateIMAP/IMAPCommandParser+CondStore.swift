/// The CONDSTORE modifiers of FETCH and STORE (RFC 7162 section 7).
extension IMAPCommandParser {
    /// `(NAME value)`: the one modifier a STORE takes (UNCHANGEDSINCE); FETCH's are read by
    /// `fetchModifiers`.
    static func modifier(_ name: String, _ r: inout IMAPTokenReader) throws(IMAPParseError) -> UInt64 {
        let values = try r.parenthesized { (r) throws(IMAPParseError) -> UInt64 in
            let word = try r.atom().uppercased()
            guard word == name else { throw IMAPParseError("unknown modifier \(word)") }
            try r.space()
            return try r.modSequence()
        }
        guard values.count == 1 else { throw IMAPParseError("\(name) needs one value") }
        return values[0]
    }
}
