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

    /// Free space the preallocation always leaves on the data filesystem, for message files.
    package static let walFreeSpaceMargin = 8 << 20

    /// What `preallocateWAL` did: the WAL's size now, and the free space it had to work with.
    package struct WALPreallocation: Sendable, Equatable {
        /// Bytes appended to the WAL.
        package var added: Int
        /// The WAL's size afterwards (`fullWALSize` unless the filesystem was short of space).
        package var size: Int
        /// Free bytes on the filesystem before; nil when unknown.
        package var available: Int?
    }

    /// The size to give a WAL of `current` bytes when `available` bytes are free: the full
    /// size, or on a small or full filesystem only as much as leaves half the free space
    /// and at least `walFreeSpaceMargin`, so that the WAL never takes the space deliveries
    /// need for their files; never less than `current`.
    package static func walPreallocationSize(current: Int, available: Int) -> Int {
        let spare = max(0, min(available / 2, available - walFreeSpaceMargin))
        return max(current, min(fullWALSize, current + spare))
    }

    /// Gives the WAL file its full size at once (or what the filesystem's free space allows,
    /// `walPreallocationSize`), its blocks written, for `postgate serve`.
    ///
    /// A commit whose frames go past the WAL's end makes the file longer, and `fdatasync`
    /// must then make the new size durable too (on ext4 a journal commit, which costs more
    /// than a flush of overwritten blocks). Until the WAL first reaches `checkpointPages`,
    /// every delivery would pay that; with the blocks written here, none does.
    /// SQLite reads a WAL only up to its last valid frame (each frame carries the header's
    /// salt and a running checksum), so zeros past it are never taken for frames, as the
    /// old frames left past it after every WAL restart are not. The write lock is held
    /// meanwhile, so no other process appends frames that the zeros could overwrite.
    @discardableResult
    package func preallocateWAL() throws(StoreError) -> WALPreallocation {
        let walPath = path + "-wal"
        do {
            return try pool.writeWithoutTransaction { db in
                var result = WALPreallocation(added: 0, size: 0, available: nil)
                try db.inTransaction(.immediate) {
                    result = try Self.extend(walPath, fitting: Self.fullWALSize)
                    return .commit
                }
                return result
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Appends zeros to the file at `path` up to `size` bytes, or less as the filesystem's
    /// free space allows (`walPreallocationSize`), and syncs it; nothing if it is missing.
    private static func extend(_ path: String, fitting size: Int) throws(StoreError) -> WALPreallocation {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return WALPreallocation(added: 0, size: 0, available: nil) }
        defer { FileSystem.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .posix("stat", path) }
        let start = Int(info.st_size)
        var space = statvfs()
        let available = fstatvfs(fd, &space) == 0 ? Int(space.f_bavail) * Int(space.f_frsize) : nil
        let target = available.map { walPreallocationSize(current: start, available: $0) } ?? max(start, size)
        var offset = start
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        while offset < target {
            let count = min(zeros.count, target - offset)
            let written = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress!, count, off_t(offset)) }
            guard written > 0 else {
                let failure = StoreError.posix("write", path)
                // Give back what was added: a WAL that filled the disk would fail deliveries.
                _ = ftruncate(fd, off_t(start))
                throw failure
            }
            offset += written
        }
        if offset > start { try FileSystem.sync(fd, path: path) }
        return WALPreallocation(added: offset - start, size: offset, available: available)
    }
}
