#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file beside the SQLite index holding the last directory generation a process committed
/// (`postgate.sqlite.generation`, eight bytes, rewritten in place).
///
/// `DirectoryCache` needs to know, for every message, whether the directory changed. Asking
/// SQLite costs a read transaction (a tenth of a millisecond); reading this file costs a few
/// microseconds. Every `SQLiteDatabase.write` that moves the generation writes it here once
/// it has committed, so a command that returns has always updated it. It is a hint, never the
/// truth: not synced (caches do not outlive the process), and a writer that dies between its
/// commit and the hint is caught by `DirectoryCache`'s periodic check of the real counter.
struct DirectoryGenerationHint: Sendable {
    let path: String

    init(databasePath: String) {
        path = databasePath + ".generation"
    }

    /// The generation last published, or nil if there is none (no file, or a short one).
    func read() -> Int64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        var value: Int64 = 0
        let count = withUnsafeMutableBytes(of: &value) { pread(fd, $0.baseAddress, 8, 0) }
        return count == 8 ? Int64(littleEndian: value) : nil
    }

    /// Publishes `generation`; failures are ignored (the periodic check still sees it).
    func publish(_ generation: Int64) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        defer { _ = close(fd) }
        var value = generation.littleEndian
        _ = withUnsafeBytes(of: &value) { pwrite(fd, $0.baseAddress, 8, 0) }
    }
}
