#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Copies a data directory's files into another directory while `postgate serve` may be
/// changing them: what `postgate backup` and `postgate restore` use after the index.
///
/// - A message is one file hard-linked into several Maildirs (an address's mailbox and its
///   queue): the copy links them the same way, so it takes no more room than the original.
/// - A Maildir file renamed while the copy runs (a flag set moves it from `new/` to `cur/`
///   and changes its `:2,` part) is found again under its new name and copied there; a
///   file removed meanwhile (expunged) is skipped and counted.
/// - Nothing is made durable here: the caller makes one `syncfs(2)` of the destination.
package struct DataDirectoryCopy {
    /// Paths relative to the source root that are not copied (the index and its WAL,
    /// `spool/`), and names never copied anywhere.
    package var skip: (_ relativePath: String) -> Bool
    /// Called after each file with the bytes copied so far.
    package var progress: (_ files: Int, _ bytes: Int) -> Void = { _, _ in }

    package private(set) var files = 0
    package private(set) var bytes = 0
    package private(set) var vanished = 0
    /// Inode (device, number) of each file copied → its path in the destination.
    private var copiedInodes: [InodeKey: String] = [:]

    private struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    package init(skip: @escaping (_ relativePath: String) -> Bool) {
        self.skip = skip
    }

    /// Copies every file and directory under `source` into `destination` (which exists).
    package mutating func copy(from source: String, to destination: String) throws(StoreError) {
        try copyDirectory(source: source, destination: destination, relative: "")
    }

    /// The regular files under `root` (not skipped), for a progress total.
    package func countFiles(under root: String, relative: String = "") throws(StoreError) -> Int {
        var count = 0
        let directory = relative.isEmpty ? root : root + "/" + relative
        for name in try listIfPresent(directory) {
            let path = relative.isEmpty ? name : relative + "/" + name
            guard !skip(path) else { continue }
            var info = stat()
            guard lstat(root + "/" + path, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                count += try countFiles(under: root, relative: path)
            } else if (info.st_mode & S_IFMT) == S_IFREG {
                count += 1
            }
        }
        return count
    }

    private mutating func copyDirectory(source: String, destination: String, relative: String) throws(StoreError) {
        let directory = relative.isEmpty ? source : source + "/" + relative
        for name in try listIfPresent(directory).sorted() {
            let path = relative.isEmpty ? name : relative + "/" + name
            guard !skip(path) else { continue }
            var info = stat()
            guard lstat(source + "/" + path, &info) == 0 else {
                guard errno == ENOENT else { throw .posix("stat", source + "/" + path) }
                try copyRenamedMaildirFile(source: source, destination: destination, relative: path)
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                guard mkdir(destination + "/" + path, info.st_mode & 0o7777) == 0 || errno == EEXIST else {
                    throw .posix("create directory", destination + "/" + path)
                }
                try copyDirectory(source: source, destination: destination, relative: path)
            case S_IFREG:
                if try !copyFile(source + "/" + path, to: destination + "/" + path, info: info) {
                    try copyRenamedMaildirFile(source: source, destination: destination, relative: path)
                }
            default:
                continue  // sockets, links, devices: never part of a data directory
            }
        }
    }

    /// Copies (or links, for an inode already copied) one file; false if it vanished first.
    private mutating func copyFile(_ from: String, to: String, info: stat) throws(StoreError) -> Bool {
        let key = InodeKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        if info.st_nlink > 1, let first = copiedInodes[key] {
            try FileSystem.link(first, to)
            files += 1
            progress(files, bytes)
            return true
        }
        let input = open(from, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            if errno == ENOENT { return false }
            throw .posix("open", from)
        }
        defer { FileSystem.close(input) }
        let output = try FileSystem.createFile(to, mode: info.st_mode & 0o777)
        defer { FileSystem.close(output) }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in read(input, raw.baseAddress!, raw.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .posix("read", from) }
            if count == 0 { break }
            try buffer.withUnsafeBytes { raw in
                Result { () throws(StoreError) in try FileSystem.writeAll(output, UnsafeRawBufferPointer(rebasing: raw[..<count]), path: to) }
            }.get()
            bytes += count
        }
        if info.st_nlink > 1 { copiedInodes[key] = to }
        files += 1
        progress(files, bytes)
        return true
    }

    /// A Maildir file listed under `tmp/`, `new/` or `cur/` and gone when opened (moved into
    /// `new/` after its commit, or to `cur/` with new flags): look for the same unique name
    /// in `new/` and `cur/` and copy it under its name now.
    private mutating func copyRenamedMaildirFile(source: String, destination: String, relative: String) throws(StoreError) {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, ["tmp", "new", "cur"].contains(parts[parts.count - 2]) else {
            vanished += 1
            return
        }
        let mailbox = parts.dropLast(2).joined(separator: "/")
        let unique = MaildirFileName.uniqueName(of: String(parts[parts.count - 1]))
        for folder in ["cur", "new"] {
            let folderPath = (mailbox.isEmpty ? "" : mailbox + "/") + folder
            for name in try listIfPresent(source + "/" + folderPath)
            where MaildirFileName.uniqueName(of: name) == unique {
                let candidate = folderPath + "/" + name
                guard !FileSystem.exists(destination + "/" + candidate) else { return }
                var info = stat()
                guard lstat(source + "/" + candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                if try copyFile(source + "/" + candidate, to: destination + "/" + candidate, info: info) { return }
            }
        }
        vanished += 1
    }

    private func listIfPresent(_ directory: String) throws(StoreError) -> [String] {
        guard FileSystem.isDirectory(directory) else { return [] }
        do {
            return try FileSystem.contents(of: directory)
        } catch {
            if case .io(_, _, let reason) = error, reason == String(cString: strerror(ENOENT)) { return [] }
            throw error
        }
    }
}
