import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes a delivery's new file and its new directory entries durable, with as few device
/// flushes as the filesystem allows.
///
/// A delivery must make durable one file (its data and inode) and the `tmp/` entries that
/// name it in each Maildir (POSIX makes a new name durable only by `fsync(2)` of its
/// directory). One `fsync` each means one device cache flush each, three for a message
/// going to an address and its queue, before the index commit adds a fourth.
///
/// In `filesystem` mode, when the file and every directory are on the data directory's
/// filesystem, one `syncfs(2)` replaces them: Linux waits for all of that filesystem's
/// dirty data and metadata and then flushes the device once ("syncfs() provides the same
/// guarantees as fsync() called on every file in the filesystem", syncfs(2)). A thread of
/// its own runs the calls: every request that arrived while one ran is served by the next,
/// so concurrent deliveries share a flush (the group commit `GroupCommitQueue` makes of
/// index commits), and a delivery can prepare its index rows meanwhile (`start`).
/// A path on another filesystem, or `files` mode, falls back to one `fsync` per file and
/// directory, in the caller's thread. The order the delivery protocol needs is kept either
/// way: everything here is durable before the index transaction commits.
public final class DurableSync: Sendable {
    /// How deliveries make their files durable (the `data_sync` setting).
    public enum Mode: String, Sendable, CaseIterable {
        /// One shared `syncfs(2)` of the data directory's filesystem (Linux), after the
        /// index commit for a journalled message (`DeliveryJournal`), before it for a
        /// bigger one; `fsync` per file and directory for anything on another filesystem.
        case filesystem
        /// One `fsync(2)` per file and per directory: for a data directory whose filesystem
        /// is shared with heavy writers whose data a `syncfs` would also wait for.
        case files
    }

    public let mode: Mode
    private let worker: FilesystemFlusher
    private let device: dev_t?

    /// Opens the directory `rootPath` (the data directory), whose filesystem `syncfs` flushes.
    /// `flush` is the call made (tests put a slow or failing one there); it returns the
    /// `errno` of a failure.
    package init(
        rootPath: String, mode: Mode, flush: @escaping @Sendable (Int32) -> Int32? = FilesystemFlusher.syncFilesystem
    ) throws(StoreError) {
        self.mode = mode
        worker = try FilesystemFlusher(rootPath: rootPath, flush: flush)
        device = worker.device
    }

    deinit {
        worker.stop()
    }

    /// Flushes made since the store opened (shared `syncfs` calls).
    /// Callers waiting for a filesystem flush that has not begun.
    package var waitingForFilesystemSync: Int { worker.waitingCount }

    package var filesystemSyncCount: Int {
        worker.flushCount
    }

    /// Makes the open file `descriptor` (at `path`) and the entries of `directories` durable.
    package func sync(file descriptor: Int32, path: String, directories: [String]) throws(StoreError) {
        try start(file: descriptor, path: path, directories: directories).wait()
    }

    /// Asks for `sync(file:path:directories:)` and returns at once if the flusher thread
    /// will do it (the result's `wait()` returns when it is done); the `fsync` fallback runs
    /// here and returns finished. `descriptor` is not used after this returns (the flusher
    /// syncs the whole filesystem through its own descriptor), so it may be closed.
    package func start(file descriptor: Int32, path: String, directories: [String]) -> PendingDurableSync {
        guard coversWithFilesystemSync(file: descriptor, directories: directories) else {
            do throws(StoreError) {
                try FileSystem.sync(descriptor, path: path)
                for directory in directories { try FileSystem.syncDirectory(directory) }
                return .finished(nil)
            } catch {
                return .finished(error)
            }
        }
        return worker.request()
    }

    /// One flush of the data directory's filesystem, shared with concurrent requests: once
    /// it has finished, everything written there before this call is durable. Only for
    /// paths `coversWithFilesystemSync` accepted.
    package func flushFilesystem() -> PendingDurableSync {
        worker.request()
    }

    /// Whether one `syncfs` of the root's filesystem covers the file and every directory
    /// (`filesystem` mode, all on the data directory's filesystem).
    package func coversWithFilesystemSync(file descriptor: Int32, directories: [String]) -> Bool {
        #if os(Linux)
        guard mode == .filesystem, let device else { return false }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_dev == device else { return false }
        return directories.allSatisfy { directory in
            stat(directory, &info) == 0 && info.st_dev == device
        }
        #else
        return false
        #endif
    }
}
