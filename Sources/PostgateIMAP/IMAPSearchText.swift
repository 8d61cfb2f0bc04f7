import Foundation
import PostgateIndex
import PostgateMessage

/// What SEARCH matches in a message (RFC 9051 section 6.4.4), as the index keeps it
/// (`MessageSearchText`): header fields decoded (RFC 2047 encoded words), address fields
/// as `name <mailbox@host>` (comments dropped, a comment naming an address kept as its
/// name), and the text of every text part with its transfer encoding undone (RFC 2045
/// section 6) and converted from its charset (RFC 2046 section 4.1.2); an encapsulated
/// message (message/rfc822) adds its header and its text parts. All of it case-folded.
enum IMAPSearchText {
    /// The most body text the index keeps of one message, in octets; a message with more
    /// is searched in its file.
    static let maximumIndexedBody = 1024 * 1024

    /// The search text of a message; `bodyLimit` nil keeps the whole body.
    static func make(_ message: IMAPMessageEntity, bodyLimit: Int? = maximumIndexedBody) -> MessageSearchText {
        func field(_ name: String) -> String {
            let key = name.lowercased()
            return fold(message.fields.filter { $0.key == key }.map { decoded($0) }.joined(separator: "\n"))
        }
        var body = ""
        appendText(of: message, to: &body)
        let complete = bodyLimit.map { body.utf8.count <= $0 } ?? true
        if let bodyLimit, !complete { body = String(decoding: body.utf8.prefix(bodyLimit), as: UTF8.self) }
        return MessageSearchText(
            subject: field("Subject"), from: field("From"), to: field("To"), cc: field("Cc"), bcc: field("Bcc"),
            header: headerText(message), body: fold(body), complete: complete)
    }

    /// Unicode case folding for SEARCH (RFC 9051 section 6.4.4, "case-insensitive"):
    /// lower case in canonical composed form, the same for the text and the search key.
    static func fold(_ text: String) -> String {
        text.lowercased().precomposedStringWithCanonicalMapping
    }

    /// A header field's value as SEARCH sees it: encoded words decoded; address fields
    /// as their addresses, so that comments inside addresses do not hide them.
    static func decoded(_ field: IMAPMessageEntity.Field) -> String {
        guard addressFields.contains(field.key) else {
            return EncodedWordDecoder.decode(field.value)
        }
        return IMAPAddressParser.parse(field.value).compactMap { address -> String? in
            guard let mailbox = address.mailbox else { return nil }
            let spec = address.host.map { "\(mailbox)@\($0)" } ?? mailbox
            guard address.host != nil else { return spec }  // a group's name
            guard let name = address.name, !name.isEmpty else { return spec }
            return "\(EncodedWordDecoder.decode(name)) <\(spec)>"
        }.joined(separator: ", ")
    }

    private static let addressFields: Set<String> = [
        "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc",
    ]

    private static func headerText(_ message: IMAPMessageEntity) -> String {
        fold(message.fields.map { "\($0.name): \(decoded($0))" }.joined(separator: "\n"))
    }

    /// Appends the decoded text of `part` and the parts below it.
    private static func appendText(of part: IMAPMessageEntity, to text: inout String) {
        if part.isMultipart {
            for child in part.children { appendText(of: child, to: &text) }
        } else if part.isMessage {
            let inner = part.children[0]
            text += headerText(inner) + "\n"
            appendText(of: inner, to: &text)
        } else if part.contentType.type == "text" {
            text += bodyText(part) + "\n"
        }
    }

    /// The part's body with its transfer encoding undone, in its charset.
    private static func bodyText(_ part: IMAPMessageEntity) -> String {
        let raw = Array(part.body)
        let bytes: [UInt8]
        switch (part.field("Content-Transfer-Encoding") ?? "").trimmingSpaces.lowercased() {
        case "base64": bytes = Base64Decoder.decode(raw)
        case "quoted-printable": bytes = QuotedPrintableDecoder.decode(raw)
        default: bytes = raw
        }
        return MIMECharset.decode(bytes, charset: part.contentType.parameter("charset"))
    }
}
