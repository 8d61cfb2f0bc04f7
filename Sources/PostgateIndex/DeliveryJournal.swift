import Foundation
import Synchronization
import Logging
import PostgateMaildir

/// Journalled deliveries: a message that fits in memory is made durable by the index
/// commit alone, and its Maildir files later, many at a time.
///
/// Without the journal a delivery needs two device flushes one after the other: the file
/// and its directory entries (`DurableSync`), then the index commit, which may not start
/// before the first ends (a committed row must never name a file that is not durable).
/// Postfix's `250` follows one flush, of its queue file. With the journal the message's
/// content goes into the `delivery_journal` table in the index transaction itself, so the
/// one WAL commit (`synchronous=FULL`) makes both the rows and the content durable, as a
/// queue file does; the `250` follows it.
///
/// The Maildir files are written before the commit, as always, and published after it,
/// but not flushed: `retire` queues the message, and a thread of its own, about every
/// `batchInterval`, makes one flush (`DurableSync.flushFilesystem`, a `syncfs`) that covers
/// every file published before it, then deletes their journal rows in one transaction.
/// After a crash, `MailStore.recover()` rewrites the file of every row still in the journal
/// from its content (`replay`), so an acknowledged message is whole even if its file was
/// not. Anything that makes a second durable name for a file (COPY, MOVE) calls `settle()`
/// first, so it never links a file whose content only the journal holds.
///
/// Only used where one `syncfs` covers the files (`DurableSync.coversWithFilesystemSync`);
/// bigger messages and `data_sync: files` keep the two-flush protocol.
package final class DeliveryJournal: @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `outstanding`, `unretired`, `started` and
    // `stopping` are only used with `condition` locked; the rest never changes.
    private let condition = NSCondition()
    private var outstanding: [String] = []
    private var unretired = 0
    private var started = false
    private var stopping = false
    package let database: SQLiteDatabase
    private let sync: DurableSync
    private let logger: Logger

    /// The largest message journalled. Every journalled byte is written twice more by
    /// the one writer that every commit waits for (into the WAL, then by a checkpoint into
    /// the database file): for a message of 100 KiB that costs more than the flush it
    /// saves, for one of a few KiB far less.
    package static let contentLimit = 32 * 1024
    /// How long the thread collects published messages before it flushes them.
    package static let batchInterval: TimeInterval = 0.1
    /// The most deliveries in progress at once for which the journal is used. With more,
    /// a shared `syncfs` before the commit costs each delivery less than journalling
    /// does: the content would be written twice more (WAL, then checkpoint) by the one
    /// writer that all commits wait for.
    package static let concurrencyLimit = 2

    /// The most journalled messages waiting for their flush: beyond it (flushes failing or
    /// stuck) deliveries sync before their commit again, so they wait for the disk or fail
    /// with it, and the backlog stays bounded.
    package static let backlogLimit = 2_000

    /// Deliveries (and APPENDs) between `enter` and `leave`.
    private let inProgress = Atomic<Int>(0)

    package init(database: SQLiteDatabase, sync: DurableSync, logger: Logger) {
        self.database = database
        self.sync = sync
        self.logger = logger
    }

    /// Counts a delivery in progress until `leave`: call around the work from writing the
    /// file to the index commit.
    package func enter() {
        inProgress.add(1, ordering: .relaxed)
    }

    /// Ends what `enter` began.
    package func leave() {
        inProgress.subtract(1, ordering: .relaxed)
    }

    /// How the new file `descriptor` (at `path`, named in `directories`) is made durable:
    /// journalled when its whole `content` is at hand, at most `contentLimit`, at most
    /// `concurrencyLimit` deliveries are in progress, fewer than `backlogLimit` wait for
    /// their flush, and one `syncfs` covers it; otherwise by a flush started now
    /// (`DurableSync.start`).
    package func durability(of descriptor: Int32, path: String, directories: [String], content: [UInt8]?) -> MessageDurability {
        if let content, content.count <= Self.contentLimit,
           inProgress.load(ordering: .relaxed) <= Self.concurrencyLimit, unretiredCount < Self.backlogLimit,
           sync.coversWithFilesystemSync(file: descriptor, directories: directories) {
            return .journal(content)
        }
        return .flush(sync.start(file: descriptor, path: path, directories: directories))
    }

    /// Journal rows not yet deleted by this process.
    package var unretiredCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return unretired
    }

    /// Queues the journal row of `uniqueName`, whose files are published, for the next
    /// batch: flushed, then deleted.
    package func retire(_ uniqueName: String) {
        condition.lock()
        outstanding.append(uniqueName)
        unretired += 1
        if !started {
            started = true
            // The thread holds the journal until `stop()`; then it retires what is queued and ends.
            let thread = Thread { [self] in run() }
            thread.name = "postgate-journal"
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// Returns once every file published so far is durable (before a second name for one
    /// of them is made durable: COPY, MOVE). One read when the journal is empty, also of
    /// other processes' deliveries (an admin command's).
    package func settle() throws(StoreError) {
        if unretiredCount == 0, try isEmpty() { return }
        try sync.flushFilesystem().wait()
    }

    /// Retires what is queued and ends the thread (at shutdown). What fails to retire stays
    /// in the journal for `recover()`.
    package func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while started { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while outstanding.isEmpty && !stopping { condition.wait() }
            if outstanding.isEmpty { break }
            // Collect a batch; `stop()` cuts the wait short.
            let deadline = Date(timeIntervalSinceNow: Self.batchInterval)
            while !stopping && condition.wait(until: deadline) {}
            let batch = outstanding
            outstanding = []
            condition.unlock()
            let retired = retireBatch(batch)
            condition.lock()
            if retired {
                unretired -= batch.count
            } else if !stopping {
                outstanding = batch + outstanding
                // Before the next try, a pause that `stop()` cuts short.
                let retry = Date(timeIntervalSinceNow: Self.batchInterval)
                while !stopping && condition.wait(until: retry) {}
            }
        }
        started = false
        condition.broadcast()
        condition.unlock()
    }

    /// One flush, then the batch's rows deleted; false (logged) if either failed: the rows
    /// stay, and the content with them.
    private func retireBatch(_ batch: [String]) -> Bool {
        do {
            try sync.flushFilesystem().wait()
            try delete(batch)
            return true
        } catch {
            logger.error("journalled messages not yet flushed; will retry", metadata: [
                "messages": "\(batch.count)", "error": "\(error)",
            ])
            return false
        }
    }
}
