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
            // Sender and Reply-To default to From (section 7.5.2).
            let value = message.field(name) ?? ((name == "Sender" || name == "Reply-To") ? from : nil)
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
        parameterList(type.parameters, into: &w)
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
            w.raw(" NIL ")
            w.nstring(address.mailbox)
            w.raw(" ")
            w.nstring(address.host)
            w.raw(")")
        }
        w.raw(")")
    }
}

/// Splits an address-list header value into IMAP's address structures (RFC 5322
/// section 3.4, leniently: what real mail contains, not only what the grammar allows).
enum IMAPAddressParser {
    struct Address: Equatable {
        var name: String?
        var mailbox: String?
        var host: String?
    }

    static func parse(_ value: String) -> [Address] {
        var result: [Address] = []
        for item in split(IMAPHeaderValue.stripComments(value), on: [",", ";"], keepingGroups: true) {
            var text = item.trimmingSpaces
            if let colon = groupColon(text) {
                result.append(Address(name: nil, mailbox: text[..<colon].trimmingSpaces, host: nil))
                text = String(text[text.index(after: colon)...]).trimmingSpaces
                for member in split(text, on: [","], keepingGroups: false) where !member.trimmingSpaces.isEmpty {
                    result.append(single(member))
                }
                result.append(Address(name: nil, mailbox: nil, host: nil))
            } else if !text.isEmpty {
                result.append(single(text))
            }
        }
        return result
    }

    private static func single(_ text: String) -> Address {
        var name: String?
        var spec = text.trimmingSpaces
        if let open = spec.lastIndex(of: "<"), let close = spec.lastIndex(of: ">"), open < close {
            let phrase = spec[..<open].trimmingSpaces
            if !phrase.isEmpty { name = unquote(phrase) }
            spec = String(spec[spec.index(after: open)..<close])
        }
        if let colon = spec.lastIndex(of: ":"), spec.hasPrefix("@") { spec = String(spec[spec.index(after: colon)...]) }
        guard let at = spec.lastIndex(of: "@") else { return Address(name: name, mailbox: spec.isEmpty ? nil : spec, host: nil) }
        return Address(name: name, mailbox: String(spec[..<at]), host: String(spec[spec.index(after: at)...]))
    }

    private static func unquote(_ phrase: String) -> String {
        guard phrase.hasPrefix("\""), phrase.hasSuffix("\""), phrase.count >= 2 else { return phrase }
        return String(phrase.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
    }

    /// The `:` that starts a group (outside quotes and angle brackets), if any.
    private static func groupColon(_ text: String) -> String.Index? {
        var quoted = false
        var angle = false
        for index in text.indices {
            switch text[index] {
            case "\"": quoted.toggle()
            case "<" where !quoted: angle = true
            case ">" where !quoted: angle = false
            case ":" where !quoted && !angle: return index
            default: break
            }
        }
        return nil
    }

    /// Splits at `separators` outside quotes and angle brackets; with `keepingGroups`,
    /// a group (`name: a, b;`) stays one item.
    private static func split(_ text: String, on separators: Set<Character>, keepingGroups: Bool) -> [String] {
        var items: [String] = []
        var current = ""
        var quoted = false
        var angle = false
        var inGroup = false
        for character in text {
            switch character {
            case "\"": quoted.toggle()
            case "<" where !quoted: angle = true
            case ">" where !quoted: angle = false
            case ":" where !quoted && !angle && keepingGroups: inGroup = true
            default: break
            }
            if separators.contains(character), !quoted, !angle, !(inGroup && character == ",") {
                if character == ";" { inGroup = false }
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current)
        return items
    }
}
