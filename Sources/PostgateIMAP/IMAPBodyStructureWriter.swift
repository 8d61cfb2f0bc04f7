/// Writes ENVELOPE, BODY and BODYSTRUCTURE (RFC 9051 section 7.5.2) for a parsed message.
/// Header values are given raw (encoded words included), as the RFC asks.
enum IMAPBodyStructureWriter {
    static func envelope(_ message: IMAPMessageEntity, into w: inout IMAPResponseWriter) {
        w.raw("(")
        w.nstring(message.field("Date"))
        w.raw(" ")
        w.nstring(message.field("Subject"))
        let from = message.field("From")
        for name in ["From", "Sender", "Reply-To", "To", "Cc", "Bcc"] {
            w.raw(" ")
            var value = message.field(name)
            // Sender and Reply-To default to From when absent or empty (RFC 3501 section 7.4.2).
            if name == "Sender" || name == "Reply-To", value.map({ IMAPAddressParser.parse($0).isEmpty }) ?? true { value = from }
            addresses(value, into: &w)
        }
        w.raw(" ")
        w.nstring(message.field("In-Reply-To"))
        w.raw(" ")
        w.nstring(message.field("Message-ID"))
        w.raw(")")
    }

    /// BODYSTRUCTURE with extension data, or BODY without (`extended: false`).
    static func structure(_ entity: IMAPMessageEntity, extended: Bool, into w: inout IMAPResponseWriter) {
        let type = entity.contentType
        if entity.isMultipart {
            w.raw("(")
            if entity.children.isEmpty {
                // A multipart without parts is shown as an empty text part (as Dovecot does).
                w.raw("(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)")
            }
            for child in entity.children { structure(child, extended: extended, into: &w) }
            w.raw(" ")
            w.string(type.subtype)
            if extended {
                w.raw(" ")
                parameterList(type.parameters, into: &w)
                extensionTail(entity, into: &w)
            }
            w.raw(")")
            return
        }
        w.raw("(")
        w.string(type.type)
        w.raw(" ")
        w.string(type.subtype)
        w.raw(" ")
        // A text part without a charset is US-ASCII (RFC 2046 section 4.1.2), and says so.
        let defaultCharset = type.type == "text" && type.parameter("charset") == nil
        parameterList(defaultCharset ? [("charset", "us-ascii")] + type.parameters : type.parameters, into: &w)
        w.raw(" ")
        w.nstring(entity.field("Content-ID"))
        w.raw(" ")
        w.nstring(entity.field("Content-Description"))
        w.raw(" ")
        w.string((entity.field("Content-Transfer-Encoding") ?? "7bit").lowercased())
        w.raw(" \(entity.body.count)")
        if entity.isMessage {
            let inner = entity.children[0]
            w.raw(" ")
            envelope(inner, into: &w)
            w.raw(" ")
            structure(inner, extended: extended, into: &w)
            w.raw(" \(entity.bodyLineCount)")
        } else if type.type == "text" {
            w.raw(" \(entity.bodyLineCount)")
        }
        if extended {
            w.raw(" ")
            w.nstring(entity.field("Content-MD5"))
            extensionTail(entity, into: &w)
        }
        w.raw(")")
    }

    /// Disposition, language and location (section 7.5.2, `body-ext-1part`).
    private static func extensionTail(_ entity: IMAPMessageEntity, into w: inout IMAPResponseWriter) {
        w.raw(" ")
        if let disposition = entity.field("Content-Disposition") {
            let items = IMAPHeaderValue.splitParameters(disposition)
            w.raw("(")
            w.string(items.first ?? "attachment")
            w.raw(" ")
            parameterList(IMAPHeaderValue.parameters(items.dropFirst()), into: &w)
            w.raw(")")
        } else {
            w.raw("NIL")
        }
        w.raw(" ")
        w.nstring(entity.field("Content-Language"))
        w.raw(" ")
        w.nstring(entity.field("Content-Location"))
    }

    private static func parameterList(_ parameters: [(String, String)], into w: inout IMAPResponseWriter) {
        guard !parameters.isEmpty else { return w.raw("NIL") }
        w.raw("(")
        for (index, (name, value)) in parameters.enumerated() {
            if index > 0 { w.raw(" ") }
            w.string(name)
            w.raw(" ")
            w.string(value)
        }
        w.raw(")")
    }

    // MARK: - Addresses

    /// `((name adl mailbox host) …)` or NIL; groups as `(NIL NIL group NIL) … (NIL NIL NIL NIL)`.
    static func addresses(_ value: String?, into w: inout IMAPResponseWriter) {
        guard let value, case let list = IMAPAddressParser.parse(value), !list.isEmpty else { return w.raw("NIL") }
        w.raw("(")
        for address in list {
            w.raw("(")
            w.nstring(address.name)
            w.raw(" ")
            w.nstring(address.route)
            w.raw(" ")
            w.nstring(address.mailbox)
            w.raw(" ")
            w.nstring(address.host)
            w.raw(")")
        }
        w.raw(")")
    }
}
