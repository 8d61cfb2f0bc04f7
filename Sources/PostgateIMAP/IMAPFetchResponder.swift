import Logging
import PostgateStore
import PostgateMaildir
import PostgateIndex

/// Writes FETCH responses (RFC 9051 section 7.5.2), reading a message file only when an
/// item needs it, and parsing its MIME structure only when an item needs that.
///
/// ENVELOPE, BODYSTRUCTURE and BODY come from the index's fetch cache, and PREVIEW from the
/// previews it keeps; the responder fills both for messages that have none yet, in batches
/// (`storePending`). They are only caches: when one cannot be read or written, the items
/// come from the files, and the failure is logged.
struct IMAPFetchResponder<Store: IMAPMailStore> {
    let store: Store
    let mailbox: VisibleMailbox
    let attributes: [IMAPFetchAttribute]
    let logger: Logger
    /// The cached items asked for (none: the fetch cache is not read).
    private let cachedItems: Set<CachedFetchBatch.Item>
    /// An item needs every message's size, date or file name.
    private let detailsAlways: Bool
    /// An item needs every message's file.
    private let fileAlways: Bool
    private var cached = CachedFetchBatch()
    /// Items computed from files and not yet kept in the index.
    private var pending: [UInt32: CachedFetchItems] = [:]
    /// `(…)` of each set of flags met so far, as sent.
    private var flagLists: [FlagListKey: [UInt8]] = [:]
    /// PREVIEW is asked: the batch's kept previews are read, and made from the files where missing.
    private let wantsPreview: Bool
    /// The batch's previews, kept or made now; those made and not kept yet in `pendingPreviews`.
    private var previews: [UInt32: String] = [:]
    private var pendingPreviews: [UInt32: String] = [:]
    /// EMAILID or THREADID is asked: the object keys of the batch are read (`prepareObjectKeys`).
    let needsObjectKeys: Bool
    private var objectKeys: [UInt32: MessageObjectKeys] = [:]

    private struct FlagListKey: Hashable {
        var flags: MessageFlags
        var recent: Bool
    }

    static var pendingLimit: Int { 1000 }

    /// `condStore`: a `\Seen` set by the FETCH is reported with MODSEQ (RFC 7162 section 3.1.4.1).
    init(store: Store, mailbox: VisibleMailbox, attributes: [IMAPFetchAttribute], condStore: Bool = false, logger: Logger) {
        self.store = store
        self.mailbox = mailbox
        self.logger = logger
        var items = attributes
        if attributes.contains(where: \.setsSeen), !items.contains(.flags) { items.append(.flags) }
        if condStore, attributes.contains(where: \.setsSeen), !items.contains(.modSeq) { items.append(.modSeq) }
        self.attributes = items
        cachedItems = Set(items.compactMap(\.cachedItem))
        detailsAlways = items.contains(where: \.needsDetails)
        fileAlways = items.contains(where: \.needsFile)
        needsObjectKeys = items.contains { $0 == .emailID || $0 == .threadID }
        wantsPreview = items.contains { if case .preview = $0 { true } else { false } }
    }

    /// Reads what the object identifiers (RFC 8474) of the messages about to be written
    /// are made of, when EMAILID or THREADID is asked (one query per batch).
    mutating func prepareObjectKeys(_ uids: ClosedRange<UInt32>) throws(StoreError) {
        guard needsObjectKeys else { return }
        objectKeys = try store.objectKeys(in: mailbox, uids: uids)
    }

    private var usesCache: Bool { !cachedItems.isEmpty }

