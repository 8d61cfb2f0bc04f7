import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import Synchronization
@testable import PostgateIMAP

/// An `IMAPMailStore` in memory, for tests of the executor that need no files or SQLite:
/// one agent's folders, their messages, subscriptions and fetch cache, with failures to
/// inject and counters of what was read.
final class InMemoryIMAPStore: IMAPMailStore {
    let changes = MailboxChangeFeed()
    let agent = AgentIdentity(id: 1, name: "alice")
    let password = "secret"
    private let state = Mutex(State())

    struct Stored {
        var summary: MessageSummary
        var bytes: [UInt8]
        /// Made at delivery or APPEND, kept by a copy (as the index keeps them).
        var objectKeys: MessageObjectKeys
    }

    struct Folder {
        var mailbox: VisibleMailbox
        var uidValidity: UInt32
        var uidNext: UInt32 = 1
        /// The highest UID a session took as recent.
        var recentUID: UInt32 = 0
        /// The mod-sequence of the latest expunge, as the index keeps it.
        var expungeModSeq: UInt64 = 0
        var messages: [Stored] = []
        var cache: [UInt32: CachedFetchItems] = [:]
        var searchText: [UInt32: MessageSearchText] = [:]
        var previews: [UInt32: String] = [:]
    }

    struct State {
        var folders: [Folder] = []
        var nextMailboxID: Int64 = 1
        var modSeq: UInt64 = 1
        var subscriptions: Set<String> = []
        /// Injected failures: reading these UIDs' content, the fetch cache, keeping it.
        var unreadable: Set<UInt32> = []
        var cacheReadFails = false
        var cacheWriteFails = false
        /// APPENDs that succeed before every further one fails; nil: all succeed.
        var appendsBeforeFailure: Int?
        /// What was done: content reads, fetch-cache batches read and kept, messages begun and dropped.
        var contentReads = 0
        var cacheBatches = 0
        var cacheStores = 0
        var previewStores = 0
        var searchTextStores = 0
        var messagesBegun = 0
        var messagesAborted = 0
    }

    init(folders: [String] = ["INBOX", "Archive"]) {
        state.withLock { state in
            for name in folders { Self.addFolder(name, to: &state) }
        }
    }

    /// Runs `body` on the state (to inject failures or read counters).
    func with<T>(_ body: (inout State) -> T) -> T {
        state.withLock { body(&$0) }
    }

    private static func addFolder(_ name: String, to state: inout State) {
        let id = state.nextMailboxID
        state.nextMailboxID += 1
        let mailbox = VisibleMailbox(name: name, kind: .personal, mailboxID: id, path: "memory/\(name)", specialUse: nil, privateSeen: false)
        state.folders.append(Folder(mailbox: mailbox, uidValidity: UInt32(1000 + id)))
    }

    private static func folderIndex(_ mailbox: VisibleMailbox, in state: State) throws(StoreError) -> Int {
        guard let index = state.folders.firstIndex(where: { $0.mailbox.mailboxID == mailbox.mailboxID }) else {
            throw .mailboxNotFound(path: mailbox.path)
        }
        return index
    }

    private func locked<T>(_ body: (inout State) throws(StoreError) -> T) throws(StoreError) -> T {
        try state.withLock { (state) throws(StoreError) -> T in try body(&state) }
    }

    // MARK: IMAPMailStore

    func authenticate(agent name: String, password: String) throws(StoreError) -> AgentIdentity? {
        name == agent.name && password == self.password ? agent : nil
    }

    func visibleMailboxes(agent: AgentIdentity) throws(StoreError) -> [VisibleMailbox] {
        state.withLock { $0.folders.map(\.mailbox) }
    }

    func createFolder(agent: AgentIdentity, name: String) throws(StoreError) {
        try locked { (state) throws(StoreError) in
            guard !state.folders.contains(where: { $0.mailbox.name == name }) else { throw .folderExists(name) }
            Self.addFolder(name, to: &state)
        }
    }

    func deleteFolder(agent: AgentIdentity, name: String) throws(StoreError) {
        try locked { (state) throws(StoreError) in
            guard name != "INBOX" else { throw .folderNotRemovable(name) }
            guard let index = state.folders.firstIndex(where: { $0.mailbox.name == name }) else { throw .folderNotFound(name) }
            state.folders.remove(at: index)
        }
    }

    func renameFolder(agent: AgentIdentity, from: String, to: String) throws(StoreError) {
        try locked { (state) throws(StoreError) in
            guard let index = state.folders.firstIndex(where: { $0.mailbox.name == from }) else { throw .folderNotFound(from) }
            state.folders[index].mailbox.name = to
        }
    }

