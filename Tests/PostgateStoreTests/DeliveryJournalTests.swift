import Foundation
import PostgateMessage
import Synchronization
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex
@testable import PostgateDirectory

/// Journalled deliveries (`DeliveryJournal`): a message in memory is durable by its index
/// commit alone; its files are flushed later in batches, and rewritten from the journal
/// after a crash that may have lost them.
@Suite struct DeliveryJournalTests {
    let fixture: StoreFixture
    let mailbox = "maildir/acme.test/support"

    init() throws {
        fixture = try StoreFixture()
    }

    /// A store whose filesystem flushes always fail: nothing is ever retired from the
    /// journal, as in the moments before a crash.
    func storeNeverFlushing() throws -> MailStore {
        try fixture.storeFlushing { _ in EIO }
    }

    /// The path of `relative` in the data directory of `storeFlushing`.
    func flushingFile(_ relative: String) -> String { fixture.flushingPath + "/" + relative }

    /// The data directory opened again, as at a restart after a crash, and recovered.
    func recoverAfterCrash() throws -> (MailStore, RecoveryReport) {
        let restarted = try MailStore.open(directory: fixture.flushingPath)
        return (restarted, try restarted.recover())
    }

    @Test func aSmallDeliveryCommitsWithoutWaitingForAFlush() throws {
        // The flush blocks until released; the delivery returns anyway, its row and its
        // content in the journal committed. The journal row goes once the flush has ended.
        let release = DispatchSemaphore(value: 0)
        let flushing = DispatchSemaphore(value: 0)
        let store = try fixture.storeFlushing { _ in
            flushing.signal()
            release.wait()
            return nil
        }
        let bytes = sampleMessage()
        let stored = try deliverSample(store, bytes)
        #expect(stored.count == 1)
        #expect(try store.journal.entries() == [DeliveryJournal.Entry(uniqueName: MaildirFileName.uniqueName(of: stored[0].filename),
                                                                     mailboxIDs: [stored[0].mailboxID])])
        #expect(try store.journal.content(of: MaildirFileName.uniqueName(of: stored[0].filename)) == bytes)
        flushing.wait()  // the journal's flush has begun; the row stays until it ends
        #expect(try store.journal.entries().count == 1)
        release.signal()
        store.journal.stop()
        #expect(try store.journal.entries().isEmpty)
        #expect(store.journal.unretiredCount == 0)
    }

    @Test func deletingRemovesExactlyTheNamedRows() throws {
        let store = try storeNeverFlushing()
        try store.database.write { db in
            for name in ["a", "b", "c"] { try DeliveryJournal.insert(db, uniqueName: name, mailboxIDs: [1, 2], content: [1, 2, 3]) }
        }
        try store.journal.delete(["a", "c", "missing"])
        #expect(try store.journal.entries() == [DeliveryJournal.Entry(uniqueName: "b", mailboxIDs: [1, 2])])
        #expect(try store.journal.content(of: "b") == [1, 2, 3])
        try store.journal.delete([])
    }

    @Test func manyDeliveriesInProgressShareAFlushInstead() throws {
        // With more than `concurrencyLimit` deliveries under way, a delivery syncs its file
        // before the commit (shared syncfs) and journals nothing. Only that first flush
        // succeeds, so the journal row of the second delivery stays.
        let flushes = Atomic<Int>(0)
        let store = try fixture.storeFlushing { _ in
            flushes.add(1, ordering: .relaxed).newValue == 1 ? nil : EIO
        }
        for _ in 0..<DeliveryJournal.concurrencyLimit { store.journal.enter() }
        try deliverSample(store)
        #expect(try store.journal.entries().isEmpty)
        #expect(flushes.load(ordering: .relaxed) == 1)
        for _ in 0..<DeliveryJournal.concurrencyLimit { store.journal.leave() }
        try deliverSample(store)
        #expect(try store.journal.entries().count == 1)
    }

    @Test func aBacklogOfUnflushedMessagesStopsTheJournal() throws {
        // Flushes fail: the journal fills up to its limit, then deliveries sync before
        // their commit and fail with the flush.
        let store = try storeNeverFlushing()
        for _ in 0..<DeliveryJournal.backlogLimit { store.journal.retire("pretend") }
        #expect(throws: StoreError.self) { try deliverSample(store) }
        #expect(try store.messages(mailboxPath: mailbox).isEmpty)
    }

    @Test func recoveryRewritesACutFile() throws {
        let store = try storeNeverFlushing()
        let bytes = sampleMessage()
        let stored = try deliverSample(store, bytes)
        let file = flushingFile(mailbox + "/new/" + stored[0].filename)
        #expect(truncate(file, 10) == 0)  // what a power cut may leave of an unflushed file
        let (restarted, report) = try recoverAfterCrash()
        #expect(report.filesRewritten == 1)
        #expect(try FileSystem.read(file, limit: 1 << 20) == bytes)
        #expect(try restarted.journal.entries().isEmpty)
        #expect(try FileSystem.contents(of: flushingFile(mailbox + "/tmp")).isEmpty)
    }

    @Test func recoveryWritesALostFileIntoNew() throws {
        let store = try storeNeverFlushing()
        let bytes = sampleMessage()
        let stored = try deliverSample(store, bytes)
        try FileSystem.unlink(flushingFile(mailbox + "/new/" + stored[0].filename))  // its names never reached the disk
        let (_, report) = try recoverAfterCrash()
        #expect(report.filesRewritten == 1)
        #expect(try FileSystem.read(flushingFile(mailbox + "/new/" + stored[0].filename), limit: 1 << 20) == bytes)
    }

    @Test func recoveryRewritesAFlaggedFileWhereItIs() throws {
        let store = try storeNeverFlushing()
        let bytes = sampleMessage()
        let stored = try deliverSample(store, bytes)
        _ = try store.updateFlags(try sharedMailbox(store), agent: AgentIdentity(id: 1, name: "a"), uids: [stored[0].uid]) {
            $0.union(MessageFlags(letters: "S"))
        }
        let file = flushingFile(mailbox + "/cur/" + stored[0].filename + ":2,S")
        #expect(truncate(file, 0) == 0)
        let (_, report) = try recoverAfterCrash()
        #expect(report.filesRewritten == 1)
        #expect(try FileSystem.read(file, limit: 1 << 20) == bytes)
        #expect(try FileSystem.contents(of: flushingFile(mailbox + "/new")).isEmpty)
    }

    @Test func recoveryLeavesAnExpungedMessageGone() throws {
        let store = try storeNeverFlushing()
        let stored = try deliverSample(store)
        #expect(try store.expunge(try sharedMailbox(store), uids: [stored[0].uid]) == [stored[0].uid])
        let (restarted, report) = try recoverAfterCrash()
        #expect(report.filesRewritten == 0)
        #expect(try FileSystem.contents(of: flushingFile(mailbox + "/new")).isEmpty)
        #expect(try restarted.journal.entries().isEmpty)
    }

    @Test func everyMailboxCopyIsRewritten() throws {
        let store = try storeNeverFlushing()
        try store.addAddress(EmailAddress("sales@acme.test"))
        let bytes = sampleMessage()
        let message = try store.beginMessage()
        try message.write(bytes)
        let targets = try ["support@acme.test", "sales@acme.test"].map { address -> MailboxTarget in
            guard case .accept(let target) = try store.resolveRecipient(EmailAddress(address)) else {
                throw StoreFixtureError.notAccepted(address)
            }
            return target
        }
        let stored = try store.deliver(message, to: targets, envelope: DeliveryEnvelope(mailFrom: "", rcptTo: [:], header: .parse(bytes)))
        for copy in stored { #expect(truncate(flushingFile(copy.mailboxPath + "/new/" + copy.filename), 1) == 0) }
        let (_, report) = try recoverAfterCrash()
        #expect(report.filesRewritten == 2)
        for copy in stored {
            #expect(try FileSystem.read(flushingFile(copy.mailboxPath + "/new/" + copy.filename), limit: 1 << 20) == bytes)
        }
    }

    @Test func anAppendIsJournalledAndRecovered() throws {
        let store = try storeNeverFlushing()
        let bytes = sampleMessage()
        let appended = try store.append(bytes, to: try sharedMailbox(store), flags: MessageFlags(), internalDate: Date())
        let filename = try #require(try store.messages(mailboxPath: mailbox).first { $0.uid == appended.uid }?.filename)
        #expect(truncate(flushingFile(mailbox + "/new/" + filename), 3) == 0)
        let (_, report) = try recoverAfterCrash()
        #expect(report.filesRewritten == 1)
        #expect(try FileSystem.read(flushingFile(mailbox + "/new/" + filename), limit: 1 << 20) == bytes)
    }

    @Test func aCopyWaitsUntilTheJournalledFileIsDurable() throws {
        // COPY gives the file a second name that the journal does not know; with the file
        // not yet durable (every flush fails here), the copy fails and adds nothing.
        let store = try storeNeverFlushing()
        let stored = try deliverSample(store)
        let source = try sharedMailbox(store)
        let summaries = try store.details(in: source, uids: stored[0].uid...stored[0].uid)
        #expect(throws: StoreError.self) { try store.copy(summaries, from: source, to: source) }
        #expect(try store.messages(mailboxPath: mailbox).count == 1)
        #expect(try FileSystem.contents(of: flushingFile(mailbox + "/tmp")).isEmpty)
    }

    @Test func aCopySettlesWhatAnotherProcessJournalled() throws {
        let journalling = try storeNeverFlushing()
        let stored = try deliverSample(journalling)
        let flushes = Atomic<Int>(0)
        let other = try MailStore.open(directory: fixture.flushingPath) { _ in
            flushes.add(1, ordering: .relaxed)
            return nil
        }
        let source = try sharedMailbox(other)
        _ = try other.copy(try other.details(in: source, uids: stored[0].uid...stored[0].uid), from: source, to: source)
        #expect(flushes.load(ordering: .relaxed) == 1)
    }

    @Test func aCopyAfterTheFlushNeedsNone() throws {
        let flushes = Atomic<Int>(0)
        let store = try fixture.storeFlushing { _ in
            flushes.add(1, ordering: .relaxed)
            return nil
        }
        let stored = try deliverSample(store)
        store.journal.stop()
        let before = flushes.load(ordering: .relaxed)
        let source = try sharedMailbox(store)
        _ = try store.copy(try store.details(in: source, uids: stored[0].uid...stored[0].uid), from: source, to: source)
        #expect(flushes.load(ordering: .relaxed) == before)
        #expect(try store.messages(mailboxPath: mailbox).count == 2)
    }
}

