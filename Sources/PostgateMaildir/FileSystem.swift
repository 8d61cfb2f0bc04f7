#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations the store needs, with the durability calls spelled out.
///
/// Maildir delivery is only as safe as its `fsync(2)` calls: a file's data, and the
/// directory entry that names it, must each reach the disk before the message is
/// acknowledged. Foundation's file APIs hide those calls, so the store uses the system
/// calls directly, retrying on `EINTR` and turning failures into `StoreError.io`.
package enum FileSystem {
    /// Opens `path` for writing, creating it (`O_EXCL`: it must not exist).
    package static func createFile(_ path: String, mode: mode_t = 0o640) throws(StoreError) -> Int32 {
        let fd = retryingOnInterrupt { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw .posix("create", path) }
        return fd
    }

    /// Writes all of `buffer`, continuing after short writes and `EINTR`.
    package static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws(StoreError) {
        var offset = 0
        while offset < buffer.count {
            let written = retryingOnInterrupt { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            guard written > 0 else { throw .posix("write", path) }
            offset += written
        }
    }

    /// Writes all of `bytes`.
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(StoreError) in try writeAll(fd, buffer, path: path) }
        }.get()
    }

    /// Flushes a file's data and metadata to the disk.
    package static func sync(_ fd: Int32, path: String) throws(StoreError) {
        guard retryingOnInterrupt({ fsync(fd) }) == 0 else { throw .posix("fsync", path) }
    }

    /// Makes the entries of directory `path` durable (new, renamed and removed names).
    package static func syncDirectory(_ path: String) throws(StoreError) {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw .posix("open directory", path) }
        defer { close(fd) }
        try sync(fd, path: path)
    }

    package static func close(_ fd: Int32) {
        _ = systemClose(fd)
    }

    /// Creates `path` and its missing parents; existing directories are fine.
    package static func makeDirectories(_ path: String) throws(StoreError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o750) != 0 else { continue }
            let code = errno
            guard code == EEXIST, isDirectory(prefix) else {
                throw .posix("create directory", prefix, errno: code == EEXIST ? ENOTDIR : code)
            }
        }
    }

    /// Bytes available to an unprivileged user and the size of the filesystem holding
    /// `path`; nil if `statvfs` fails.
    package static func freeSpace(_ path: String) -> (available: Int, total: Int)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let unit = Int(info.f_frsize)
        return (Int(info.f_bavail) * unit, Int(info.f_blocks) * unit)
    }

    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Size in bytes and modification time (seconds since 1970) of the file at `path`.
    package static func sizeAndModificationTime(_ path: String) throws(StoreError) -> (size: Int, modified: Double) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .posix("stat", path) }
        #if canImport(Darwin)
        let modified = Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
        return (Int(info.st_size), modified)
    }

    package static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The permission bits of `path` (`st_mode & 0o7777`), nil if it cannot be stat'ed.
    package static func permissions(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    /// Adds the name `to` for the file `from` (same inode).
    package static func link(_ from: String, _ to: String) throws(StoreError) {
        guard systemLink(from, to) == 0 else { throw .posix("link to", to) }
    }

    package static func rename(_ from: String, _ to: String) throws(StoreError) {
        guard systemRename(from, to) == 0 else { throw .posix("rename to", to) }
    }

    /// Removes the name `path`; a name that is already gone is not an error.
    package static func unlink(_ path: String) throws(StoreError) {
        guard systemUnlink(path) == 0 || errno == ENOENT else { throw .posix("remove", path) }
    }

    /// Removes the empty directory `path`; one that is already gone is not an error.
    package static func removeDirectory(_ path: String) throws(StoreError) {
        guard rmdir(path) == 0 || errno == ENOENT else { throw .posix("remove directory", path) }
    }

    /// The names in directory `path`, without `.` and `..`.
    package static func contents(of path: String) throws(StoreError) -> [String] {
        guard let dir = opendir(path) else { throw .posix("list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        // The name is read where it lies, up to its NUL. `entry.pointee` would copy a whole
        // `struct dirent`, but readdir(3) returns records only as long as their names: the
        // copy reads past the record, and past the end of readdir's buffer when the record
        // is its last (a crash when that is the end of a mapped page).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(dir) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Reads at most `limit` bytes from the start of `path`.
    package static func read(_ path: String, limit: Int) throws(StoreError) -> [UInt8] {
        guard let bytes = try readIfPresent(path, limit: limit) else { throw .posix("open", path, errno: ENOENT) }
        return bytes
    }

    /// Reads at most `limit` bytes from the start of `path`; nil if there is no such file
    /// (one `open` instead of a check and an `open`).
    package static func readIfPresent(_ path: String, limit: Int) throws(StoreError) -> [UInt8]? {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0, errno == ENOENT { return nil }
        guard fd >= 0 else { throw .posix("open", path) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var count = 0
        while count < limit {
            let n = bytes.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { systemRead(fd, buffer.baseAddress! + count, limit - count) }
            }
            guard n >= 0 else { throw .posix("read", path) }
            if n == 0 { break }
            count += n
        }
        bytes.removeLast(limit - count)
        return bytes
    }

    /// Appends the content of the file at `source` from byte `offset` on to `fd`, in 64 KiB pieces.
    package static func appendContents(of source: String, from offset: Int = 0, to fd: Int32, path: String) throws(StoreError) {
        let input = retryingOnInterrupt { open(source, O_RDONLY | O_CLOEXEC) }
        guard input >= 0 else { throw .posix("open", source) }
        defer { close(input) }
        guard lseek(input, off_t(offset), SEEK_SET) == off_t(offset) else { throw .posix("seek", source) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in
                retryingOnInterrupt { systemRead(input, raw.baseAddress!, raw.count) }
            }
            guard count >= 0 else { throw .posix("read", source) }
            if count == 0 { return }
            try buffer.withUnsafeBytes { raw in
                Result { () throws(StoreError) in try writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[..<count]), path: path) }
            }.get()
        }
    }

    /// Replaces `path` with `bytes` durably: temporary file, fsync, rename, fsync of the directory.
    package static func writeDurably(_ bytes: [UInt8], to path: String, directory: String, mode: mode_t = 0o640) throws(StoreError) {
        let temporary = path + ".tmp"
        try unlink(temporary)
        let fd = try createFile(temporary, mode: mode)
        do {
            try writeAll(fd, bytes, path: temporary)
            try sync(fd, path: temporary)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try rename(temporary, path)
        try syncDirectory(directory)
    }

    private static func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}

// The system calls, under names that the wrappers above do not shadow.
private let systemClose: @Sendable (Int32) -> Int32 = { close($0) }
private let systemLink: @Sendable (String, String) -> Int32 = { link($0, $1) }
private let systemRename: @Sendable (String, String) -> Int32 = { rename($0, $1) }
private let systemUnlink: @Sendable (String) -> Int32 = { unlink($0) }
private let systemRead: @Sendable (Int32, UnsafeMutableRawPointer, Int) -> Int = { read($0, $1, $2) }
