import Foundation
import PostgateMessage

/// The MIME side of composing: which parts get the template, splicing them back, the
/// header fields kept from the agent, and the contact card.
extension ReplyComposer {
    /// The top-level Content-* fields and the body that follows the header.
    struct Content {
        var fields: [String]
        var body: [UInt8]
    }

    /// Header fields the gateway writes itself (or never sends); the agent's are dropped.
    static let replacedFields: Set<String> = [
        "from", "sender", "reply-to", "bcc", "resent-bcc", "message-id", "in-reply-to", "references", "return-path",
        "dkim-signature", "mime-version",
    ]

    /// The first inline text/plain and text/html parts outside forwarded messages (by
    /// header range), which get the template.
    static func templateTargets(_ root: MIMEPart) -> [MIMEByteRange] {
        var plain: MIMEByteRange?
        var html: MIMEByteRange?
        func visit(_ part: MIMEPart) {
            if part.contentType.isMultipart { part.parts.forEach(visit); return }
            guard part.isInlineText else { return }
            if part.contentType.subtype == "plain", plain == nil { plain = part.headerRange }
            if part.contentType.subtype == "html", html == nil { html = part.headerRange }
        }
        visit(root)
        return [plain, html].compactMap { $0 }
    }

    /// Decoded bytes of everything but the template targets (a forwarded message counts whole).
    static func attachmentBytes(_ part: MIMEPart, targets: Set<MIMEByteRange>, _ bytes: [UInt8]) -> Int {
        if part.contentType.isMultipart { return part.parts.reduce(0) { $0 + attachmentBytes($1, targets: targets, bytes) } }
        if targets.contains(part.headerRange) { return 0 }
        let body = bytes[part.bodyRange.offset..<min(bytes.count, part.bodyRange.end)]
        guard part.transferEncoding == "base64" else { return body.count }
        let alphabet = body.reduce(0) { count, byte in
            let isBase64 = (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 43 || byte == 47
            return count + (isBase64 ? 1 : 0)
        }
        return alphabet * 3 / 4
    }

    /// The root's Content-* fields and body with the template applied to the targets.
    func rewrittenContent(_ root: MIMEPart, targets: [MIMEByteRange], _ bytes: [UInt8], marker: String?) -> Content {
        let boundaries = root.allParts.compactMap(\.contentType.boundary) + [Self.cardBoundaryPrefix]
        if targets.contains(root.headerRange) {
            let (fields, body) = templated(root, bytes, marker: marker, boundaries: boundaries)
            return Content(fields: Self.contentFields(bytes, range: root.headerRange, replacing: true) + fields, body: body)
        }
        var body = Array(bytes[min(bytes.count, root.bodyRange.offset)...])
        let base = root.bodyRange.offset
        for part in root.allParts.dropFirst().filter({ targets.contains($0.headerRange) }).sorted(by: { $0.headerRange.offset > $1.headerRange.offset }) {
            let (fields, newBody) = templated(part, bytes, marker: marker, boundaries: boundaries)
            let kept = Self.fieldLines(bytes, range: part.headerRange).filter { !Self.isEncodingField($0) }
            let replacement = Array(((kept + fields).joined(separator: "\r\n") + "\r\n\r\n").utf8) + newBody
            body.replaceSubrange((part.headerRange.offset - base)..<(part.bodyRange.end - base), with: replacement)
        }
        return Content(fields: Self.contentFields(bytes, range: root.headerRange, replacing: false), body: body)
    }

    /// The part's text with the template, re-encoded: its new Content-Type and
    /// Content-Transfer-Encoding fields and body.
    private func templated(_ part: MIMEPart, _ bytes: [UInt8], marker: String?, boundaries: [String]) -> (fields: [String], body: [UInt8]) {
        let source = MIMEBytesSource(bytes)
        let text = (try? part.decodedText(from: source, maximumBytes: bytes.count)) ?? ""
        let isHTML = part.contentType.subtype == "html"
        let result = isHTML ? TemplateInserter.html(text, channel: channel, marker: marker)
            : TemplateInserter.plain(text, channel: channel, marker: marker)
        let (encoding, body) = TextPartEncoder.encode(result, avoiding: boundaries)
        return (["Content-Type: text/\(isHTML ? "html" : "plain"); charset=utf-8", "Content-Transfer-Encoding: \(encoding)"], body)
    }

    /// The agent's header fields that are neither replaced nor Content-*, as raw lines.
    static func keptFields(_ bytes: [UInt8], root: MIMEPart) -> [String] {
        fieldLines(bytes, range: root.headerRange).filter { line in
            let name = fieldName(line)
            return !replacedFields.contains(name) && !name.hasPrefix("content-")
        }
    }

    /// The root's Content-* fields; without Content-Type and -Transfer-Encoding with `replacing`.
    private static func contentFields(_ bytes: [UInt8], range: MIMEByteRange, replacing: Bool) -> [String] {
        fieldLines(bytes, range: range).filter { fieldName($0).hasPrefix("content-") && !(replacing && isEncodingField($0)) }
    }

    private static func isEncodingField(_ line: String) -> Bool {
        ["content-type", "content-transfer-encoding"].contains(fieldName(line))
    }

    /// The header fields in `range`, each with its continuation lines, joined by CRLF.
    static func fieldLines(_ bytes: [UInt8], range: MIMEByteRange) -> [String] {
        var fields: [String] = []
        for rawLine in bytes[range.offset..<min(bytes.count, range.end)].split(separator: 10, omittingEmptySubsequences: false) {
            let line = String(decoding: rawLine.last == 13 ? rawLine.dropLast() : rawLine, as: UTF8.self)
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t", !fields.isEmpty { fields[fields.count - 1] += "\r\n" + line } else { fields.append(line) }
        }
        return fields
    }

    private static func fieldName(_ line: String) -> String {
        String(line.prefix { $0 != ":" }).trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The start of the contact card's multipart boundary.
    static let cardBoundaryPrefix = "=_postgate-card-"

    /// `content` as the first part of a multipart/mixed whose second part is the vCard.
    static func withContactCard(_ content: Content, card: String, seed: String) -> Content {
        let boundary = cardBoundaryPrefix + String(seed.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(40))
        let inner = Array((content.fields.joined(separator: "\r\n") + "\r\n\r\n").utf8) + content.body
        let cardPart = [
            "Content-Type: text/vcard; charset=utf-8; name=\"contact.vcf\"",
            "Content-Disposition: attachment; filename=\"contact.vcf\"",
            "Content-Transfer-Encoding: base64", "", TextPartEncoder.base64Lines(Array(card.utf8)),
        ].joined(separator: "\r\n")
        var body = Array("--\(boundary)\r\n".utf8) + inner
        body += Array("\r\n--\(boundary)\r\n\(cardPart)\r\n--\(boundary)--\r\n".utf8)
        return Content(fields: ["Content-Type: multipart/mixed; boundary=\"\(boundary)\""], body: body)
    }
}