    func subscriptions(agent: AgentIdentity) throws(StoreError) -> Set<String> {
        state.withLock { $0.subscriptions }
    }

    func setSubscribed(_ subscribed: Bool, agent: AgentIdentity, name: String) throws(StoreError) {
        state.withLock { state in
            if subscribed { state.subscriptions.insert(name) } else { state.subscriptions.remove(name) }
        }
    }

    func snapshot(_ mailbox: VisibleMailbox, agent: AgentIdentity, details: Bool) throws(StoreError) -> MailboxSnapshot {
        try locked { (state) throws(StoreError) in
            let folder = state.folders[try Self.folderIndex(mailbox, in: state)]
            let messages = folder.messages.map { stored in
                details ? stored.summary : MessageSummary(
                    uid: stored.summary.uid, flags: stored.summary.flags, size: 0, internalDate: Date(timeIntervalSince1970: 0),
                    filename: "", fileLetters: "", modSeq: stored.summary.modSeq)
            }
            return MailboxSnapshot(mailboxID: mailbox.mailboxID, uidValidity: folder.uidValidity, uidNext: folder.uidNext,
                                   highestModSeq: state.modSeq, messages: messages, recentUID: folder.recentUID,
                                   expungeModSeq: folder.expungeModSeq)
        }
    }

    func claimRecent(in mailbox: VisibleMailbox) throws(StoreError) -> ClosedRange<UInt32>? {
        try locked { (state) throws(StoreError) in
            let index = try Self.folderIndex(mailbox, in: state)
            let folder = state.folders[index]
            guard folder.uidNext > folder.recentUID + 1 else { return nil }
            state.folders[index].recentUID = folder.uidNext - 1
            return (folder.recentUID + 1)...(folder.uidNext - 1)
        }
    }

