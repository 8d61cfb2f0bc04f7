import Foundation
import GRDB
import PostgateMaildir

/// Group commit: write transactions submitted while another is committing wait, and then
/// run together in the next transaction, each in a savepoint of its own.
///
/// Every delivery ends in a small write transaction whose commit (the WAL frames and an
/// `fsync`, `synchronous=FULL`) costs more than its statements. With many sessions
/// delivering at once, one commit then makes a whole batch durable, as a database's group
/// commit or Postfix's queue manager amortise their syncs. Nothing changes for a caller: its
/// call returns only after the transaction holding its work has committed, and work that
/// throws rolls back its own savepoint and fails alone, leaving the rest of its batch.
package final class GroupCommitQueue: @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `waiting` and `leading` are only used
    // with `condition` locked; a `Submission`'s `result` is written by the leader before it
    // broadcasts under the lock, and read by its owner after waking under the same lock.
    private final class Submission {
        let work: (Database) throws -> Any
        var result: Result<Any, any Error>?

        init(_ work: @escaping (Database) throws -> Any) {
            self.work = work
        }
    }

    /// The most work run in one transaction; the rest waits for the next.
    package static let maximumBatch = 64

    private let condition = NSCondition()
    private var waiting: [Submission] = []
    private var leading = false
    private var transactions = 0

    /// Transactions run so far (each holding one batch).
    package var transactionCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return transactions
    }

    /// Runs `work` in a write transaction of `database`, possibly shared with other callers'
    /// work, and returns its result once that transaction has committed.
    package func write<T>(_ database: SQLiteDatabase, _ work: @escaping (Database) throws -> T) throws(StoreError) -> T {
        let submission = Submission { db in try work(db) }
        condition.lock()
        waiting.append(submission)
        while submission.result == nil {
            guard !leading else {
                condition.wait()
                continue
            }
            leading = true
            let batch = Array(waiting.prefix(Self.maximumBatch))
            waiting.removeFirst(batch.count)
            condition.unlock()
            let results = Self.run(batch, in: database)
            condition.lock()
            for (submission, result) in zip(batch, results) { submission.result = result }
            transactions += 1
            leading = false
            condition.broadcast()
        }
        condition.unlock()
        do {
            return try submission.result!.get() as! T
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(path: database.path, reason: "\(error)")
        }
    }

    /// One transaction, one savepoint per submission; every result is a failure if the
    /// transaction itself fails (nothing of it was committed).
    private static func run(_ batch: [Submission], in database: SQLiteDatabase) -> [Result<Any, any Error>] {
        do {
            // Deliveries change no directory table.
            return try database.write(publishingGeneration: false) { db in
                // A batch of one needs no savepoint: its failure rolls back the whole
                // transaction, which is all of its own work. A savepoint would copy every
                // page it changes into a statement journal.
                if batch.count == 1 { return [.success(try batch[0].work(db))] }
                return try batch.map { submission in
                    var value: Any?
                    do {
                        try db.inSavepoint {
                            value = try submission.work(db)
                            return .commit
                        }
                    } catch let error as DatabaseError where Self.abortsTransaction(error) {
                        throw error
                    } catch {
                        return .failure(error)
                    }
                    return .success(value!)
                }
            }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }

    /// Errors after which SQLite may have rolled back the whole transaction (SQLite's
    /// "Response To Errors Within A Transaction"): the batch fails as one.
    private static func abortsTransaction(_ error: DatabaseError) -> Bool {
        [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_NOMEM, .SQLITE_INTERRUPT].contains(error.resultCode)
    }
}
