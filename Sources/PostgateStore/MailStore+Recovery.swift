import Foundation
import PostgateMessage
import PostgateMaildir
import PostgateIndex

/// Bringing the Maildirs and the index back in step after a crash, and rebuilding the
/// index from the Maildirs.
extension MailStore {
    /// Finishes or undoes the deliveries a crash interrupted. Run at startup, while no
    /// delivery is in flight.
    ///
    /// Everything in `spool/` is removed (never acknowledged). A file in a Maildir's `tmp/`
    /// whose index row was committed is moved into `new/` under its committed name; any
    /// other file in `tmp/` is removed. Then every message still in the delivery journal
    /// gets each committed copy's file written again from the journalled content
    /// (`DeliveryJournal`), and leaves the journal. The work is proportional to the number
    /// of files in `spool/` and `tmp/` and of journalled messages, not to the number of
    /// messages.
    public func recover() throws(StoreError) -> RecoveryReport {
        var report = RecoveryReport()
        for name in try FileSystem.contents(of: data.spoolPath) {
            try FileSystem.unlink(data.spoolPath + "/" + name)
            report.spoolFilesRemoved += 1
        }
        let mailboxes = try index.mailboxes()
        for mailbox in mailboxes {
            try recover(mailbox, into: &report)
        }
        try replayJournal(mailboxes: mailboxes, into: &report)
        if report != RecoveryReport() {
            logger.notice("recovered after an unclean stop", metadata: [
                "spoolFilesRemoved": "\(report.spoolFilesRemoved)",
                "messagesCompleted": "\(report.messagesCompleted)",
                "tmpFilesRemoved": "\(report.tmpFilesRemoved)",
                "filesRewritten": "\(report.filesRewritten)",
            ])
        }
        return report
    }

    private func recover(_ mailbox: MailboxState, into report: inout RecoveryReport) throws(StoreError) {
        let maildir = data.maildir(mailbox.path)
        var removed = false, completed = false
        for name in try maildir.tmpNames() {
            if let filename = try index.committedFilename(mailboxID: mailbox.id, uniqueName: name) {
                try maildir.publish(uniqueName: name, as: filename)
                report.messagesCompleted += 1
                completed = true
            } else {
                try maildir.removeFromTmp(name)
                report.tmpFilesRemoved += 1
                removed = true
            }
        }
        if completed { try maildir.syncNew() }
        if removed { try maildir.syncTmp() }
    }

    /// Writes the files of the journalled messages again; a copy whose row is gone
    /// (expunged since) is left alone.
    private func replayJournal(mailboxes: [MailboxState], into report: inout RecoveryReport) throws(StoreError) {
        let entries = try journal.entries()
        guard !entries.isEmpty else { return }
        let paths = Dictionary(mailboxes.map { ($0.id, $0.path) }, uniquingKeysWith: { first, _ in first })
        for entry in entries {
            guard let content = try journal.content(of: entry.uniqueName) else { continue }
            for mailboxID in entry.mailboxIDs {
                guard let path = paths[mailboxID],
                      let filename = try index.committedFilename(mailboxID: mailboxID, uniqueName: entry.uniqueName) else { continue }
                try data.maildir(path).rewrite(filename, uniqueName: entry.uniqueName, with: content)
                report.filesRewritten += 1
            }
        }
        try journal.delete(entries.map(\.uniqueName))
    }

    /// Re-creates missing index rows of every mailbox from its Maildir.
    /// - Returns: how many rows were added.
    @discardableResult
    public func rebuildIndex() throws(StoreError) -> Int {
        var added = 0
        for mailbox in try index.mailboxes() {
            added += try rebuildIndex(mailbox)
        }
        return added
    }

    /// Re-creates the missing index rows of one mailbox from its Maildir: the UID comes from
    /// each file name's `U=`, the policy label from its `P=` (see `MaildirFileName`),
    /// UIDVALIDITY from `postgate-uidvalidity`, the envelope fields from the header. Files
    /// without `U=` are left alone.
    /// - Returns: how many rows were added.
    @discardableResult
    public func rebuildIndex(mailboxPath: String) throws(StoreError) -> Int {
        guard let mailbox = try index.mailbox(path: mailboxPath) else { throw .mailboxNotFound(path: mailboxPath) }
        return try rebuildIndex(mailbox)
    }

    private func rebuildIndex(_ mailbox: MailboxState) throws(StoreError) -> Int {
        let maildir = data.maildir(mailbox.path)
        var messages: [StoredMessage] = []
        for file in try maildir.messageFiles() {
            guard let name = MaildirFileName(parsing: file.name) else { continue }
            messages.append(try storedMessage(at: file.folder + "/" + file.name, name: name, flags: MaildirFileName.flags(in: file.name), mailbox: mailbox))
        }
        let uidValidity = maildir.readUIDValidity() ?? mailbox.uidValidity
        return try index.restore(messages, mailboxID: mailbox.id, uidValidity: uidValidity)
    }

    /// The index row of a Maildir file, from its name, its header and its `stat`.
    private func storedMessage(at path: String, name: MaildirFileName, flags: String, mailbox: MailboxState) throws(StoreError) -> StoredMessage {
        let header = MessageHeader.parse(try FileSystem.read(path, limit: 256 * 1024))
        let status = try FileSystem.sizeAndModificationTime(path)
        let returnPath = header["Return-Path"].map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) } ?? ""
        var message = StoredMessage(
            mailboxID: mailbox.id, mailboxPath: mailbox.path, size: status.size,
            internalDate: Date(timeIntervalSince1970: status.modified), mailFrom: returnPath,
            rcptTo: header["Delivered-To"] ?? "", header: header)
        message.uid = name.uid
        message.filename = name.baseName
        message.flags = flags
        message.policy = name.policy
        return message
    }
}
