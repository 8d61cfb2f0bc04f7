/// "The text of the message" for snippets and keyword search: the decoded first inline
/// text/plain part, else the first inline text/html part with its tags stripped. Parts of
/// attached (message/rfc822) messages count only when the message has no text of its own.
public enum MIMETextExtractor {
    /// The message text, whitespace as in the source; empty when there is none.
    /// `attachedMessages` false: the text of attached messages never counts.
    public static func text(of root: MIMEPart, from source: some MIMEBodySource,
                            maximumBytes: Int = 1024 * 1024, attachedMessages: Bool = true) throws -> String {
        for includeAttached in attachedMessages ? [false, true] : [false] {
            let candidates = leaves(of: root, includeAttached: includeAttached)
            if let plain = candidates.first(where: { $0.contentType.subtype == "plain" }) {
                return try plain.decodedText(from: source, maximumBytes: maximumBytes)
            }
            if let html = candidates.first(where: { $0.contentType.subtype == "html" }) {
                return HTMLTextExtractor.text(fromHTML: try html.decodedText(from: source, maximumBytes: maximumBytes))
            }
        }
        return ""
    }

    /// One line of at most `maximumLength` characters: whitespace runs become one space,
    /// quoted lines (`>`) are left out, and an ellipsis marks a cut.
    public static func snippet(_ text: String, maximumLength: Int = 100) -> String {
        let lines = text.split(whereSeparator: \.isNewline).filter { !String($0).trimmingSpaces().hasPrefix(">") }
        let words = lines.joined(separator: " ").split(whereSeparator: \.isWhitespace)
        let joined = words.joined(separator: " ")
        guard joined.count > maximumLength else { return joined }
        return String(joined.prefix(max(0, maximumLength - 1))) + "…"
    }

    /// Inline text leaves in order, descending into multiparts and, when asked, into
    /// encapsulated messages.
    private static func leaves(of part: MIMEPart, includeAttached: Bool) -> [MIMEPart] {
        if part.contentType.isMultipart {
            return part.parts.flatMap { leaves(of: $0, includeAttached: includeAttached) }
        }
        if part.contentType.isEncapsulatedMessage {
            return includeAttached ? part.parts.flatMap { leaves(of: $0, includeAttached: true) } : []
        }
        return part.isInlineText && (part.contentType.subtype == "plain" || part.contentType.subtype == "html")
            ? [part] : []
    }
}