    /// Loads the cache rows of the messages about to be written, whose UIDs are in `uids`
    /// (one query per batch). Rows that cannot be read are computed from the files.
    mutating func prepare(_ uids: ClosedRange<UInt32>) {
        if wantsPreview {
            do {
                previews = try store.cachedPreviews(in: mailbox, uids: uids)
            } catch {
                previews = [:]
                logger.warning("previews not readable; making them from the message files", metadata: [
                    "mailbox": "\(mailbox.path)", "uids": "\(uids.lowerBound):\(uids.upperBound)", "error": "\(error)",
                ])
            }
        }
        guard usesCache else { return }
        do {
            cached = try store.cachedFetchBatch(in: mailbox, uids: uids, items: cachedItems)
        } catch {
            cached = CachedFetchBatch()
            logger.warning("fetch cache not readable; reading the message files instead", metadata: [
                "mailbox": "\(mailbox.path)", "uids": "\(uids.lowerBound):\(uids.upperBound)", "error": "\(error)",
            ])
        }
    }

    /// What `write` did.
    enum Outcome {
        case written
        /// The message's file is gone (expunged by another session since this one looked):
        /// nothing was written for it.
        case expunged
    }

    /// Some messages may need their size, date or file name (`MessageSummary.hasDetails`).
    var mayNeedDetails: Bool { detailsAlways || usesCache || wantsPreview }

    /// The message with `uid` needs its size, date or file name: for an item, or to fill the cache.
    func needsDetails(uid: UInt32) -> Bool {
        detailsAlways || (usesCache && cachedItems(of: uid) == nil) || (wantsPreview && previews[uid] == nil)
    }

    /// Writes the FETCH response of `message`, reading its file if an item needs it.
    /// - Throws: the store's error when the file cannot be read; nothing is written then.
    mutating func write(
        _ message: MessageSummary, sequence: Int, recent: Bool = false, into w: inout IMAPResponseWriter
    ) throws(StoreError) -> Outcome {
        // A message without a row was expunged by another session since this one looked.
        if needsObjectKeys, objectKeys[message.uid] == nil { return .expunged }
        var items = cachedItems(of: message.uid)
        var content: IMAPFetchContent?
        if fileAlways || (usesCache && items == nil) || (wantsPreview && previews[message.uid] == nil) {
            guard let bytes = try store.content(of: message, in: mailbox) else { return .expunged }
            content = IMAPFetchContent(bytes)
        }
        if wantsPreview, previews[message.uid] == nil, let content {
            let preview = IMAPPreview.make(content.bytes)
            previews[message.uid] = preview
            pendingPreviews[message.uid] = preview
        }
        if usesCache, items == nil, var loaded = content {
            let computed = Self.cacheItems(loaded.entity())
            pending[message.uid] = computed
            items = .computed(computed)
            content = loaded
        }
        w.raw("* ")
        w.number(sequence)
        w.raw(" FETCH (")
        for (position, attribute) in attributes.enumerated() {
            if position > 0 { w.raw(" ") }
            item(attribute, message, recent, items, &content, into: &w)
        }
        w.raw(")")
        w.crlf()
        return .written
    }

    /// Keeps the computed items once there are enough of them (or always, with `force`).
    /// A failure is logged: the items are computed again by the next FETCH that needs them.
    mutating func storePending(force: Bool) {
        if !pendingPreviews.isEmpty, force || pendingPreviews.count >= Self.pendingLimit {
            keep(pendingPreviews.count, failure: "previews not kept; they will be made from the files again") { (store, mailbox) throws(StoreError) in
                try store.storePreviews(pendingPreviews, in: mailbox)
            }
            pendingPreviews = [:]
        }
        guard !pending.isEmpty, force || pending.count >= Self.pendingLimit else { return }
        keep(pending.count, failure: "fetch cache not updated; the items will be computed from the files again") { (store, mailbox) throws(StoreError) in
            try store.storeFetchItems(pending, in: mailbox)
        }
        pending = [:]
    }

    /// Runs `write`, which keeps `count` messages' items in the index; a failure is logged.
    private func keep(_ count: Int, failure: Logger.Message, _ write: (Store, VisibleMailbox) throws(StoreError) -> Void) {
        do {
            try write(store, mailbox)
        } catch {
            logger.warning(failure, metadata: ["mailbox": "\(mailbox.path)", "messages": "\(count)", "error": "\(error)"])
        }
    }

