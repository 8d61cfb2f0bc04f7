#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PostgateMaildir

extension SQLiteDatabase {
    /// The WAL's size once it holds `checkpointPages` frames of 4 KiB pages (a 32-byte
    /// header, then a 24-byte header before each page).
    package static var fullWALSize: Int { 32 + checkpointPages * (24 + 4096) }

    /// Gives the WAL file its full size at once, its blocks written, for `postgate serve`.
    ///
    /// A commit whose frames go past the WAL's end makes the file longer, and `fdatasync`
    /// must then make the new size durable too (on ext4 a journal commit, which costs more
    /// than a flush of overwritten blocks). Until the WAL first reaches `checkpointPages`,
    /// every delivery would pay that; with the blocks written here, none does.
    /// SQLite reads a WAL only up to its last valid frame (each frame carries the header's
    /// salt and a running checksum), so zeros past it are never taken for frames, as the
    /// old frames left past it after every WAL restart are not. The write lock is held
    /// meanwhile, so no other process appends frames that the zeros could overwrite.
    /// Returns the bytes added.
    @discardableResult
    package func preallocateWAL() throws(StoreError) -> Int {
        let walPath = path + "-wal"
        do {
            return try pool.writeWithoutTransaction { db in
                var added = 0
                try db.inTransaction(.immediate) {
                    added = try Self.extend(walPath, to: Self.fullWALSize)
                    return .commit
                }
                return added
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Appends zeros to the file at `path` up to `size` bytes and syncs it; nothing if it
    /// is missing or already that long.
    private static func extend(_ path: String, to size: Int) throws(StoreError) -> Int {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { FileSystem.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .posix("stat", path) }
        var offset = Int(info.st_size)
        let start = offset
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        while offset < size {
            let count = min(zeros.count, size - offset)
            let written = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress!, count, off_t(offset)) }
            guard written > 0 else { throw .posix("write", path) }
            offset += written
        }
        if offset > start { try FileSystem.sync(fd, path: path) }
        return offset - start
    }
}
