/// Decodes RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header field values.
///
/// Follows section 6.2: whitespace between two adjacent encoded words is dropped, so a
/// subject split over several words reads as one; adjacent words in the same charset are
/// joined as bytes before decoding, which keeps a multi-byte character split across two
/// words (common from Outlook and Apple Mail) intact. The RFC 2231 language suffix
/// (`charset*lang`) is accepted. Text that is not a well-formed encoded word is kept as is.
public enum EncodedWordDecoder {
    /// The longest value decoded; longer values are decoded up to this length.
    public static let maximumInputLength = 64 * 1024

    private struct Word {
        var range: Range<Int>
        var charset: String
        var bytes: [UInt8]
    }

    public static func decode(_ value: String) -> String {
        guard value.contains("=?") else { return value }
        let input = Array(value.utf8.prefix(maximumInputLength))
        var output = ""
        var position = 0
        var pending: Word?
        var index = 0
        while index < input.count {
            guard input[index] == UInt8(ascii: "="), let word = parseWord(input, at: index) else {
                index += 1
                continue
            }
            let between = Array(input[position..<index])
            let onlySpace = between.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
            if var previous = pending, onlySpace {
                if previous.charset == word.charset {
                    previous.bytes += word.bytes
                    pending = previous
                } else {
                    output += MIMECharset.decode(previous.bytes, charset: previous.charset)
                    pending = word
                }
            } else {
                if let previous = pending { output += MIMECharset.decode(previous.bytes, charset: previous.charset) }
                output += String(decoding: between, as: UTF8.self)
                pending = word
            }
            position = word.range.upperBound
            index = position
        }
        if let previous = pending { output += MIMECharset.decode(previous.bytes, charset: previous.charset) }
        output += String(decoding: input[position...], as: UTF8.self)
        return output
    }

    /// Parses one encoded word starting at `start` (which holds `=`).
    private static func parseWord(_ input: [UInt8], at start: Int) -> Word? {
        guard start + 1 < input.count, input[start + 1] == UInt8(ascii: "?") else { return nil }
        // Encoded words are at most 75 characters (section 2), but long ones are common: allow 1000.
        let limit = min(input.count, start + 1000)
        var fields: [Range<Int>] = []
        var fieldStart = start + 2
        var index = fieldStart
        while index < limit {
            let byte = input[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { return nil }
            if byte == UInt8(ascii: "?") {
                fields.append(fieldStart..<index)
                fieldStart = index + 1
                if fields.count == 3 {
                    guard index + 1 < input.count, input[index + 1] == UInt8(ascii: "=") else { return nil }
                    return makeWord(input, fields: fields, end: index + 2, start: start)
                }
            }
            index += 1
        }
        return nil
    }

    private static func makeWord(_ input: [UInt8], fields: [Range<Int>], end: Int, start: Int) -> Word? {
        var charset = String(decoding: input[fields[0]], as: UTF8.self).lowercased()
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }
        guard !charset.isEmpty else { return nil }
        let text = Array(input[fields[2]])
        let bytes: [UInt8]
        switch String(decoding: input[fields[1]], as: UTF8.self).uppercased() {
        case "B": bytes = Base64Decoder.decode(text)
        case "Q": bytes = QuotedPrintableDecoder.decodeQ(text)
        default: return nil
        }
        return Word(range: start..<end, charset: charset, bytes: bytes)
    }
}
