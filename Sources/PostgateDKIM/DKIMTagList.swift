/// A DKIM tag=value list (RFC 6376 section 3.2), as in DKIM-Signature fields and key
/// records. Tag names are case-sensitive; a tag given twice makes the list invalid.
public struct DKIMTagList: Sendable, Equatable {
    /// The tags in order, values with surrounding whitespace removed.
    public private(set) var tags: [(name: String, value: String)] = []

    public static func == (lhs: DKIMTagList, rhs: DKIMTagList) -> Bool {
        lhs.tags.elementsEqual(rhs.tags) { $0.name == $1.name && $0.value == $1.value }
    }

    /// - Throws: `DKIMError.malformedTagList` naming what is wrong.
    public init(_ text: String) throws(DKIMError) {
        var seen = Set<String>()
        for spec in text.split(separator: ";", omittingEmptySubsequences: false) {
            let trimmed = String(spec).trimming([" ", "\t", "\r", "\n", "\r\n"])
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw .malformedTagList("'\(trimmed.prefix(40))' has no '='")
            }
            let name = String(trimmed[..<equals]).trimming([" ", "\t", "\r", "\n", "\r\n"])
            guard !name.isEmpty, name.first!.isLetter, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw .malformedTagList("'\(name.prefix(40))' is not a tag name")
            }
            guard seen.insert(name).inserted else { throw .malformedTagList("tag \(name) appears twice") }
            let value = String(trimmed[trimmed.index(after: equals)...]).trimming([" ", "\t", "\r", "\n", "\r\n"])
            tags.append((name, value))
        }
    }

    public subscript(name: String) -> String? {
        tags.first { $0.name == name }?.value
    }

    /// A base64 value (b=, bh=, p=) with all whitespace removed (section 3.5).
    public func base64(_ name: String) -> String? {
        self[name].map { $0.filter { !$0.isWhitespace } }
    }
}
