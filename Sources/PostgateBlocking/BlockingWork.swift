import NIOPosix

/// Where blocking work may run in Postgate: file and socket calls, SQLite, `fsync(2)`, DNS
/// queries, password hashing.
///
/// Only on a `NIOThreadPool` thread (or a thread of its own, such as a command's main
/// thread before any task runs). Never on an event loop: its one thread serves every
/// connection on it, so a blocked call stalls all of their replies and timeouts. Never on a
/// Swift concurrency cooperative thread: there are only as many as cores, so a blocked call
/// stalls every task waiting for one, the listeners' start and shutdown among them.
package enum BlockingWork {
    /// True on a thread where blocking is allowed: not an event loop's, and not running a
    /// Swift task (async code, whose threads are the cooperative pool's).
    package static var isAllowedHere: Bool {
        MultiThreadedEventLoopGroup.currentEventLoop == nil && withUnsafeCurrentTask { $0 == nil }
    }

    /// Stops a debug build (the tests' and the end-to-end tests') at blocking work started
    /// where none may run; nothing in a release build.
    package static func assertAllowedHere(_ work: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
        assert(isAllowedHere, "blocking work (\(work())) on an event loop or a Swift concurrency thread", file: file, line: line)
    }
}

extension NIOThreadPool {
    /// Runs `body` on the pool and returns what it returns or throws.
    ///
    /// Unlike `runIfActive`, the work is not dropped when the calling task is cancelled: work
    /// handed over (recording a delivery's outcome, a DNS query bounded by its own timeouts)
    /// finishes as it would have if it had run inline. Throws
    /// `NIOThreadPoolError.ThreadPoolInactive` when the pool is not running.
    package func runToCompletion<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { state in
                guard case .active = state else {
                    return continuation.resume(throwing: NIOThreadPoolError.ThreadPoolInactive())
                }
                continuation.resume(with: Result(catching: body))
            }
        }
    }
}
