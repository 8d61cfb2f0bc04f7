#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A file beside the SQLite index holding the last directory generation a process committed
/// (`postgate.sqlite.generation`, eight bytes, rewritten in place).
///
/// `DirectoryCache` needs to know, for every message, whether the directory changed. Asking
/// SQLite costs a read transaction (a tenth of a millisecond); reading this file costs a few
/// microseconds. Every `SQLiteDatabase.write` that moves the generation writes it here once
/// it has committed, so a command that returns has always updated it. It is a hint, never the
/// truth: not synced (caches do not outlive the process), and a writer that dies between its
/// commit and the hint is caught by `DirectoryCache`'s periodic check of the real counter.
///
/// The reading side keeps the file open once it exists: a `pread` instead of an `open`,
/// `pread` and `close` for every message. Should the file be replaced by another inode (it
/// is only ever rewritten in place), the periodic check still sees every change.
package final class DirectoryGenerationHint: Sendable {
    package let path: String
    /// The file opened for reading, or -1 until it could be.
    private let descriptor = Atomic<Int32>(-1)

    package init(databasePath: String) {
        path = databasePath + ".generation"
    }

    deinit {
        let fd = descriptor.load(ordering: .acquiring)
        if fd >= 0 { _ = close(fd) }
    }

    /// The generation last published, or nil if there is none (no file, or a short one).
    package func read() -> Int64? {
        guard let fd = openForReading() else { return nil }
        var value: Int64 = 0
        let count = withUnsafeMutableBytes(of: &value) { pread(fd, $0.baseAddress, 8, 0) }
        return count == 8 ? Int64(littleEndian: value) : nil
    }

    private func openForReading() -> Int32? {
        let current = descriptor.load(ordering: .acquiring)
        if current >= 0 { return current }
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else { return nil }
        let (stored, winner) = descriptor.compareExchange(expected: -1, desired: opened, ordering: .acquiringAndReleasing)
        if stored { return opened }
        _ = close(opened)
        return winner
    }

    /// Publishes `generation`; failures are ignored (the periodic check still sees it).
    package func publish(_ generation: Int64) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        defer { _ = close(fd) }
        var value = generation.littleEndian
        _ = withUnsafeBytes(of: &value) { pwrite(fd, $0.baseAddress, 8, 0) }
    }
}