/// `IncomingMessage.prefix` (a body filter's look) keeps a small message in memory.
@Suite struct IncomingMessagePrefixTests {
    @Test func aPrefixOfABufferedMessageLeavesItWholeInMemory() throws {
        let fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
        let bytes = sampleMessage()
        let message = try fixture.store.beginMessage()
        try message.write(bytes)
        #expect(try message.prefix(10) == Array(bytes.prefix(10)))
        #expect(try message.prefix(1 << 20) == bytes)
        let stored = try fixture.store.deliver(message, to: [try fixture.target("support@acme.test")],
                                               envelope: DeliveryEnvelope(mailFrom: "", rcptTo: [:], header: .parse(bytes)))
        #expect(message.contents == bytes)  // kept only for a message never written out before sealing
        #expect(fixture.contents("maildir/acme.test/support/new/" + stored[0].filename) == bytes)
    }

    @Test func aPrefixOfASpooledMessageReadsTheFile() throws {
        let fixture = try StoreFixture()
        let message = try fixture.store.beginMessage()
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: IncomingMessage.bufferCapacity + 1)
        try message.write(big)
        #expect(try message.prefix(100) == Array(big.prefix(100)))
    }

    /// A message too big to journal is written out before routing (its writeback started),
    /// and stays in memory for the facts read at delivery; a small one stays unwritten, so
    /// the journal can take it.
    @Test func writebackStartsOnlyForMessagesTheJournalWillNotTake() throws {
        let fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
        let small = sampleMessage()
        let kept = try fixture.store.beginMessage()
        try kept.write(small)
        try kept.startWriteback()
        #expect(try FileManager.default.attributesOfItem(atPath: kept.spoolPath)[.size] as? Int == 0)
        kept.abort()

        let big = small + [UInt8](repeating: UInt8(ascii: "b"), count: DeliveryJournal.contentLimit) + Array("\r\n".utf8)
        let message = try fixture.store.beginMessage()
        try message.write(big)
        try message.startWriteback()
        #expect(try FileManager.default.attributesOfItem(atPath: message.spoolPath)[.size] as? Int == big.count)
        #expect(try message.prefix(10) == Array(big.prefix(10)))
        let stored = try fixture.store.deliver(message, to: [try fixture.target("support@acme.test")],
                                               envelope: DeliveryEnvelope(mailFrom: "", rcptTo: [:], header: .parse(big)))
        #expect(message.contents == big)
        #expect(fixture.contents("maildir/acme.test/support/new/" + stored[0].filename) == big)

        // Bytes written after the writeback started: the kept copy is no longer the message.
        let grown = try fixture.store.beginMessage()
        try grown.write(big)
        try grown.startWriteback()
        try grown.write(Array("tail\r\n".utf8))
        #expect(try grown.prefix(1 << 20) == big + Array("tail\r\n".utf8))
        grown.abort()
    }
}
