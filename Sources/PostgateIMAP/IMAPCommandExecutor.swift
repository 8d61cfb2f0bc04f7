import Foundation
import Logging
import PostgateStore
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// Runs the commands that touch the store, synchronously, off the event loop: mailbox
/// commands here, message commands in `+Messages`. Input is the session context, output
/// the response bytes and the new selected-mailbox state.
///
/// Store failures become `NO` with the store's one-line reason; nothing here throws.
///
/// Generic over the store (`IMAPMailStore`): `MailStore` in the server, specialised
/// where the handler makes it, so the per-message calls of a FETCH are direct.
public struct IMAPCommandExecutor<Store: IMAPMailStore>: Sendable {
    public let store: Store
    let logger: Logger

    public init(store: Store, logger: Logger = Logger(label: "postgate.imap")) {
        self.store = store
        self.logger = logger
    }

    /// Runs one command. Long responses (FETCH of many or large messages) are handed to
    /// `emit` in pieces of about `chunkSize` octets as they are made; `emit` may block
    /// until the piece is sent, which bounds the memory a session uses. An APPEND's message
    /// is in `upload`, received into a spool file; it is stored, or dropped if the command fails.
    func execute(
        _ tagged: IMAPTaggedCommand, context: IMAPSessionContext, upload: IMAPAppendUpload<Store>? = nil,
        emit: (@Sendable ([UInt8]) -> Void)? = nil
    ) -> IMAPExecutionResult {
        var run = Run(executor: self, tag: tagged.tag, agent: context.agent, selected: context.selected,
                      condStore: context.condStore || tagged.command.enablesCondStore, qresync: context.qresync)
        run.emit = emit
        run.upload = upload
        defer { upload?.abort() }
        // The first CONDSTORE enabling command with a mailbox selected is told the mailbox's
        // HIGHESTMODSEQ (RFC 7162 section 3.1); SELECT and EXAMINE say it anyway.
        if context.enablingCondStore, let view = context.selected {
            switch tagged.command {
            case .select, .enable: break
            default: run.w.untagged("OK [HIGHESTMODSEQ \(view.highestModSeq)] Highest")
            }
        }
        do {
            try run.perform(tagged.command)
        } catch {
            if let logged = error.logged {
                logger.error("IMAP command failed", metadata: ["agent": "\(context.agent.name)", "error": "\(logged)"])
            }
            run.w.tagged(tagged.tag, .no, code: error.code, error.text)
        }
        return IMAPExecutionResult(output: run.w.bytes, selected: run.selected)
    }

    /// Reports changes to the selected mailbox (for IDLE); no tagged response. A failure to
    /// read them is logged (IDLE has no reply to carry it); the next change or command tries again.
    /// - Parameter force: read the mailbox even if this process changed nothing (the
    ///   periodic look for changes another process made).
    public func poll(context: IMAPSessionContext, force: Bool = false) -> IMAPExecutionResult {
        var run = Run(executor: self, tag: "*", agent: context.agent, selected: context.selected, condStore: context.condStore,
                      qresync: context.qresync)
        do {
            try run.synchronize(allowExpunge: true, force: force)
        } catch {
            logger.error("mailbox changes not readable during IDLE", metadata: [
                "mailbox": "\(context.selected?.mailbox.path ?? "")", "error": "\(error.text)",
            ])
        }
        return IMAPExecutionResult(output: run.w.bytes, selected: run.selected)
    }
}

/// A refused command: `NO [code] text`.
///
/// The text goes to the client, so it never names a file, a directory or the index: a
/// store failure about those answers as Dovecot does (`Internal error occurred. Refer to
/// server log…`), and the reason itself is in `logged`, for the server's log.
struct IMAPCommandFailure: Error {
    var code: String?
    var text: String
    /// What the server logs about the failure; nil when the text says it all.
    var logged: String?

    init(_ text: String, code: String? = nil) {
        self.text = text
        self.code = code
    }

