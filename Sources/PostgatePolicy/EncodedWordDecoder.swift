/// Decodes the MIME encoded words of RFC 2047 in an unstructured header field such as
/// Subject: `=?UTF-8?Q?R=C3=A9ponse_automatique?=` becomes `Réponse automatique`.
///
/// Handles the B (base64) and Q encodings (section 4) in UTF-8, US-ASCII and the
/// ISO-8859-1 family (Windows-1252 and ISO-8859-15 read as ISO-8859-1, which differs only
/// in a few symbols). White space between two adjacent encoded words is dropped
/// (section 6.2). A word it cannot decode is kept as written.
enum EncodedWordDecoder {
    static func decode(_ text: String) -> String {
        guard text.contains("=?") else { return text }
        var result = ""
        var pendingSpace = ""
        var previousWasEncoded = false
        var rest = Substring(text)
        while !rest.isEmpty {
            if rest.hasPrefix("=?"), let (decoded, after) = decodeWord(rest) {
                if !previousWasEncoded { result += pendingSpace }
                result += decoded
                pendingSpace = ""
                previousWasEncoded = true
                rest = after
                continue
            }
            let char = rest.removeFirst()
            if char == " " || char == "\t" {
                pendingSpace.append(char)
            } else {
                result += pendingSpace
                result.append(char)
                pendingSpace = ""
                previousWasEncoded = false
            }
        }
        return result + pendingSpace
    }

    /// `=?charset?enc?text?=` at the start of `text`: the decoded word and what follows.
    private static func decodeWord(_ text: Substring) -> (String, Substring)? {
        let parts = text.dropFirst(2).split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[3].hasPrefix("=") else { return nil }
        let charset = parts[0].split(separator: "*").first.map { $0.lowercased() } ?? ""
        let payload = parts[2]
        guard !payload.contains(" ") else { return nil }
        let bytes: [UInt8]?
        switch parts[1].lowercased() {
        case "b": bytes = base64(payload)
        case "q": bytes = quotedPrintable(payload)
        default: bytes = nil
        }
        guard let bytes, let decoded = string(bytes, charset: charset) else { return nil }
        return (decoded, parts[3].dropFirst())
    }

    private static func string(_ bytes: [UInt8], charset: String) -> String? {
        switch charset {
        case "utf-8", "utf8", "us-ascii", "ascii":
            return String(decoding: bytes, as: UTF8.self)
        case "iso-8859-1", "latin1", "iso-8859-15", "windows-1252", "cp1252":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default:
            return nil
        }
    }

    private static func quotedPrintable(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "_"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "="):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return bytes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    private static func base64(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            guard let value = base64Value(byte) else {
                if byte == UInt8(ascii: "=") { break }
                return nil
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return bytes
    }

    private static func base64Value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
