import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The thread behind `DurableSync`'s `filesystem` mode: it waits for requests, and for all
/// the requests that arrived before it began makes one `syncfs(2)` of the data directory's
/// filesystem. A request made while a flush runs is served by the next one, whose start
/// follows the requester's writes.
package final class FilesystemFlusher: @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `queued`, `thread`, `stopping` and
    // `flushes` are only used with `condition` locked; the rest never changes.
    private let condition = NSCondition()
    private var queued: [PendingDurableSync] = []
    private var started = false
    private var stopping = false
    private var flushes = 0
    private let root: Int32
    private let rootPath: String
    private let flush: @Sendable (Int32) -> Int32?
    /// The device of the data directory's filesystem, if `fstat` could tell.
    package let device: dev_t?

    package init(rootPath: String, flush: @escaping @Sendable (Int32) -> Int32?) throws(StoreError) {
        self.rootPath = rootPath
        self.flush = flush
        root = open(rootPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw .posix("open directory", rootPath) }
        var info = stat()
        device = fstat(root, &info) == 0 ? info.st_dev : nil
    }

    deinit {
        close(root)
    }

    /// Requests waiting for a flush that has not begun.
    package var waitingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued.count
    }

    package var flushCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return flushes
    }

    /// Queues a request for the next flush, starting the thread on first use.
    package func request() -> PendingDurableSync {
        let pending = PendingDurableSync()
        condition.lock()
        queued.append(pending)
        if !started {
            started = true
            // The thread holds the flusher until `stop()`; then it serves what is queued and ends.
            let thread = Thread { [self] in run() }
            thread.name = "postgate-flush"
            thread.start()
        }
        condition.signal()
        condition.unlock()
        return pending
    }

    /// Ends the thread once the queued requests are served.
    package func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while queued.isEmpty && !stopping { condition.wait() }
            if queued.isEmpty { break }
            let batch = queued
            queued = []
            condition.unlock()
            let failure = flush(root).map { StoreError.posix("syncfs", rootPath, errno: $0) }
            condition.lock()
            flushes += 1
            condition.unlock()
            for pending in batch { pending.complete(failure) }
            condition.lock()
        }
        condition.unlock()
    }

    /// One `syncfs(2)`; the `errno` if it failed.
    package static func syncFilesystem(_ descriptor: Int32) -> Int32? {
        #if os(Linux)
        while linuxSyncfs(descriptor) != 0 {
            guard errno == EINTR else { return errno }
        }
        return nil
        #else
        return fsync(descriptor) == 0 ? nil : errno
        #endif
    }
}

#if os(Linux)
/// glibc's `syncfs(2)` (since 2.14), which its Swift module does not export: the header
/// declares it only under `_GNU_SOURCE`.
@_silgen_name("syncfs")
private func linuxSyncfs(_ descriptor: Int32) -> Int32
#endif
