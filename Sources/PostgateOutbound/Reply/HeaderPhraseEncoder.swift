import Foundation

/// Writes a display name as an RFC 5322 phrase (section 3.2.5): an atom sequence when it
/// can be, a quoted-string when it has specials, RFC 2047 encoded words (UTF-8, base64, at
/// most 75 characters each, section 2) when it has non-ASCII characters.
public enum HeaderPhraseEncoder {
    /// Bytes of UTF-8 per encoded word: 45 bytes make 60 base64 characters, 72 with
    /// `=?UTF-8?B?` and `?=`.
    static let bytesPerWord = 45

    public static func phrase(_ name: String) -> String {
        if name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) {
            return isAtomText(name) ? name : quoted(name)
        }
        return encodedWords(name).joined(separator: " ")
    }

    /// `"Name" <address>` or just `address` for an empty name.
    public static func mailbox(name: String?, address: String) -> String {
        guard let name, !name.isEmpty else { return address }
        return "\(phrase(name)) <\(address)>"
    }

    private static func isAtomText(_ text: String) -> Bool {
        let specials = Set("()<>[]:;@\\,.\"")
        return !text.isEmpty && !text.hasPrefix(" ") && !text.hasSuffix(" ") && !text.contains("  ")
            && !text.contains { specials.contains($0) }
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Encoded words, never splitting a character between two words (RFC 2047 section 5).
    public static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > bytesPerWord, !chunk.isEmpty {
                words.append(word(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(word(chunk)) }
        return words
    }

    private static func word(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }
}
