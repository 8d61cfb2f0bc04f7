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
/// guarantees as fsync() called on every file in the filesystem", syncfs(2)). Concurrent
/// deliveries share a call: a caller waits for one that *started* after its writes, so the
/// flush covers them (the same group commit `GroupCommitQueue` makes of index commits).
/// A path on another filesystem, or `files` mode, falls back to one `fsync` per file and
/// directory. The order the delivery protocol needs is kept either way: everything here is
/// durable before the index transaction commits.
public final class DurableSync: @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `started`, `finished`, `running` and
    // `lastFailure` are only used with `condition` locked; `root` and `device` never change.

    /// How deliveries make their files durable (the `data_sync` setting).
    public enum Mode: String, Sendable, CaseIterable {
        /// One shared `syncfs(2)` of the data directory's filesystem (Linux); `fsync` per
        /// file and directory for anything on another filesystem.
        case filesystem
        /// One `fsync(2)` per file and per directory: for a data directory whose filesystem
        /// is shared with heavy writers whose data a `syncfs` would also wait for.
        case files
    }

    public let mode: Mode
    private let root: Int32
    private let device: dev_t?
    private let condition = NSCondition()
    private var started = 0
    private var finished = 0
    private var running = false
    private var lastFailure: (number: Int, errno: Int32)?
    /// `syncfs(2)` of a descriptor's filesystem, returning the `errno` of a failure (tests
    /// put a slow or failing one here).
    private let flush: @Sendable (Int32) -> Int32?

    /// Opens the directory `rootPath` (the data directory), whose filesystem `syncfs` flushes.
    init(
        rootPath: String, mode: Mode, flush: @escaping @Sendable (Int32) -> Int32? = DurableSync.syncFilesystem
    ) throws(StoreError) {
        self.mode = mode
        self.flush = flush
        root = open(rootPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw .posix("open directory", rootPath) }
        var info = stat()
        device = fstat(root, &info) == 0 ? info.st_dev : nil
    }

    deinit {
        close(root)
    }

    /// Flushes since the store opened (shared `syncfs` calls made).
    var filesystemSyncCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    /// Makes the open file `descriptor` (at `path`) and the entries of `directories` durable.
    func sync(file descriptor: Int32, path: String, directories: [String]) throws(StoreError) {
        if canSyncFilesystem(file: descriptor, directories: directories) {
            try syncFilesystem(path: path)
        } else {
            try FileSystem.sync(descriptor, path: path)
            for directory in directories { try FileSystem.syncDirectory(directory) }
        }
    }

    /// Whether one `syncfs` of the root's filesystem covers the file and every directory.
    private func canSyncFilesystem(file descriptor: Int32, directories: [String]) -> Bool {
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

    /// Returns once a `syncfs` that started after this call began has finished; throws if
    /// any such call failed (an I/O error may have lost the writes, so the caller must not
    /// acknowledge them).
    private func syncFilesystem(path: String) throws(StoreError) {
        condition.lock()
        let needed = started + 1
        while finished < needed {
            if running {
                condition.wait()
                continue
            }
            running = true
            started += 1
            let number = started
            condition.unlock()
            let failure = flush(root)
            condition.lock()
            running = false
            finished = number
            if let failure { lastFailure = (number, failure) }
            condition.broadcast()
        }
        let failure = lastFailure.flatMap { $0.number >= needed ? $0.errno : nil }
        condition.unlock()
        if let failure { throw .posix("syncfs", path, errno: failure) }
    }

    /// One `syncfs(2)`; the `errno` if it failed.
    static func syncFilesystem(_ descriptor: Int32) -> Int32? {
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
