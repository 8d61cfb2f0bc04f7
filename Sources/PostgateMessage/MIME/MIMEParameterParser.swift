/// Parses a structured MIME header value — `value; name=token; name="quoted"` — as
/// Content-Type (RFC 2045 section 5.1) and Content-Disposition (RFC 2183) use it, with
/// RFC 2231 parameter value continuations (`name*0=`, `name*1=`), charset and language
/// (`name*=utf-8'en'%E2%82%AC`), and RFC 2047 encoded words inside `name`/`filename`
/// values (as Outlook and Gmail still write them).
///
/// Bounded: at most `maximumParameters` parameters and `maximumSections` continuation
/// sections per parameter are kept; comments `( … )` are skipped.
public enum MIMEParameterParser {
    public static let maximumParameters = 64
    public static let maximumSections = 100

    /// The value before the first `;` (lowercased, comments and spaces removed) and the
    /// parameters by lowercased name.
    public static func parse(_ field: String) -> (value: String, parameters: [String: String]) {
        let segments = split(Array(field.utf8))
        guard let first = segments.first else { return ("", [:]) }
        let value = String(decoding: first, as: UTF8.self).trimmingSpaces().lowercased()
        var simple: [String: String] = [:]
        var sections: [String: [Int: (extended: Bool, bytes: [UInt8])]] = [:]
        for segment in segments.dropFirst().prefix(maximumParameters) {
            guard let (name, raw) = nameAndValue(segment) else { continue }
            if let (base, number, extended) = sectionName(name) {
                guard number < maximumSections else { continue }
                sections[base, default: [:]][number] = (extended, raw)
            } else if simple[name] == nil {
                simple[name] = String(decoding: raw, as: UTF8.self)
            }
        }
        var parameters = simple
        for (base, parts) in sections {
            parameters[base] = join(parts)
        }
        for name in ["name", "filename"] {
            if let encoded = parameters[name], encoded.contains("=?") {
                parameters[name] = EncodedWordDecoder.decode(encoded)
            }
        }
        return (value, parameters)
    }

    /// Splits at `;` outside quoted strings, dropping comments.
    private static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var segments: [[UInt8]] = []
        var current: [UInt8] = []
        var quoted = false
        var commentDepth = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if quoted {
                current.append(byte)
                if byte == UInt8(ascii: "\\"), index < bytes.count {
                    current.append(bytes[index])
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    quoted = false
                }
                continue
            }
            if commentDepth > 0 {
                if byte == UInt8(ascii: "(") { commentDepth += 1 }
                if byte == UInt8(ascii: ")") { commentDepth -= 1 }
                if byte == UInt8(ascii: "\\") { index += 1 }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): quoted = true; current.append(byte)
            case UInt8(ascii: "("): commentDepth = 1
            case UInt8(ascii: ";"): segments.append(current); current = []
            default: current.append(byte)
            }
        }
        segments.append(current)
        return segments
    }

    /// `name=value` with the name lowercased and a quoted value unquoted.
    private static func nameAndValue(_ segment: [UInt8]) -> (String, [UInt8])? {
        guard let equals = segment.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let name = String(decoding: segment[..<equals], as: UTF8.self).trimmingSpaces().lowercased()
        guard !name.isEmpty else { return nil }
        var raw = Array(segment[(equals + 1)...])
        while let first = raw.first, first == 0x20 || first == 0x09 { raw.removeFirst() }
        while let last = raw.last, last == 0x20 || last == 0x09 || last == 0x0D { raw.removeLast() }
        if raw.first == UInt8(ascii: "\"") { raw = unquote(raw) }
        return (name, raw)
    }

    private static func unquote(_ raw: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 1
        while index < raw.count {
            let byte = raw[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\"), index + 1 < raw.count {
                index += 1
            }
            output.append(raw[index])
            index += 1
        }
        return output
    }

    /// `title*2*` → ("title", 2, true); `title*` → ("title", 0, true); else nil.
    private static func sectionName(_ name: String) -> (String, Int, Bool)? {
        guard let star = name.firstIndex(of: "*") else { return nil }
        let base = String(name[..<star])
        var rest = name[name.index(after: star)...]
        let extended = rest.hasSuffix("*")
        if extended { rest = rest.dropLast() }
        if rest.isEmpty { return (base, 0, true) }  // `name*=`: one extended value
        guard let number = Int(rest), number >= 0 else { return nil }
        return (base, number, extended)
    }

    /// Joins RFC 2231 sections in order (stopping at a gap), percent-decoding extended
    /// ones, and decodes them in the charset named by the first section.
    private static func join(_ parts: [Int: (extended: Bool, bytes: [UInt8])]) -> String {
        var bytes: [UInt8] = []
        var charset: String?
        var number = 0
        while let part = parts[number] {
            var chunk = part.bytes
            if part.extended {
                if number == 0 {
                    let pieces = chunk.split(separator: UInt8(ascii: "'"), maxSplits: 2, omittingEmptySubsequences: false)
                    if pieces.count == 3 {
                        charset = String(decoding: pieces[0], as: UTF8.self)
                        chunk = Array(pieces[2])
                    }
                }
                chunk = percentDecode(chunk)
            }
            bytes += chunk
            number += 1
        }
        return MIMECharset.decode(bytes, charset: charset.flatMap { $0.isEmpty ? nil : $0 })
    }

    private static func percentDecode(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
               let high = QuotedPrintableDecoder.hexValue(input[index + 1]),
               let low = QuotedPrintableDecoder.hexValue(input[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(input[index])
                index += 1
            }
        }
        return output
    }
}
