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

    /// How a part is protected by a signature or encryption, whose bytes the composer never
    /// changes: multipart/signed (RFC 1847 section 2.1, as PGP/MIME, RFC 3156, and S/MIME,
    /// RFC 8551 section 3.5, use it) and opaque-signed S/MIME (`smime-type=signed-data`)
    /// stay valid inside a multipart/mixed that adds parts around them; multipart/encrypted
    /// (RFC 1847 section 2.2) and the other application/pkcs7-mime objects are encrypted.
    enum Protection {
        case signed
        case encrypted
    }

    static func protection(of part: MIMEPart) -> Protection? {
        let type = part.contentType
        switch (type.type, type.subtype) {
        case ("multipart", "signed"): return .signed
        case ("multipart", "encrypted"): return .encrypted
        case ("application", "pkcs7-mime"), ("application", "x-pkcs7-mime"):
            return type.parameters["smime-type"]?.lowercased() == "signed-data" ? .signed : .encrypted
        default: return nil
        }
    }

    /// The first inline text/plain and text/html parts outside forwarded messages (by
    /// header range), which get the template; never a part inside a signed or encrypted one.
    static func templateTargets(_ root: MIMEPart) -> [MIMEByteRange] {
        var plain: MIMEByteRange?
        var html: MIMEByteRange?
        func visit(_ part: MIMEPart) {
            guard protection(of: part) == nil else { return }
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

    /// The multipart boundaries of the reply, which no line of text written into it may start.
    static func boundaries(of root: MIMEPart) -> [String] {
        root.allParts.compactMap(\.contentType.boundary) + [cardBoundaryPrefix]
    }

    /// The root's Content-* fields and body with the template applied to the targets.
    func rewrittenContent(_ root: MIMEPart, targets: [MIMEByteRange], _ bytes: [UInt8], marker: String?) -> Content {
        let boundaries = Self.boundaries(of: root)
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
        // format=flowed and its delsp (RFC 3676 section 4.1) are kept: the text's soft line
        // breaks mean the same with the lines the template adds.
        let flowed = !isHTML && part.contentType.parameters["format"]?.lowercased() == "flowed"
        let result = isHTML ? TemplateInserter.html(text, channel: channel, marker: marker)
            : TemplateInserter.plain(text, channel: channel, marker: marker, flowed: flowed)
        let (encoding, body) = TextPartEncoder.encode(result, avoiding: boundaries)
        var type = "text/\(isHTML ? "html" : "plain"); charset=utf-8"
        if flowed {
            type += "; format=flowed"
            if let delsp = part.contentType.parameters["delsp"]?.lowercased(), delsp == "yes" || delsp == "no" { type += "; delsp=\(delsp)" }
        }
        return (["Content-Type: \(type)", "Content-Transfer-Encoding: \(encoding)"], body)
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

    /// The start of the boundary of the multipart/mixed that adds parts around the reply
    /// (the contact card; the template around a signed reply).
    static let cardBoundaryPrefix = "=_postgate-card-"

    /// The contact card as a body part (RFC 6350 section 10.1).
    static func cardPart(_ card: String) -> [UInt8] {
        Array([
            "Content-Type: text/vcard; charset=utf-8; name=\"contact.vcf\"",
            "Content-Disposition: attachment; filename=\"contact.vcf\"",
            "Content-Transfer-Encoding: base64", "", TextPartEncoder.base64Lines(Array(card.utf8)),
        ].joined(separator: "\r\n").utf8)
    }

    /// The template's header and its tail (footer, agent's signature, marker), each an inline
    /// text part, to go before and after a signed reply whose own text cannot take them:
    /// text/plain, or text/html where the channel has only the HTML form.
    func templateParts(marker: String?, avoiding boundaries: [String]) -> (before: [[UInt8]], after: [[UInt8]]) {
        func part(plain: String?, html: String?) -> [UInt8]? {
            guard let text = plain ?? html.map(TemplateInserter.crlf) else { return nil }
            let (encoding, body) = TextPartEncoder.encode(text.trimmingTrailingLineBreaks() + "\r\n", avoiding: boundaries)
            let fields = ["Content-Type: text/\(plain == nil ? "html" : "plain"); charset=utf-8", "Content-Disposition: inline",
                          "Content-Transfer-Encoding: \(encoding)"]
            return Array((fields.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
        }
        let head = part(plain: TemplateInserter.plainHead(channel), html: TemplateInserter.htmlHead(channel))
        // The marker alone is no reason to wrap: the signed Message-ID threads the answer.
        let plainTail = TemplateInserter.plainTail(channel, marker: nil).flatMap { _ in TemplateInserter.plainTail(channel, marker: marker) }
        let htmlTail = TemplateInserter.htmlTail(channel, marker: nil).flatMap { _ in TemplateInserter.htmlTail(channel, marker: marker) }
        let after = part(plain: plainTail, html: htmlTail)
        return (head.map { [$0] } ?? [], after.map { [$0] } ?? [])
    }

    /// `content` as one part of a multipart/mixed, between the parts `before` and `after`.
    static func wrapped(_ content: Content, before: [[UInt8]], after: [[UInt8]], seed: String) -> Content {
        let boundary = cardBoundaryPrefix + String(seed.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(40))
        let inner = Array((content.fields.joined(separator: "\r\n") + "\r\n\r\n").utf8) + content.body
        var body: [UInt8] = []
        for part in before + [inner] + after {
            body += Array("--\(boundary)\r\n".utf8) + part + [13, 10]
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return Content(fields: ["Content-Type: multipart/mixed; boundary=\"\(boundary)\""], body: body)
    }
}
