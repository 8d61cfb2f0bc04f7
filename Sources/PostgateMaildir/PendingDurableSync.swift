import Foundation

/// A `DurableSync` flush that a caller has asked for and may wait on later, so it can do
/// work that does not depend on the flush (the index statements of the same delivery)
/// while the device flushes.
///
/// `wait()` must return before anything that relies on the sync (the index commit) happens.
package final class PendingDurableSync: @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `finished` and `failure` are only used
    // with `condition` locked. A condition variable, not a `Mutex`: callers block until
    // the flushing thread completes the request.
    private let condition = NSCondition()
    private var finished = false
    private var failure: StoreError?

    /// One already finished, with `failure` or without.
    package static func finished(_ failure: StoreError?) -> PendingDurableSync {
        let pending = PendingDurableSync()
        pending.complete(failure)
        return pending
    }

    /// Called once, by whoever ran the flush.
    package func complete(_ failure: StoreError?) {
        condition.lock()
        self.failure = failure
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Returns when the flush has finished; throws its failure. Safe to call again, from
    /// any thread.
    package func wait() throws(StoreError) {
        condition.lock()
        while !finished { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
    }
}
