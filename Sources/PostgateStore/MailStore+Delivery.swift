import Foundation
import PostgateMessage
import PostgateMaildir
import PostgateIndex

/// Durable delivery into the Maildirs and the index.
///
/// The SMTP layer acknowledges a message (RFC 5321 section 4.2.5: "250" after the final
/// dot means the server has taken responsibility for it) only after `deliver` returns.
/// The protocol below makes that safe: until the index transaction commits the message
/// exists only in `spool/` and `tmp/`, which `recover()` clears; after it commits either
/// the file is durable in every `tmp/`, so `recover()` can finish the move into `new/`, or
/// its content is durable in the delivery journal, from which `recover()` rewrites it.
extension MailStore {
    /// Keeps a few spool files ready from now on, so that `beginMessage` need not create one
    /// on a delivery's critical path (`SpoolFileReserve`). For `postgate serve`, after
    /// `recover()` has cleared `spool/`.
    public func reserveSpoolFiles() {
        spoolReserve.enable()
    }

    /// Gives the index's WAL its full size ahead of the first deliveries, so that no
    /// commit has to make a longer WAL durable (`SQLiteDatabase.preallocateWAL`), or less
    /// on a filesystem short of space. For `postgate serve`.
    @discardableResult
    package func preallocateIndexLog() throws(StoreError) -> SQLiteDatabase.WALPreallocation {
        try database.preallocateWAL()
    }

    /// At shutdown, once no delivery is in flight: removes the spool files kept ready and
    /// flushes the journalled deliveries' files (`DeliveryJournal`).
    public func finishDeliveries() {
        spoolReserve.release()
        journal.stop()
    }

    /// Starts receiving a message: a new file in `DATA/spool/` with a Maildir unique name,
    /// made ahead of need when one is ready (`SpoolFileReserve`).
    public func beginMessage() throws(StoreError) -> IncomingMessage {
        let file = try spoolReserve.take()
        return IncomingMessage(uniqueName: file.name, spoolDirectory: data.spoolPath, descriptor: file.descriptor)
    }

    /// Delivers `message` to every mailbox in `targets` (a mailbox listed twice gets one
    /// copy) and returns the stored messages, one per mailbox, with their UIDs:
    /// `commitDelivery` and then `publish`.
    ///
    /// - Throws: as `commitDelivery`; and `.publishFailed` when the message is stored but a
    ///   copy is not yet visible (`recover()` makes it visible).
    public func deliver(
        _ message: IncomingMessage, to targets: [MailboxTarget], envelope: DeliveryEnvelope
    ) throws(StoreError) -> [StoredMessage] {
        let delivery = try commitDelivery(message, to: targets, envelope: envelope)
        if let failure = publish(delivery) { throw StoreError.publishFailed(reason: failure.description) }
        return delivery.stored
    }

    /// Makes `message` durable in every mailbox in `targets` (a mailbox listed twice gets one
    /// copy), steps 1 to 3 below. Once it returns the message is stored: a crash now loses
    /// nothing, and the SMTP `250` may go out; `publish` then makes it visible.
    ///
    /// 1. hard-link the spool file into each Maildir's `tmp/` (one inode for all);
    /// 2. write what is buffered, and decide how the file and its `tmp/` names become
    ///    durable: a message of at most 32 KiB is journalled while few deliveries run at
    ///    once (`DeliveryJournal`); for any other, a flush starts (`DurableSync`: one
    ///    shared `syncfs`, or an `fsync` of the file and of each `tmp/`);
    /// 3. in one index transaction, allocate each mailbox's next UID and insert the rows,
    ///    file name `<unique>,S=<size>,U=<uid>`, each assigned to its session; a mailbox that
    ///    already holds the message (a duplicate) gets no row, and its `tmp/` link is removed.
    ///    A journalled message's content is inserted with the rows, so the commit makes it
    ///    durable; otherwise the statements run while step 2's flush is under way, and the
    ///    transaction commits only after it has finished. Either way a committed row never
    ///    names a message that a crash could lose.
    ///
    /// A message fetched by a receiving gateway carries its `checkpoint`, recorded in step
    /// 3's transaction: the message and the record that it was fetched commit together.
    ///
    /// - Throws: any failure removes what was linked and drops the message (nothing was
    ///   stored).
    public func commitDelivery(
        _ message: IncomingMessage, to targets: [MailboxTarget], envelope: DeliveryEnvelope,
        checkpoint: FetchCheckpoint? = nil
    ) throws(StoreError) -> CommittedDelivery {
        let targets = distinctMailboxes(targets)
        journal.enter()
        defer { journal.leave() }
        do {
            let durability = try linkDurably(message, into: targets)
            let stored = try commit(
                message, to: targets, envelope: envelope, thread: threadFacts(of: message, envelope: envelope),
                durability: durability, checkpoint: checkpoint)
            dropDuplicateLinks(message, targets: targets, stored: stored)
            return CommittedDelivery(stored: stored, message: message, journalled: durability.journalContent != nil)
        } catch {
            message.abort()
            throw error
        }
    }

