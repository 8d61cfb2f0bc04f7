/// Turns HTML into plain text for snippets and keyword search: drops tags, comments and the
/// contents of script, style, head and title; turns block elements and `<br>` into line
/// breaks; decodes the common named entities and numeric character references.
public enum HTMLTextExtractor {
    private static let hiddenElements: Set<String> = ["script", "style", "head", "title"]
    private static let blockElements: Set<String> = [
        "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "hr",
    ]
    private static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©",
        "reg": "®", "hellip": "…", "mdash": "—", "ndash": "–", "rsquo": "’", "lsquo": "‘",
        "rdquo": "”", "ldquo": "“", "euro": "€", "zwnj": "", "zwj": "", "eacute": "é", "egrave": "è", "agrave": "à", "aacute": "á",
        "ccedil": "ç", "uuml": "ü", "ouml": "ö", "auml": "ä", "szlig": "ß", "ntilde": "ñ", "oacute": "ó",
    ]

    public static func text(fromHTML html: String) -> String {
        var output = ""
        var scalars = Substring(html)
        var hiddenUntil: String?
        while let lessThan = scalars.firstIndex(of: "<") {
            if hiddenUntil == nil { output += decodeEntities(scalars[..<lessThan]) }
            scalars = scalars[lessThan...]
            if scalars.hasPrefix("<!--") {
                guard let close = scalars.range(of: "-->") else { return output }
                scalars = scalars[close.upperBound...]
                continue
            }
            guard let greaterThan = scalars.firstIndex(of: ">") else { return output }
            let tag = scalars[scalars.index(after: scalars.startIndex)..<greaterThan]
            scalars = scalars[scalars.index(after: greaterThan)...]
            let closing = tag.hasPrefix("/")
            let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
            if let hidden = hiddenUntil {
                if closing && name == hidden { hiddenUntil = nil }
                continue
            }
            if !closing, hiddenElements.contains(name), !tag.hasSuffix("/") {
                hiddenUntil = name
            } else if blockElements.contains(name) {
                output += "\n"
            }
        }
        if hiddenUntil == nil { output += decodeEntities(scalars) }
        return output
    }

    /// Decodes `&name;`, `&#NNN;` and `&#xHH;`; anything else is kept as written.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var output = ""
        var rest = text
        while let ampersand = rest.firstIndex(of: "&") {
            output += rest[..<ampersand]
            rest = rest[ampersand...]
            let candidate = rest.dropFirst().prefix(12)
            if let semicolon = candidate.firstIndex(of: ";"), let decoded = entity(candidate[..<semicolon]) {
                output += decoded
                rest = rest[rest.index(after: semicolon)...]
            } else {
                output += "&"
                rest = rest.dropFirst()
            }
        }
        return output + rest
    }

    private static func entity(_ name: Substring) -> String? {
        if name.hasPrefix("#") {
            let digits = name.dropFirst()
            let value = digits.first == "x" || digits.first == "X"
                ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            return value.flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
        return entities[name.lowercased()]
    }
}