    init(_ error: StoreError) {
        switch error {
        case .folderExists: self.init(error.description, code: "ALREADYEXISTS")
        case .folderNotFound: self.init(error.description, code: "NONEXISTENT")
        case .mailboxNotFound: self.init("Mailbox does not exist any more", code: "NONEXISTENT")
        case .folderNotRemovable: self.init(error.description, code: "CANNOT")
        // As Dovecot answers a full filesystem (RFC 5530 section 3 has no closer code).
        case .insufficientStorage: self.init("Not enough disk space", code: "OVERQUOTA")
        default: self.init(Self.clientText(error), code: "SERVERBUG")
        }
        if text != error.description { logged = error.description }
    }

    /// What a client is told of `error`: its description unless that names a path.
    static func clientText(_ error: StoreError) -> String {
        switch error {
        case .io, .database, .dataDirectoryNotWritable, .mailboxNotFound, .publishFailed, .secretKey:
            "Internal error occurred. Refer to server log for more information."
        default:
            error.description
        }
    }
}

extension IMAPCommandExecutor {
    /// One command's run: the writer for its responses and the selected mailbox.
    struct Run {
        let executor: IMAPCommandExecutor
        let tag: String
        let agent: AgentIdentity
        var selected: IMAPSelectedMailbox?
        /// CONDSTORE is enabled: FETCH responses about flag changes carry MODSEQ.
        let condStore: Bool
        /// QRESYNC is enabled (RFC 7162 section 3.2.3): expunges are reported as VANISHED.
        let qresync: Bool
        var w = IMAPResponseWriter()
        var emit: (@Sendable ([UInt8]) -> Void)?
        /// The message of an APPEND, in its spool file.
        var upload: IMAPAppendUpload<Store>?

        var store: Store { executor.store }

        static var chunkSize: Int { 1 << 20 }
        /// The first piece of a long response is this small, so the client starts reading
        /// while the rest is made; the pieces then double up to `chunkSize`.
        static var firstChunkSize: Int { 32 << 10 }
        /// Octets handed to `emit` so far.
        private var emitted = 0

        /// The size at which the next piece goes to `emit`.
        private var emitThreshold: Int { min(Self.chunkSize, max(Self.firstChunkSize, emitted)) }

        /// Hands what is written so far to `emit` once it passes `emitThreshold`.
        mutating func flushIfLarge() {
            guard let emit, w.bytes.count >= emitThreshold else { return }
            emitted += w.bytes.count
            emit(w.bytes)
            w = IMAPResponseWriter(capacity: emitThreshold + emitThreshold / 2)
        }

        init(
            executor: IMAPCommandExecutor, tag: String, agent: AgentIdentity, selected: IMAPSelectedMailbox?, condStore: Bool,
            qresync: Bool = false
        ) {
            self.executor = executor
            self.tag = tag
            self.agent = agent
            self.selected = selected
            self.condStore = condStore
            self.qresync = qresync
        }

        mutating func perform(_ command: IMAPCommand) throws(IMAPCommandFailure) {
            switch command {
            case .select(let name, let readOnly, let condStore, let qresync):
                try select(name, readOnly: readOnly, condStore: condStore, qresync: qresync)
            case .create(let name): try create(name)
            case .delete(let name): try delete(name)
            case .rename(let from, let to): try rename(from, to)
            case .subscribe(let name): try subscribe(name, true)
            case .unsubscribe(let name): try subscribe(name, false)
            case .list(let reference, let patterns, let options): try list(reference, patterns, options, lsub: false)
            case .lsub(let reference, let pattern): try list(reference, [pattern], IMAPCommand.ListOptions(), lsub: true)
            case .status(let name, let items): try status(name, items)
            case .append(let name, let messages): try append(name, messages)
            case .noop, .check, .idle: try finish("\(command.name) completed")
            case .close: try close()
            case .expunge(let uids): try expunge(uids)
            case .search(let key, let uid, let options): try search(key, uid: uid, returnOptions: options)
            case .fetch(let set, let attributes, let uid, let changedSince, let vanished):
                try fetch(set, attributes, uid: uid, changedSince: changedSince, vanished: vanished)
            case .store(let set, let operation, let silent, let flags, let uid, let unchangedSince):
                try storeFlags(set, operation, silent: silent, flags: flags, uid: uid, unchangedSince: unchangedSince)
            case .copy(let set, let name, let uid): try copy(set, to: name, uid: uid, move: false)
            case .move(let set, let name, let uid): try copy(set, to: name, uid: uid, move: true)
            case .sort(let criteria, let key, let uid): try sort(criteria, key, uid: uid)
            case .thread(let algorithm, let key, let uid): try thread(algorithm, key, uid: uid)
            default: throw IMAPCommandFailure("Command not available here")
            }
        }