    /// Where a message's cached items are: in the batch read from the index, or computed now.
    private enum CachedItems {
        case batch(Int)
        case computed(CachedFetchItems)
    }

    /// The message's cached items, from the batch or computed earlier in this FETCH; nil when
    /// the cache is not used or holds nothing for it yet.
    private func cachedItems(of uid: UInt32) -> CachedItems? {
        guard usesCache else { return nil }
        if let position = cached.position(of: uid) { return .batch(position) }
        return pending[uid].map(CachedItems.computed)
    }

    private func octets(_ item: CachedFetchBatch.Item, of items: CachedItems) -> ArraySlice<UInt8> {
        switch items {
        case .batch(let position): cached.octets(item, at: position)
        case .computed(let computed): computed[keyPath: item.field][...]
        }
    }

    /// `(\Seen …)`, made once per set of flags.
    /// With `\Recent` last where this session sees the message as recent (RFC 3501 section 2.3.2).
    private mutating func writeFlags(_ flags: MessageFlags, recent: Bool, into w: inout IMAPResponseWriter) {
        guard recent || flags != MessageFlags() else { return w.raw("()") }
        if let list = flagLists[FlagListKey(flags: flags, recent: recent)] { return w.raw(list) }
        var list = IMAPResponseWriter()
        list.flagList(flags.imapNames + (recent ? ["\\Recent"] : []))
        flagLists[FlagListKey(flags: flags, recent: recent)] = list.bytes
        w.raw(list.bytes)
    }

    private mutating func item(
        _ attribute: IMAPFetchAttribute, _ message: MessageSummary, _ recent: Bool, _ items: CachedItems?,
        _ content: inout IMAPFetchContent?, into w: inout IMAPResponseWriter
    ) {
        switch attribute {
        case .uid:
            w.raw("UID ")
            w.number(message.uid)
        case .flags:
            w.raw("FLAGS ")
            writeFlags(message.flags, recent: recent, into: &w)
        case .internalDate: w.raw("INTERNALDATE \"\(IMAPDateTime.format(message.internalDate))\"")
        case .saveDate: w.raw("SAVEDATE \"\(IMAPDateTime.format(message.saveDate))\"")
        case .emailID: w.raw("EMAILID (\(ObjectIDs.email(objectKeys[message.uid]!)))")
        // RFC 8474 section 5.2: NIL where the message belongs to no thread.
        case .threadID: w.raw(ObjectIDs.thread(objectKeys[message.uid]!).map { "THREADID (\($0))" } ?? "THREADID NIL")
        case .rfc822Size:
            w.raw("RFC822.SIZE ")
            w.number(message.size)
        case .modSeq:
            w.raw("MODSEQ (")
            w.number(message.modSeq)
            w.raw(")")
        case .envelope, .bodyStructure, .body:
            let item = attribute.cachedItem!
            w.raw(item.prefix)
            w.raw(octets(item, of: items!))
        case .preview:
            // RFC 8970 section 3.2: `PREVIEW nstring`; NIL only under LAZY, and Postgate
            // always has the text at hand.
            w.raw("PREVIEW ")
            w.string(previews[message.uid]!)
        case .rfc822:
            w.raw("RFC822 ")
            w.literal(content!.bytes)
        case .rfc822Header:
            w.raw("RFC822.HEADER ")
            w.literal(content!.entity().header)
        case .rfc822Text:
            w.raw("RFC822.TEXT ")
            w.literal(content!.entity().body)
        case .section(let section, _, let partial):
            w.raw("BODY[\(section.description)]" + (partial.map { "<\($0.lowerBound)>" } ?? "") + " ")
            let bytes = section.isWholeMessage ? content!.bytes[...] : Self.content(of: section, in: content!.entity())
            // A section the message does not have is empty, as Dovecot answers it.
            guard let bytes else { return w.raw("\"\"") }
            guard let partial else { return w.literal(bytes) }
            let start = min(partial.lowerBound, bytes.count)
            let end = min(partial.upperBound + 1, bytes.count)
            w.literal(bytes[(bytes.startIndex + start)..<(bytes.startIndex + end)])
        }
    }

