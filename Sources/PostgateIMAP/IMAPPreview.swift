import PostgateMessage

/// The PREVIEW of a message (RFC 8970): a short plain text a client shows in a message list.
///
/// RFC 8970 section 3.1 leaves the algorithm to the server within limits: the text of the
/// message, not its header fields; transfer encoding and charset undone; no markup; at most
/// 256 characters. Postgate takes the message's own text as `MIMETextExtractor` finds it
/// (the first inline text/plain part, else text/html without its tags; an attached message's
/// text does not count), and, as Dovecot does, leaves out quoted lines (starting with `>`)
/// unless there is nothing else, makes every run of whitespace one space, and keeps at most
/// 200 characters.
enum IMAPPreview {
    /// RFC 8970 section 3.1: at most 256 characters; 200, as Dovecot gives.
    static let maximumLength = 200
    /// The most encoded octets of the text part read to make a preview.
    static let maximumTextBytes = 64 * 1024

    static func make(_ message: [UInt8]) -> String {
        let text: String
        do {
            text = try MIMETextExtractor.text(of: MIMEParser().parse(message), from: MIMEBytesSource(message),
                                              maximumBytes: maximumTextBytes, attachedMessages: false)
        } catch {
            // A message in memory is always readable: `MIMEBytesSource` does not fail.
            return ""
        }
        return make(text: text)
    }

    /// The preview of a text: its unquoted lines, or, when it has none, `>` and its quoted
    /// lines without their `>`.
    static func make(text: String) -> String {
        var unquoted: [Substring] = []
        var quoted: [Substring] = []
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix(">") { quoted.append(line.drop { $0 == ">" }) } else { unquoted.append(line) }
        }
        let onlyQuoted = unquoted.allSatisfy { $0.allSatisfy(\.isWhitespace) }
        var preview = (onlyQuoted ? quoted : unquoted).flatMap { $0.split(whereSeparator: \.isWhitespace) }.joined(separator: " ")
        if onlyQuoted, !preview.isEmpty { preview = ">" + preview }
        guard preview.count > maximumLength else { return preview }
        return String(preview.prefix(maximumLength).reversed().drop(while: \.isWhitespace).reversed())
    }
}