    /// Makes a committed delivery visible, steps 4 and 5; returns the first failure, which
    /// is logged (the message is stored all the same, and `recover()` finishes it).
    ///
    /// 4. rename each `tmp/<unique>` to `new/<filename>` (not fsynced: recovery repeats a
    ///    lost rename from the `tmp/` entry and the committed row, or rewrites the file
    ///    from the journal);
    /// 5. remove the spool file; a journalled message is queued for the journal's next
    ///    flush, after which its journal row goes.
    @discardableResult
    public func publish(_ delivery: CommittedDelivery) -> StoreError? {
        let failure = publish(delivery.stored, uniqueName: delivery.message.uniqueName)
        delivery.message.markDelivered()
        if delivery.journalled, !delivery.stored.isEmpty { journal.retire(delivery.message.uniqueName) }
        changes.notify(delivery.stored.map(\.mailboxID))
        return failure
    }

    /// Steps 1 and 2: links into every `tmp/`, then seals the message, deciding how the
    /// file and the links become durable; on failure removes every link.
    private func linkDurably(_ message: IncomingMessage, into targets: [MailboxTarget]) throws(StoreError) -> MessageDurability {
        var linked: [Maildir] = []
        do {
            for target in targets {
                let maildir = data.maildir(target.mailboxPath)
                try maildir.linkIntoTmp(message.spoolPath, uniqueName: message.uniqueName)
                linked.append(maildir)
            }
            return try message.seal(syncing: linked.map(\.tmp), with: journal)
        } catch {
            for maildir in linked { try? maildir.removeFromTmp(message.uniqueName) }
            throw error
        }
    }

    /// Step 3: the index rows (and the journalled content), one transaction, committed
    /// once the file is durable as `durability` says. On failure removes the `tmp/` links.
    private func commit(
        _ message: IncomingMessage, to targets: [MailboxTarget], envelope: DeliveryEnvelope, thread: MessageThreadFacts,
        durability: MessageDurability, checkpoint: FetchCheckpoint?
    ) throws(StoreError) -> [StoredMessage] {
        let pending = targets.map { target in
            var row = StoredMessage(
                mailboxID: target.mailboxID, mailboxPath: target.mailboxPath, size: message.size,
                internalDate: envelope.internalDate, mailFrom: envelope.mailFrom,
                rcptTo: envelope.rcptTo[target] ?? target.address.description, header: envelope.header)
            row.policy = envelope.policy[target]
            row.queueID = envelope.queueID
            var pending = PendingMessage(
                message: row, uniqueName: message.uniqueName, threadFacts: thread.facts, contentDigest: thread.digest)
            pending.botHold = envelope.botHolds[target].map { BotHold(queue: $0.isEmpty ? nil : $0) }
            return pending
        }
        do {
            return try index.insert(pending, durability: durability, checkpoint: checkpoint)
        } catch {
            for target in targets { try? data.maildir(target.mailboxPath).removeFromTmp(message.uniqueName) }
            throw error
        }
    }

    /// Step 4: makes each copy visible; returns the first failure after trying them all.
    private func publish(_ stored: [StoredMessage], uniqueName: String) -> StoreError? {
        var failure: StoreError?
        for message in stored {
            do {
                try data.maildir(message.mailboxPath).publish(uniqueName: uniqueName, as: message.filename)
            } catch {
                logger.error("stored message not yet visible; recovery will finish it", metadata: [
                    "mailbox": "\(message.mailboxPath)", "uid": "\(message.uid)", "error": "\(error)",
                ])
                failure = failure ?? error
            }
        }
        return failure
    }

    private func distinctMailboxes(_ targets: [MailboxTarget]) -> [MailboxTarget] {
        var seen: Set<Int64> = []
        return targets.filter { seen.insert($0.mailboxID).inserted }
    }
}

extension StoredMessage {
    /// A row before the index assigns its UID and file name, with the envelope fields
    /// taken from `header` (raw values of the first field of each name).
    package init(
        mailboxID: Int64, mailboxPath: String, size: Int, internalDate: Date,
        mailFrom: String, rcptTo: String, header: MessageHeader
    ) {
        self.init(
            mailboxID: mailboxID, mailboxPath: mailboxPath, uid: 0, filename: "", size: size,
            internalDate: internalDate, mailFrom: mailFrom, rcptTo: rcptTo,
            headerFrom: header["From"], headerTo: header["To"], headerCc: header["Cc"], subject: header["Subject"],
            date: header["Date"], messageID: header["Message-ID"], inReplyTo: header["In-Reply-To"],
            references: header["References"])
        let importance = MessageImportance(header: header)
        self.importance = importance == .normal ? nil : importance.rawValue
    }
}