        /// Reports pending changes, then the tagged OK.
        mutating func finish(_ text: String, code: String? = nil, allowExpunge: Bool = true) throws(IMAPCommandFailure) {
            try synchronize(allowExpunge: allowExpunge)
            w.tagged(tag, .ok, code: code, text)
        }

        /// Re-reads the selected mailbox if it changed since the session last looked.
        mutating func synchronize(allowExpunge: Bool, force: Bool = false) throws(IMAPCommandFailure) {
            guard var view = selected else { return }
            let version = store.changes.version(of: view.mailbox.mailboxID)
            guard force || version != view.version else { return }
            let snapshot = try storeCall { () throws(StoreError) in try store.snapshot(view.mailbox, agent: agent, details: false) }
            // New messages: RECENT when the session's count of recent ones changed (RFC 3501
            // section 7.3.2), as Dovecot sends it.
            if view.synchronize(with: snapshot, version: version, allowExpunge: allowExpunge, condStore: condStore, qresync: qresync,
                                into: &w) {
                try takeRecent(&view)
                let recent = view.recentCount
                if recent != view.reportedRecent { w.untagged("\(recent) RECENT") }
                view.reportedRecent = recent
            }
            selected = view
        }

        /// Takes the messages no session has seen as recent yet for this one (RFC 3501
        /// section 2.3.2); a read-only session takes none (EXAMINE leaves them recent).
        func takeRecent(_ view: inout IMAPSelectedMailbox) throws(IMAPCommandFailure) {
            guard !view.readOnly else { return }
            let mailbox = view.mailbox
            if let claimed = try storeCall({ () throws(StoreError) in try store.claimRecent(in: mailbox) }) {
                view.recent.append(claimed)
            }
        }

        /// Reads the details (size, date, file name) of the messages at `indexes` into the view.
        mutating func loadDetails(_ indexes: some Collection<Int>) throws(IMAPCommandFailure) {
            guard var view = selected else { return }
            try storeCall { () throws(StoreError) in try view.loadDetails(indexes, from: store) }
            selected = view
        }

        func storeCall<T>(_ body: () throws(StoreError) -> T) throws(IMAPCommandFailure) -> T {
            do { return try body() } catch { throw IMAPCommandFailure(error) }
        }

        /// The tagged reply of a command that read message files, after its untagged
        /// responses. A file that could not be read fails the command: `NO [SERVERBUG]`
        /// naming the message and the reason (RFC 9051 section 7.1), and logged. A file that
        /// is gone (expunged by another session since this one looked, RFC 2180 section
        /// 4.1.2) gets `EXPUNGEISSUED` (RFC 5530 section 3): a `NO` where the data asked
        /// for could not be sent (`expungedFails`), an `OK` where the result stands.
        mutating func finishReading(
            _ verb: String, unreadable: [(uid: UInt32, error: StoreError)], expunged: [UInt32], expungedFails: Bool
        ) throws(IMAPCommandFailure) {
            if let first = unreadable.first {
                executor.logger.error("message file not readable", metadata: [
                    "mailbox": "\(selected?.mailbox.path ?? "")", "uids": "\(Self.uidList(unreadable.map(\.uid)))",
                    "error": "\(first.error)",
                ])
                try synchronize(allowExpunge: false)
                let others = unreadable.count > 1 ? " (and \(unreadable.count - 1) more)" : ""
                throw IMAPCommandFailure("\(verb) failed: cannot read message UID \(first.uid)\(others): \(IMAPCommandFailure.clientText(first.error))", code: "SERVERBUG")
            }
            guard !expunged.isEmpty else { return try finish("\(verb) completed", allowExpunge: false) }
            let gone = "no longer exist (UID \(Self.uidList(expunged.sorted())))"
            guard expungedFails else {
                return try finish("\(verb) completed; some messages \(gone)", code: "EXPUNGEISSUED", allowExpunge: false)
            }
            try synchronize(allowExpunge: false)
            throw IMAPCommandFailure("Some of the requested messages \(gone)", code: "EXPUNGEISSUED")
        }

