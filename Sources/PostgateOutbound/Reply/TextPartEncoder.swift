import Foundation

/// Chooses and applies a Content-Transfer-Encoding for a rewritten text part (RFC 2045
/// section 6): 7bit when every byte is ASCII, every line at most 998 bytes (RFC 5322
/// section 2.1.1) and no line starts with "--" and one of the message's `boundaries` (it
/// would end a part early, RFC 2046 section 5.1.1); base64 otherwise.
public enum TextPartEncoder {
    public static func encode(_ text: String, avoiding boundaries: [String]) -> (encoding: String, body: [UInt8]) {
        let bytes = Array(text.utf8)
        let lines = text.components(separatedBy: "\r\n")
        let delimiters = boundaries.map { "--" + $0 }
        if bytes.allSatisfy({ $0 < 128 && $0 != 0 }),
           lines.allSatisfy({ line in line.utf8.count <= 998 && !delimiters.contains { line.hasPrefix($0) } }) {
            return ("7bit", bytes)
        }
        return ("base64", Array(base64Lines(bytes).utf8) + [13, 10])
    }

    /// Base64 in lines of 76 characters separated by CRLF, no line break at the end.
    public static func base64Lines(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }
}