    func details(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [MessageSummary] {
        try locked { (state) throws(StoreError) in
            state.folders[try Self.folderIndex(mailbox, in: state)].messages.map(\.summary).filter { uids.contains($0.uid) }
        }
    }

    func content(of message: MessageSummary, in mailbox: VisibleMailbox) throws(StoreError) -> [UInt8]? {
        try locked { (state) throws(StoreError) in
            state.contentReads += 1
            if state.unreadable.contains(message.uid) {
                throw .io(operation: "read", path: "memory/\(message.uid)", reason: "injected failure")
            }
            return state.folders[try Self.folderIndex(mailbox, in: state)].messages.first { $0.summary.uid == message.uid }?.bytes
        }
    }

    func uidsWithoutSearchText(in mailbox: VisibleMailbox) throws(StoreError) -> [UInt32] {
        try locked { (state) throws(StoreError) in
            let folder = state.folders[try Self.folderIndex(mailbox, in: state)]
            return folder.messages.map(\.summary.uid).filter { folder.searchText[$0] == nil }
        }
    }

    func storeSearchTexts(_ texts: [UInt32: MessageSearchText], in mailbox: VisibleMailbox) throws(StoreError) {
        try locked { (state) throws(StoreError) in
            state.searchTextStores += 1
            let index = try Self.folderIndex(mailbox, in: state)
            state.folders[index].searchText.merge(texts) { _, new in new }
        }
    }

    func searchUIDs(in mailbox: VisibleMailbox, field: MessageSearchText.Field, containing folded: String) throws(StoreError)
        -> (matching: Set<UInt32>, incomplete: Set<UInt32>) {
        try locked { (state) throws(StoreError) in
            let texts = state.folders[try Self.folderIndex(mailbox, in: state)].searchText
            let path: KeyPath<MessageSearchText, String> = switch field {
            case .subject: \.subject
            case .from: \.from
            case .to: \.to
            case .cc: \.cc
            case .bcc: \.bcc
            case .header: \.header
            case .body: \.body
            }
            let matching = texts.filter { $0.value[keyPath: path].utf8.firstRange(of: folded.utf8) != nil }.keys
            let incomplete: Set<UInt32> = field == .body ? Set(texts.filter { !$0.value.complete }.keys) : []
            return (Set(matching), incomplete)
        }
    }

    func cachedFetchBatch(
        in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>, items: Set<CachedFetchBatch.Item>
    ) throws(StoreError) -> CachedFetchBatch {
        try locked { (state) throws(StoreError) in
            state.cacheBatches += 1
            if state.cacheReadFails { throw .io(operation: "read", path: "memory/cache", reason: "injected failure") }
            var batch = CachedFetchBatch()
            let cache = state.folders[try Self.folderIndex(mailbox, in: state)].cache
            for uid in cache.keys.sorted() where uids.contains(uid) {
                let items = cache[uid]!
                batch.append(uid: uid) { item, octets in octets += items[keyPath: item.field] }
            }
            return batch
        }
    }

    func cachedPreviews(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: String] {
        try locked { (state) throws(StoreError) in
            if state.cacheReadFails { throw .io(operation: "read", path: "memory/previews", reason: "injected failure") }
            return state.folders[try Self.folderIndex(mailbox, in: state)].previews.filter { uids.contains($0.key) }
        }
    }

    func storePreviews(_ previews: [UInt32: String], in mailbox: VisibleMailbox) throws(StoreError) {
        try locked { (state) throws(StoreError) in
            if state.cacheWriteFails { throw .io(operation: "write", path: "memory/previews", reason: "injected failure") }
            state.previewStores += 1
            let index = try Self.folderIndex(mailbox, in: state)
            state.folders[index].previews.merge(previews) { _, new in new }
        }
    }

    func storeFetchItems(_ items: [UInt32: CachedFetchItems], in mailbox: VisibleMailbox) throws(StoreError) {
        try locked { (state) throws(StoreError) in
            if state.cacheWriteFails { throw .io(operation: "write", path: "memory/cache", reason: "injected failure") }
            state.cacheStores += 1
            let index = try Self.folderIndex(mailbox, in: state)
            state.folders[index].cache.merge(items) { _, new in new }
        }
    }

    func updateFlags(
        _ mailbox: VisibleMailbox, agent: AgentIdentity, uids: [UInt32], unchangedSince: UInt64?,
        change: (MessageFlags) -> MessageFlags
    ) throws(StoreError) -> (changed: [MessageSummary], modified: [UInt32]) {
        let result = try locked { (state) throws(StoreError) -> (changed: [MessageSummary], modified: [UInt32]) in
            let index = try Self.folderIndex(mailbox, in: state)
            var changed: [MessageSummary] = []
            var modified: [UInt32] = []
            for position in state.folders[index].messages.indices where uids.contains(state.folders[index].messages[position].summary.uid) {
                var summary = state.folders[index].messages[position].summary
                if let unchangedSince, summary.modSeq > unchangedSince {
                    modified.append(summary.uid)
                    continue
                }
                let flags = change(summary.flags)
                guard flags != summary.flags else { continue }
                state.modSeq += 1
                summary.flags = flags
                summary.modSeq = state.modSeq
                state.folders[index].messages[position].summary = summary
                changed.append(summary)
            }
            return (changed, modified)
        }
        if !result.changed.isEmpty { changes.notify([mailbox.mailboxID]) }
        return result
    }

    func expunge(_ mailbox: VisibleMailbox, uids: [UInt32]) throws(StoreError) -> [UInt32] {
        let removed = try locked { (state) throws(StoreError) -> [UInt32] in
            let index = try Self.folderIndex(mailbox, in: state)
            let removed = state.folders[index].messages.map(\.summary.uid).filter(uids.contains)
            state.folders[index].messages.removeAll { removed.contains($0.summary.uid) }
            if !removed.isEmpty {
                state.modSeq += 1
                state.folders[index].expungeModSeq = state.modSeq
            }
            return removed
        }
        if !removed.isEmpty { changes.notify([mailbox.mailboxID]) }
        return removed
    }

    func copy(
        _ messages: [MessageSummary], from source: VisibleMailbox, to target: VisibleMailbox
    ) throws(StoreError) -> (uidValidity: UInt32, uids: [(UInt32, UInt32)]) {
        let result = try locked { (state) throws(StoreError) -> (uidValidity: UInt32, uids: [(UInt32, UInt32)]) in
            let from = try Self.folderIndex(source, in: state)
            let to = try Self.folderIndex(target, in: state)
            var pairs: [(UInt32, UInt32)] = []
            for message in messages {
                guard let stored = state.folders[from].messages.first(where: { $0.summary.uid == message.uid }) else { continue }
                let uid = Self.insert(stored.bytes, flags: stored.summary.flags, date: stored.summary.internalDate, keys: stored.objectKeys,
                                      into: to, state: &state)
                pairs.append((message.uid, uid))
            }
            return (state.folders[to].uidValidity, pairs)
        }
        changes.notify([target.mailboxID])
        return result
    }

    func beginMessage() throws(StoreError) -> InMemoryMessage {
        state.withLock { $0.messagesBegun += 1 }
        return InMemoryMessage(store: self)
    }

    func append(
        _ message: InMemoryMessage, to mailbox: VisibleMailbox, flags: MessageFlags, internalDate: Date
    ) throws(StoreError) -> (uidValidity: UInt32, uid: UInt32) {
        let result: (uidValidity: UInt32, uid: UInt32)
        do {
            result = try locked { (state) throws(StoreError) -> (uidValidity: UInt32, uid: UInt32) in
                if let left = state.appendsBeforeFailure {
                    guard left > 0 else { throw StoreError.io(operation: "write", path: "spool", reason: "injected failure") }
                    state.appendsBeforeFailure = left - 1
                }
                let index = try Self.folderIndex(mailbox, in: state)
                let uid = Self.insert(message.bytes, flags: flags, date: internalDate, into: index, state: &state)
                return (state.folders[index].uidValidity, uid)
            }
        } catch {
            // As `MailStore.append`: a failure drops the message.
            message.abort()
            throw error
        }
        message.stored()
        changes.notify([mailbox.mailboxID])
        return result
    }

    /// Adds a message to the folder at `index`; returns its UID. `keys`: a copy's object
    /// keys; a new message gets its own.
    private static func insert(
        _ bytes: [UInt8], flags: MessageFlags, date: Date, keys: MessageObjectKeys? = nil, into index: Int, state: inout State
    ) -> UInt32 {
        let uid = state.folders[index].uidNext
        state.folders[index].uidNext += 1
        state.modSeq += 1
        let summary = MessageSummary(uid: uid, flags: flags, size: bytes.count, internalDate: date, filename: "memory-\(uid)",
                                     fileLetters: flags.letters, modSeq: state.modSeq)
        let objectKeys = keys ?? MessageObjectKeys(emailKey: "memory-\(state.folders[index].mailbox.mailboxID)-\(uid)", sessionID: nil)
        state.folders[index].messages.append(Stored(summary: summary, bytes: bytes, objectKeys: objectKeys))
        return uid
    }

    func objectKeys(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: MessageObjectKeys] {
        try locked { (state) throws(StoreError) in
            let index = try Self.folderIndex(mailbox, in: state)
            var keys: [UInt32: MessageObjectKeys] = [:]
            for stored in state.folders[index].messages where uids.contains(stored.summary.uid) { keys[stored.summary.uid] = stored.objectKeys }
            return keys
        }
    }

    /// Puts message `uid` of `folder` in session `sessionID` (as delivery does).
    func setSession(_ sessionID: Int64, uid: UInt32, in folder: String = "INBOX") {
        state.withLock { state in
            let index = state.folders.firstIndex { $0.mailbox.name == folder }!
            let position = state.folders[index].messages.firstIndex { $0.summary.uid == uid }!
            state.folders[index].messages[position].objectKeys.sessionID = sessionID
        }
    }

    fileprivate func aborted() {
        state.withLock { $0.messagesAborted += 1 }
    }

    // MARK: Test helpers

    /// Stores `text` in `folder` as if delivered; returns its UID.
    @discardableResult
    func deliver(_ text: String, to folder: String = "INBOX", flags: MessageFlags = MessageFlags()) -> UInt32 {
        let result = state.withLock { state -> (UInt32, Int64) in
            let index = state.folders.firstIndex { $0.mailbox.name == folder }!
            let uid = Self.insert(Array(text.utf8), flags: flags, date: Date(timeIntervalSince1970: 1_800_000_000), into: index, state: &state)
            return (uid, state.folders[index].mailbox.mailboxID)
        }
        changes.notify([result.1])
        return result.0
    }

    /// Removes message `uid` of `folder` as another process would: its content is gone.
    func vanish(_ uid: UInt32, from folder: String = "INBOX") {
        let mailboxID = state.withLock { state in
            let index = state.folders.firstIndex { $0.mailbox.name == folder }!
            state.folders[index].messages.removeAll { $0.summary.uid == uid }
            state.modSeq += 1
            state.folders[index].expungeModSeq = state.modSeq
            return state.folders[index].mailbox.mailboxID
        }
        changes.notify([mailboxID])
    }

    /// The messages of `folder`, with their content.
    func messages(in folder: String = "INBOX") -> [Stored] {
        state.withLock { state in state.folders.first { $0.mailbox.name == folder }?.messages ?? [] }
    }
}

/// A message received for APPEND into `InMemoryIMAPStore`.
final class InMemoryMessage: IMAPIncomingMessage {
    private weak var store: InMemoryIMAPStore?
    private(set) var bytes: [UInt8] = []
    private var dropped = false

    init(store: InMemoryIMAPStore) {
        self.store = store
    }

    var size: Int { bytes.count }

    func write(_ raw: UnsafeRawBufferPointer) throws(StoreError) {
        bytes += raw
    }

    /// Stored: a later `abort()` (the executor's, after any command) drops nothing.
    fileprivate func stored() {
        dropped = true
    }

    func abort() {
        guard !dropped else { return }
        dropped = true
        bytes = []
        store?.aborted()
    }
}