        // MARK: - Mailboxes

        func mailboxes() throws(IMAPCommandFailure) -> [VisibleMailbox] {
            try storeCall { () throws(StoreError) in try store.visibleMailboxes(agent: agent) }
        }

        /// The visible mailbox called `name` (INBOX in any case).
        func mailbox(_ name: String) throws(IMAPCommandFailure) -> VisibleMailbox {
            let wanted = IMAPMailboxName.normalize(name)
            guard let found = try mailboxes().first(where: { $0.name == wanted }) else {
                throw IMAPCommandFailure("No such mailbox \(name)", code: "NONEXISTENT")
            }
            return found
        }

        mutating func select(
            _ name: String, readOnly: Bool, condStore parameter: Bool, qresync: IMAPQResyncParameters?
        ) throws(IMAPCommandFailure) {
            // RFC 7162 section 3.2.11 (and RFC 9051 section 7.1): the responses before this
            // one were about the mailbox now closed; sent even if the new one cannot be
            // opened, as Dovecot does, since the old one is closed either way.
            if selected != nil { w.untagged("OK [CLOSED] Previous mailbox closed") }
            selected = nil
            let mailbox = try mailbox(name)
            // A read-only mailbox opens as EXAMINE does (RFC 9051 section 6.3.2: READ-ONLY).
            let readOnly = readOnly || mailbox.readOnly
            let version = store.changes.version(of: mailbox.mailboxID)
            let snapshot = try storeCall { () throws(StoreError) in try store.snapshot(mailbox, agent: agent, details: false) }
            var view = IMAPSelectedMailbox(mailbox: mailbox, readOnly: readOnly, snapshot: snapshot, version: version)
            if readOnly {
                if snapshot.recentUID < UInt32.max { view.recent = [(snapshot.recentUID + 1)...UInt32.max] }
            } else {
                try takeRecent(&view)
            }
            // Every keyword in use is a flag of the mailbox (RFC 3501 section 7.2.6).
            var ignored = IMAPResponseWriter()
            view.announceKeywords(of: snapshot.messages, into: &ignored)
            view.writeFlags(into: &w)
            w.untagged("\(snapshot.messages.count) EXISTS")
            view.reportedRecent = view.recentCount
            w.untagged("\(view.reportedRecent) RECENT")
            if let unseen = snapshot.messages.firstIndex(where: { !$0.flags.isSeen }) {
                w.untagged("OK [UNSEEN \(unseen + 1)] First unseen")
            }
            w.untagged("OK [UIDVALIDITY \(snapshot.uidValidity)] UIDs valid")
            w.untagged("OK [UIDNEXT \(snapshot.uidNext)] Predicted next UID")
            // Always: mod-sequences are kept for every mailbox (RFC 7162 section 3.1.2.1).
            w.untagged("OK [HIGHESTMODSEQ \(snapshot.highestModSeq)] Highest")
            // RFC 8474 section 4.2.
            w.untagged("OK [MAILBOXID (\(ObjectIDs.mailbox(id: mailbox.mailboxID, uidValidity: snapshot.uidValidity)))] Ok")
            if let qresync, qresync.uidValidity == snapshot.uidValidity { writeResync(view, qresync) }
            selected = view
            let verb = readOnly ? "EXAMINE" : "SELECT"
            w.tagged(tag, .ok, code: readOnly ? "READ-ONLY" : "READ-WRITE",
                     parameter ? "\(verb) completed, CONDSTORE is now enabled" : "\(verb) completed")
        }

        mutating func create(_ name: String) throws(IMAPCommandFailure) {
            let normalized = try IMAPMailboxName.validateNew(name)
            if try mailboxes().contains(where: { $0.name == normalized }) {
                throw IMAPCommandFailure("Mailbox \(normalized) already exists", code: "ALREADYEXISTS")
            }
            try storeCall { () throws(StoreError) in try store.createFolder(agent: agent, name: normalized) }
            // RFC 8474 section 4.1: the new mailbox's MAILBOXID in the tagged OK.
            let made = try mailbox(normalized)
            let snapshot = try storeCall { () throws(StoreError) in try store.snapshot(made, agent: agent, details: false) }
            try finish("CREATE completed", code: "MAILBOXID (\(ObjectIDs.mailbox(id: made.mailboxID, uidValidity: snapshot.uidValidity)))")
        }

