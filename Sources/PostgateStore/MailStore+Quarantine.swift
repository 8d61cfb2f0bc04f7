import PostgateMessage
import PostgatePolicy
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// The quarantine: messages the inbound policy held back, each stored durably in the
/// receiving address's quarantine Maildir (`DATA/quarantine/<domain>/<local>`) with its
/// reason on the row (`message.policy = 'quarantined:<reason>'`). Nothing is dropped:
/// an administrator lists, shows, releases (delivers to the address's mailbox) or deletes.
extension MailStore {
    /// Where a message quarantined for `target` is delivered: the quarantine mailbox of
    /// `target`'s mailbox, created with its Maildir on first use.
    public func quarantineTarget(for target: MailboxTarget) throws(StoreError) -> MailboxTarget {
        let path = DataDirectory.quarantinePath(for: target.mailboxPath)
        return try directory.quarantineMailbox(for: target, path: path) { (proposed) throws(StoreError) in
            let seed = try createMailbox(at: path, proposedUIDValidity: proposed)
            try FileSystem.syncDirectory(data.root)
            return seed
        }
    }

    /// The quarantined messages, all or those of `address` (or the address an alias names).
    public func quarantined(address: EmailAddress? = nil) throws(StoreError) -> [QuarantinedMessage] {
        guard let address else { return try directory.quarantined(addressMailboxID: nil) }
        guard let target = try resolveTarget(address) else { throw .addressNotFound(address) }
        return try directory.quarantined(addressMailboxID: target.mailboxID)
    }

    /// The messages of the addresses' own mailboxes the inbound policy gave `label` (all
    /// addresses, or `address` or the address an alias names), newest first.
    public func labelled(_ label: String, address: EmailAddress? = nil, limit: Int = 1000) throws(StoreError) -> [StoredMessage] {
        guard let address else { return try directory.labelled(label, addressMailboxID: nil, limit: limit) }
        guard let target = try resolveTarget(address) else { throw .addressNotFound(address) }
        return try directory.labelled(label, addressMailboxID: target.mailboxID, limit: limit)
    }

    /// The path of a stored message's file (in `new/` or `cur/`), nil if it is gone.
    public func messageFile(_ message: StoredMessage) throws(StoreError) -> String? {
        let files = try data.maildir(message.mailboxPath).messageFiles()
        return files.first { $0.name == message.filename || $0.name.hasPrefix(message.filename + ":") }.map { $0.folder + "/" + $0.name }
    }

    /// One quarantined message.
    /// - Throws: `.quarantinedMessageNotFound`.
    public func quarantined(id: Int64) throws(StoreError) -> QuarantinedMessage {
        guard let message = try directory.quarantined(id: id) else { throw .quarantinedMessageNotFound(id) }
        return message
    }

    /// The path of a quarantined message's file (in `new/` or `cur/`), nil if it is gone.
    public func quarantinedFile(_ message: QuarantinedMessage) throws(StoreError) -> String? {
        try messageFile(message.message)
    }

    /// Delivers a quarantined message to its address's mailbox as an ordinary message, and
    /// into the agents' queue its filters choose (durably, through the same path as SMTP
    /// delivery), then removes it from quarantine.
    /// A crash in between leaves it in both places, never in neither.
    /// - Throws: `.quarantinedMessageNotFound`, I/O and database errors.
    @discardableResult
    public func release(quarantinedID id: Int64) throws(StoreError) -> StoredMessage {
        let held = try quarantined(id: id)
        guard let path = try quarantinedFile(held) else {
            throw .io(operation: "find", path: held.message.mailboxPath + "/" + held.message.filename, reason: "the file is missing")
        }
        let incoming = try beginMessage()
        var head: [UInt8] = []
        do {
            try FileSystem.forEachChunk(of: path) { (chunk) throws(StoreError) in
                if head.count < Self.releaseScanLimit { head += chunk.prefix(Self.releaseScanLimit - head.count) }
                try incoming.write(chunk)
            }
        } catch {
            incoming.abort()
            throw error
        }
        let target = held.addressMailbox
        let header = MessageHeader.parse(head)
        var rcptTo = [target: held.message.rcptTo]
        let facts = RoutingFacts(sender: held.message.mailFrom, header: header, messageBytes: { head })
        if let queue = try route(target, facts: facts) { rcptTo[queue.mailbox] = held.message.rcptTo }
        let envelope = DeliveryEnvelope(
            mailFrom: held.message.mailFrom, rcptTo: rcptTo, internalDate: held.message.internalDate, header: header)
        let stored = try deliver(incoming, to: [target] + rcptTo.keys.filter { $0 != target }, envelope: envelope)
        try removeQuarantined(held, file: path)
        logger.notice("released from quarantine", metadata: ["id": "\(id)", "mailbox": "\(target.mailboxPath)"])
        return stored[0]
    }

    /// Deletes a quarantined message: its row, then its file.
    /// - Throws: `.quarantinedMessageNotFound`.
    public func deleteQuarantined(id: Int64) throws(StoreError) {
        let held = try quarantined(id: id)
        try removeQuarantined(held, file: quarantinedFile(held))
    }

    /// Bytes of a released message read for the index row's envelope fields and the filters.
    package static let releaseScanLimit = RoutingFacts.bodyScanLimit

    private func removeQuarantined(_ held: QuarantinedMessage, file: String?) throws(StoreError) {
        try directory.removeQuarantined(id: held.id)
        guard let file else { return }
        try FileSystem.unlink(file)
        try FileSystem.syncDirectory(String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)]))
    }

    /// The mailbox of the hosted address `address` names.
    private func resolveTarget(_ address: EmailAddress) throws(StoreError) -> MailboxTarget? {
        guard let record = try directory.address(address, countingMessages: false), let mailbox = try index.mailbox(path: record.mailboxPath) else { return nil }
        return MailboxTarget(mailboxID: mailbox.id, mailboxPath: mailbox.path, address: address)
    }
}
