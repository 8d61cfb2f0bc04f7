import Foundation
import PostgateMessage
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// The message operations behind IMAP: reading a mailbox, flags (STORE), EXPUNGE,
/// COPY/MOVE (hard links, new UIDs) and APPEND (durable before it returns). Every change
/// is announced on `changes`, so other sessions on the mailbox see it.
extension MailStore {
    /// The mailbox as `agent` sees it (`\Seen` per agent where the mailbox keeps it private);
    /// without `details` only UIDs, flags and mod-sequences: what SELECT answers, read from
    /// the covering index without making a file name per message.
    public func snapshot(_ mailbox: VisibleMailbox, agent: AgentIdentity, details: Bool = true) throws(StoreError) -> MailboxSnapshot {
        try index.snapshot(mailboxID: mailbox.mailboxID, agentID: agent.id, details: details)
    }

    /// Takes the messages no session has seen as recent yet, for one session (RFC 3501
    /// section 2.3.2); nil if there are none.
    public func claimRecent(in mailbox: VisibleMailbox) throws(StoreError) -> ClosedRange<UInt32>? {
        try index.claimRecent(mailboxID: mailbox.mailboxID)
    }

    /// The messages with UIDs in `uids`, with size, date and file name (flags as stored:
    /// take only the details from them).
    public func details(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [MessageSummary] {
        try index.details(mailboxID: mailbox.mailboxID, uids: uids)
    }

    /// The whole message file, or nil if it is gone (expunged by another session meanwhile).
    public func content(of message: MessageSummary, in mailbox: VisibleMailbox) throws(StoreError) -> [UInt8]? {
        guard message.hasDetails else { return nil }
        return try data.maildir(mailbox.path).read(message.filename, letters: message.fileLetters, limit: max(message.size, 0) + 1)
    }

    /// Changes the flags of `uids` (missing ones are skipped), but not of those whose
    /// mod-sequence is above `unchangedSince` (RFC 7162 section 3.1.3); returns the messages
    /// whose flags changed, after the change (with their new mod-sequence), and the UIDs
    /// left alone. The Maildir files are renamed into `cur/`.
    public func updateFlags(
        _ mailbox: VisibleMailbox, agent: AgentIdentity, uids: [UInt32], unchangedSince: UInt64? = nil,
        change: (MessageFlags) -> MessageFlags
    ) throws(StoreError) -> (changed: [MessageSummary], modified: [UInt32]) {
        let update = try index.updateFlags(mailboxID: mailbox.mailboxID, agentID: agent.id, uids: uids,
                                                       unchangedSince: unchangedSince, change: change)
        let changed = update.changes.filter { $0.before.flags != $0.after.flags }
        let maildir = data.maildir(mailbox.path)
        for (before, after) in changed where before.fileLetters != after.fileLetters {
            try? maildir.setLetters(before.filename, from: before.fileLetters, to: after.fileLetters)
        }
        if !changed.isEmpty { changes.notify([mailbox.mailboxID]) }
        return (changed.map(\.after), update.modified)
    }

    /// Removes `uids` from the mailbox and their files; returns the UIDs removed.
    public func expunge(_ mailbox: VisibleMailbox, uids: [UInt32]) throws(StoreError) -> [UInt32] {
        let removed = try index.deleteMessages(mailboxID: mailbox.mailboxID, uids: uids)
        let maildir = data.maildir(mailbox.path)
        for message in removed { try? maildir.remove(message.filename, letters: message.fileLetters) }
        if !removed.isEmpty { changes.notify([mailbox.mailboxID]) }
        return removed.map(\.uid)
    }

    /// Copies messages into `target` (one inode, new UIDs, same flags and date), durably.
    /// - Returns: the target's UIDVALIDITY and (source UID, new UID) pairs (UIDPLUS, RFC 4315).
    public func copy(
        _ messages: [MessageSummary], from source: VisibleMailbox, to target: VisibleMailbox
    ) throws(StoreError) -> (uidValidity: UInt32, uids: [(UInt32, UInt32)]) {
        try copy(messages, from: source, to: target, keepingQueueID: false)
    }

    /// With `keepingQueueID` the copies keep the delivery's queue id (`insertCopies`).
    func copy(
        _ messages: [MessageSummary], from source: VisibleMailbox, to target: VisibleMailbox, keepingQueueID: Bool
    ) throws(StoreError) -> (uidValidity: UInt32, uids: [(UInt32, UInt32)]) {
        guard let state = try index.mailbox(path: target.path) else { throw .mailboxNotFound(path: target.path) }
        let sourceDir = data.maildir(source.path)
        let targetDir = data.maildir(target.path)
        var linked: [(MessageSummary, String)] = []
        do throws(StoreError) {
            for message in messages {
                guard let path = sourceDir.locate(message.filename, letters: message.fileLetters) else { continue }
                let unique = uniqueNames.next()
                try targetDir.linkCopy(from: path, uniqueName: unique)
                linked.append((message, unique))
            }
            try targetDir.syncTmp()
            // A journalled source file may not be durable yet; its new name must not be
            // committed before it is (the journal rewrites only the delivered names).
            try journal.settle()
        } catch {
            for (_, unique) in linked { try? targetDir.removeFromTmp(unique) }
            throw error
        }
        let stored = try index.insertCopies(linked.map(\.0), from: source.mailboxID, to: state, uniqueNames: linked.map(\.1),
                                             keepingQueueID: keepingQueueID)
        for (copy, (_, unique)) in zip(stored, linked) {
            try publish(unique, as: copy.filename, letters: copy.flags, in: targetDir)
        }
        changes.notify([target.mailboxID])
        return (state.uidValidity, zip(linked, stored).map { ($0.0.0.uid, $0.1.uid) })
    }

    /// Stores a new message in `mailbox` with `flags` and `internalDate` (IMAP APPEND, and
    /// what the outbound side keeps for people); returns once the file and its index row are
    /// durable (RFC 9051 section 6.3.12: OK means stored). `message` was received into its
    /// spool file (`beginMessage`), so a big one never sits in memory whole; it is stored by
    /// the delivery protocol (`commitDelivery`) for one mailbox: linked into `tmp/`, made
    /// durable (journalled with its row if at most 32 KiB and wholly in memory, else
    /// flushed while the index statements run), the index committed only after that, then
    /// renamed into `new/` (or `cur/` with its flags) before this returns, unlike a
    /// delivery. Any failure drops the message: no spool file, no `tmp/` link, no row.
    /// - Returns: the mailbox's UIDVALIDITY and the new UID (UIDPLUS APPENDUID).
    public func append(
        _ message: IncomingMessage, to mailbox: VisibleMailbox, flags: MessageFlags, internalDate: Date
    ) throws(StoreError) -> (uidValidity: UInt32, uid: UInt32) {
        journal.enter()
        defer { journal.leave() }
        let maildir = data.maildir(mailbox.path)
        let state: MailboxState
        let stored: StoredMessage
        let durability: MessageDurability
        do throws(StoreError) {
            guard let found = try index.mailbox(path: mailbox.path) else { throw StoreError.mailboxNotFound(path: mailbox.path) }
            state = found
            let header = MessageHeader.parse(try message.prefix(Self.appendHeaderLimit))
            // Too big to journal: the data goes to the device while the link is made.
            try message.startWriteback()
            try maildir.linkIntoTmp(message.spoolPath, uniqueName: message.uniqueName)
            do throws(StoreError) {
                durability = try message.seal(syncing: [maildir.tmp], with: journal)
                var row = StoredMessage(mailboxID: state.id, mailboxPath: state.path, size: message.size, internalDate: internalDate,
                                        mailFrom: "", rcptTo: "", header: header)
                row.flags = flags.letters
                var appended = PendingMessage(message: row, uniqueName: message.uniqueName)
                appended.dropsDuplicate = false
                let pending = [appended]
                guard let inserted = try index.insert(pending, durability: durability, checkpoint: nil).first else {
                    throw StoreError.mailboxNotFound(path: mailbox.path)
                }
                stored = inserted
            } catch {
                try? maildir.removeFromTmp(message.uniqueName)
                throw error
            }
        } catch {
            message.abort()
            throw error
        }
        if !flags.keywords.isEmpty {
            try index.setKeywords(flags.storedKeywords, mailboxID: state.id, uid: stored.uid)
        }
        let journalled = durability.journalContent != nil
        // A journalled file's names are flushed with the journal's next batch.
        try publish(message.uniqueName, as: stored.filename, letters: flags.letters, in: maildir, syncingCur: !journalled)
        message.markDelivered()
        if journalled { journal.retire(message.uniqueName) }
        changes.notify([mailbox.mailboxID])
        return (state.uidValidity, stored.uid)
    }

    /// Stores `bytes` as a new message, as `append(_:to:flags:internalDate:)` does with a
    /// message received into a spool file.
    public func append(
        _ bytes: [UInt8], to mailbox: VisibleMailbox, flags: MessageFlags, internalDate: Date
    ) throws(StoreError) -> (uidValidity: UInt32, uid: UInt32) {
        let message = try beginMessage()
        do throws(StoreError) {
            try message.write(bytes)
        } catch {
            message.abort()
            throw error
        }
        return try append(message, to: mailbox, flags: flags, internalDate: internalDate)
    }

    /// Bytes of an appended message read for its index row's envelope fields.
    static let appendHeaderLimit = 256 * 1024

    /// `tmp/` → `new/`, then into `cur/` with its info part when it has flags (and that
    /// name made durable if `syncingCur`).
    private func publish(
        _ unique: String, as filename: String, letters: String, in maildir: Maildir, syncingCur: Bool = true
    ) throws(StoreError) {
        try maildir.publish(uniqueName: unique, as: filename)
        guard !letters.isEmpty else { return }
        try maildir.setLetters(filename, from: "", to: letters)
        if syncingCur { try FileSystem.syncDirectory(maildir.cur) }
    }
}