        mutating func delete(_ name: String) throws(IMAPCommandFailure) {
            let mailbox = try mailbox(name)
            guard mailbox.kind == .personal else { throw IMAPCommandFailure("Shared mailboxes cannot be deleted", code: "NOPERM") }
            if selected?.mailbox.mailboxID == mailbox.mailboxID { selected = nil }
            try storeCall { () throws(StoreError) in try store.deleteFolder(agent: agent, name: mailbox.name) }
            try finish("DELETE completed")
        }

        mutating func rename(_ from: String, _ to: String) throws(IMAPCommandFailure) {
            let source = try mailbox(from)
            guard source.kind == .personal else { throw IMAPCommandFailure("Shared mailboxes cannot be renamed", code: "NOPERM") }
            let target = try IMAPMailboxName.validateNew(to)
            try storeCall { () throws(StoreError) in try store.renameFolder(agent: agent, from: source.name, to: target) }
            if selected?.mailbox.mailboxID == source.mailboxID { selected?.mailbox.name = target }
            try finish("RENAME completed")
        }

        mutating func subscribe(_ name: String, _ subscribed: Bool) throws(IMAPCommandFailure) {
            let normalized = IMAPMailboxName.normalize(name)
            if subscribed { _ = try mailbox(normalized) }
            try storeCall { () throws(StoreError) in try store.setSubscribed(subscribed, agent: agent, name: normalized) }
            try finish("\(subscribed ? "SUBSCRIBE" : "UNSUBSCRIBE") completed")
        }

        mutating func list(_ reference: String, _ patterns: [String], _ options: IMAPCommand.ListOptions, lsub: Bool) throws(IMAPCommandFailure) {
            let verb = lsub ? "LSUB" : "LIST"
            if patterns == [""] {
                w.untagged("\(verb) (\\Noselect) \"/\" \"\"")
                return try finish("\(verb) completed")
            }
            let entries = IMAPMailboxName.listing(try mailboxes())
            let subscribed = try storeCall { () throws(StoreError) in try store.subscriptions(agent: agent) }
            let patterns = patterns.map { reference + $0 }
            let matching = { (name: String) in patterns.contains { IMAPMailboxName.matches(name, pattern: $0) } }
            guard lsub || options.subscribedOnly else {
                for entry in entries where matching(entry.name) {
                    if options.specialUseOnly, entry.mailbox?.specialUse == nil { continue }
                    var attributes = Self.attributes(of: entry)
                    if options.returnSubscribed, subscribed.contains(entry.name) { attributes.append("\\Subscribed") }
                    writeListed(verb, entry.name, attributes)
                    try writeListStatus(entry.mailbox, options)
                }
                return try finish("\(verb) completed")
            }
            // Subscriptions outlive their mailboxes (RFC 3501 section 6.3.6): a name without
            // one is listed `\NonExistent` (RFC 5258 section 3.4). A subscribed name that
            // does not match stands behind its matching parents: LSUB lists them `\Noselect`
            // (RFC 3501 section 6.3.9), LIST with RECURSIVEMATCH with CHILDINFO (RFC 5258
            // section 3.5).
            var byName: [String: IMAPMailboxName.Entry] = [:]
            for entry in entries { byName[entry.name] = entry }
            var parents = Set<String>()
            if lsub || options.recursiveMatch {
                for name in subscribed where !matching(name) {
                    var levels = name.split(separator: "/", omittingEmptySubsequences: false).dropLast()
                    while !levels.isEmpty {
                        let parent = levels.joined(separator: "/")
                        if matching(parent) { parents.insert(parent) }
                        levels = levels.dropLast()
                    }
                }
            }
            let names = IMAPMailboxName.sorted(subscribed.filter(matching).union(lsub ? parents.subtracting(subscribed) : parents))
            for name in names {
                let isSubscribed = subscribed.contains(name)
                let entry = byName[name]
                var attributes: [String]
                if lsub {
                    attributes = isSubscribed ? [] : ["\\Noselect"]
                } else {
                    attributes = entry?.mailbox == nil ? ["\\NonExistent"] : Self.attributes(of: entry!)
                    if options.specialUseOnly, entry?.mailbox?.specialUse == nil { continue }
                    if isSubscribed { attributes.insert("\\Subscribed", at: 0) }
                }
                writeListed(verb, name, attributes, childInfo: !lsub && parents.contains(name))
                if !lsub { try writeListStatus(entry?.mailbox, options) }
            }
            try finish("\(verb) completed")
        }

