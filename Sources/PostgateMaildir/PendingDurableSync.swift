import Dispatch

/// A `DurableSync` flush that a caller has asked for and may wait on later, so it can do
/// work that does not depend on the flush (the index statements of the same delivery)
/// while the device flushes.
///
/// `wait()` must return before anything that relies on the sync (the index commit) happens.
package final class PendingDurableSync: @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `failure` is written once, by `complete`,
    // before it signals `done`, and read only after `wait` has seen that signal.
    private let done = DispatchSemaphore(value: 0)
    private var failure: StoreError?

    /// One already finished, with `failure` or without.
    package static func finished(_ failure: StoreError?) -> PendingDurableSync {
        let pending = PendingDurableSync()
        pending.complete(failure)
        return pending
    }

    /// Called once, by whoever ran the flush.
    package func complete(_ failure: StoreError?) {
        self.failure = failure
        done.signal()
    }

    /// Returns when the flush has finished; throws its failure. Safe to call again, from
    /// any thread (the signal is passed on to the next waiter).
    package func wait() throws(StoreError) {
        done.wait()
        done.signal()
        if let failure { throw failure }
    }
}
