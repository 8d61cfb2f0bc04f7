import PostgateStore

/// Writes one FETCH response (RFC 9051 section 7.5.2), reading the message file only
/// when an item needs its content.
struct IMAPFetchResponder {
    let store: MailStore
    let mailbox: VisibleMailbox

    mutating func write(_ message: MessageSummary, sequence: Int, attributes: [IMAPFetchAttribute], into w: inout IMAPResponseWriter) {
        var entity: IMAPMessageEntity?
        if attributes.contains(where: \.needsContent) {
            guard let bytes = try? store.content(of: message, in: mailbox) else { return }
            entity = IMAPMessageEntity(bytes)
        }
        var items = attributes
        if attributes.contains(where: \.setsSeen), !items.contains(.flags) { items.append(.flags) }
        w.raw("* \(sequence) FETCH (")
        for (position, attribute) in items.enumerated() {
            if position > 0 { w.raw(" ") }
            item(attribute, message, entity, into: &w)
        }
        w.raw(")")
        w.crlf()
    }

    private func item(_ attribute: IMAPFetchAttribute, _ message: MessageSummary, _ entity: IMAPMessageEntity?, into w: inout IMAPResponseWriter) {
        switch attribute {
        case .uid: w.raw("UID \(message.uid)")
        case .flags: w.raw("FLAGS (\(message.flags.imapNames.joined(separator: " ")))")
        case .internalDate: w.raw("INTERNALDATE \"\(IMAPDateTime.format(message.internalDate))\"")
        case .rfc822Size: w.raw("RFC822.SIZE \(message.size)")
        case .envelope:
            w.raw("ENVELOPE ")
            IMAPBodyStructureWriter.envelope(entity!, into: &w)
        case .bodyStructure, .body:
            w.raw(attribute == .body ? "BODY " : "BODYSTRUCTURE ")
            IMAPBodyStructureWriter.structure(entity!, extended: attribute == .bodyStructure, into: &w)
        case .rfc822:
            w.raw("RFC822 ")
            w.literal(entity!.source)
        case .rfc822Header:
            w.raw("RFC822.HEADER ")
            w.literal(entity!.header)
        case .rfc822Text:
            w.raw("RFC822.TEXT ")
            w.literal(entity!.body)
        case .section(let section, _, let partial):
            w.raw("BODY[\(section.description)]" + (partial.map { "<\($0.lowerBound)>" } ?? "") + " ")
            let bytes = Self.content(of: section, in: entity!)
            guard let bytes else { return w.raw("NIL") }
            guard let partial else { return w.literal(bytes) }
            let start = min(partial.lowerBound, bytes.count)
            let end = min(partial.upperBound + 1, bytes.count)
            w.literal(bytes[(bytes.startIndex + start)..<(bytes.startIndex + end)])
        }
    }

    /// The octets of a section; nil if the part does not exist.
    static func content(of section: IMAPSection, in message: IMAPMessageEntity) -> ArraySlice<UInt8>? {
        guard let part = message.part(section.part) else { return nil }
        let isTop = section.part.isEmpty
        // HEADER and TEXT of a part apply to the message it encapsulates (message/rfc822).
        let target = !isTop && part.isMessage ? part.children[0] : part
        switch section.text {
        case .full: return isTop ? part.source[part.headerRange.lowerBound..<part.bodyRange.upperBound] : part.body
        case .header: return target.header
        case .text: return target.body
        case .mime: return part.header
        case .headerFields(let names): return ArraySlice(target.headerFields(names, exclude: false))
        case .headerFieldsNot(let names): return ArraySlice(target.headerFields(names, exclude: true))
        }
    }
}