        /// LIST … RETURN (STATUS (…)) (RFC 5819 section 2): the STATUS response of a listed
        /// mailbox, right after its LIST response; none for a `\Noselect` or `\NonExistent` name,
        /// nor for a mailbox removed by another session meanwhile (its STATUS would fail).
        mutating func writeListStatus(_ mailbox: VisibleMailbox?, _ options: IMAPCommand.ListOptions) throws(IMAPCommandFailure) {
            guard let items = options.returnStatus, let mailbox else { return }
            do throws(IMAPCommandFailure) {
                try writeStatus(mailbox, items)
            } catch {
                guard error.code == "NONEXISTENT" else { throw error }
            }
        }

        /// `\Noselect` for a level that is no mailbox, the children, SPECIAL-USE (RFC 6154).
        static func attributes(of entry: IMAPMailboxName.Entry) -> [String] {
            var attributes = entry.mailbox == nil ? ["\\Noselect"] : []
            attributes.append(entry.hasChildren ? "\\HasChildren" : "\\HasNoChildren")
            if let special = entry.mailbox?.specialUse { attributes.append(special) }
            return attributes
        }

        /// `* LIST (attributes) "/" name`, with `CHILDINFO ("SUBSCRIBED")` (RFC 5258 section 3.5).
        mutating func writeListed(_ verb: String, _ name: String, _ attributes: [String], childInfo: Bool = false) {
            w.raw("* \(verb) (\(attributes.joined(separator: " "))) \"/\" ")
            w.astring(name)
            if childInfo { w.raw(" (\"CHILDINFO\" (\"SUBSCRIBED\"))") }
            w.crlf()
        }

        mutating func status(_ name: String, _ items: [IMAPCommand.StatusItem]) throws(IMAPCommandFailure) {
            try writeStatus(try mailbox(name), items)
            try finish("STATUS completed")
        }

        /// `* STATUS name (item value …)` (RFC 9051 section 7.3.1): one snapshot of the
        /// mailbox, with sizes only when SIZE is asked (RFC 8438 section 4).
        mutating func writeStatus(_ mailbox: VisibleMailbox, _ items: [IMAPCommand.StatusItem]) throws(IMAPCommandFailure) {
            let snapshot = try storeCall { () throws(StoreError) in
                try store.snapshot(mailbox, agent: agent, details: items.contains(.size))
            }
            let values = items.map { item -> String in
                let value: String
                switch item {
                case .messages: value = "\(snapshot.messages.count)"
                case .recent:
                    // The selected mailbox's recent messages are this session's.
                    value = "\(selected?.mailbox.mailboxID == mailbox.mailboxID ? selected!.recentCount : snapshot.unclaimedRecent)"
                case .uidNext: value = "\(snapshot.uidNext)"
                case .uidValidity: value = "\(snapshot.uidValidity)"
                case .unseen: value = "\(snapshot.messages.count { !$0.flags.isSeen })"
                // RFC 8438 section 4: the total of the messages' RFC822.SIZE.
                case .size: value = "\(snapshot.messages.reduce(0) { $0 + $1.size })"
                case .deleted: value = "\(snapshot.messages.count { $0.flags.isDeleted })"
                case .highestModSeq: value = "\(snapshot.highestModSeq)"
                // RFC 8474 section 4.3: `MAILBOXID (objectid)`.
                case .mailboxID: value = "(\(ObjectIDs.mailbox(id: mailbox.mailboxID, uidValidity: snapshot.uidValidity)))"
                }
                return "\(item.rawValue) \(value)"
            }
            w.raw("* STATUS ")
            w.astring(mailbox.name)
            w.raw(" (\(values.joined(separator: " ")))")
            w.crlf()
        }
    }
}

extension IMAPCommand {
    /// The command's name, for completion texts.
    var name: String {
        switch self {
        case .noop: "NOOP"
        case .check: "CHECK"
        case .idle: "IDLE"
        default: "Command"
        }
    }
}