    /// ENVELOPE, BODYSTRUCTURE and BODY of a parsed message, as the cache keeps them.
    static func cacheItems(_ entity: IMAPMessageEntity) -> CachedFetchItems {
        var envelope = IMAPResponseWriter()
        IMAPBodyStructureWriter.envelope(entity, into: &envelope)
        var structure = IMAPResponseWriter()
        IMAPBodyStructureWriter.structure(entity, extended: true, into: &structure)
        var body = IMAPResponseWriter()
        IMAPBodyStructureWriter.structure(entity, extended: false, into: &body)
        return CachedFetchItems(envelope: envelope.bytes, bodyStructure: structure.bytes, body: body.bytes)
    }

    /// The octets of a section; nil if the part does not exist.
    static func content(of section: IMAPSection, in message: IMAPMessageEntity) -> ArraySlice<UInt8>? {
        guard let part = message.part(section.part) else { return nil }
        let isTop = section.part.isEmpty
        // HEADER, HEADER.FIELDS and TEXT of a part exist only where it is a message/rfc822
        // part, and apply to the message it encapsulates (RFC 3501 section 6.4.5).
        if !isTop, !part.isMessage, section.text.isMessageText { return nil }
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

/// A message file read for FETCH, parsed on first need.
struct IMAPFetchContent {
    let bytes: [UInt8]
    private var parsed: IMAPMessageEntity?

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func entity() -> IMAPMessageEntity {
        if let parsed { return parsed }
        let entity = IMAPMessageEntity(bytes)
        parsed = entity
        return entity
    }
}

extension IMAPFetchAttribute {
    /// The fetch-cache item behind ENVELOPE, BODYSTRUCTURE and BODY; nil for others.
    var cachedItem: CachedFetchBatch.Item? {
        switch self {
        case .envelope: .envelope
        case .bodyStructure: .bodyStructure
        case .body: .body
        default: nil
        }
    }

    /// Needs the message's size, date or file (`MessageSummary.hasDetails`).
    var needsDetails: Bool {
        switch self {
        case .internalDate, .rfc822Size, .saveDate: true
        default: needsFile
        }
    }

    /// Needs the message file whatever the cache holds.
    var needsFile: Bool {
        switch self {
        case .uid, .flags, .internalDate, .rfc822Size, .envelope, .bodyStructure, .body, .modSeq, .saveDate, .emailID, .threadID, .preview: false
        default: true
        }
    }
}

extension IMAPSection.Text {
    /// HEADER, HEADER.FIELDS (.NOT) and TEXT: parts of a message, not of any body part.
    var isMessageText: Bool {
        switch self {
        case .header, .text, .headerFields, .headerFieldsNot: true
        case .full, .mime: false
        }
    }
}

extension IMAPSection {
    /// `BODY[]`: the whole message, sent from the file as it is, without parsing it.
    var isWholeMessage: Bool {
        guard part.isEmpty, case .full = text else { return false }
        return true
    }
}

extension CachedFetchBatch.Item {
    /// The item name and the space after it, as a FETCH response starts the item.
    var prefix: String {
        switch self {
        case .envelope: "ENVELOPE "
        case .bodyStructure: "BODYSTRUCTURE "
        case .body: "BODY "
        }
    }

    /// The same item in `CachedFetchItems`.
    var field: KeyPath<CachedFetchItems, [UInt8]> {
        switch self {
        case .envelope: \.envelope
        case .bodyStructure: \.bodyStructure
        case .body: \.body
        }
    }
}
