#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a CSV file from disk in fixed-size chunks through `CSVParser`, so a file of any
/// size is read with bounded memory, reporting progress as bytes read of the file size.
public struct CSVFileReader: Sendable {
    public let path: String
    public var chunkSize = 64 * 1024

    public init(path: String) {
        self.path = path
    }

    /// Calls `emit` for each record in file order, and `progress(read, total)` after each chunk.
    /// - Throws: `CSVFileError` (cannot open or read) or `CSVError` (malformed).
    public func read(
        progress: (_ bytesRead: Int, _ totalBytes: Int) -> Void = { _, _ in },
        emit: (CSVRecord) throws -> Void
    ) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CSVFileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CSVFileError(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw CSVFileError(path: path, reason: "not a regular file") }
        let total = Int(info.st_size)
        var parser = CSVParser()
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var bytesRead = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CSVFileError(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            try buffer.withUnsafeBytes { try parser.parse(UnsafeRawBufferPointer(rebasing: $0[..<count]), emit: emit) }
            bytesRead += count
            progress(bytesRead, max(total, bytesRead))
        }
        try parser.finish(emit: emit)
    }
}

/// `read(2)` under a name that does not clash with `CSVFileReader.read`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// A CSV file that cannot be opened or read.
public struct CSVFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "cannot read \(path): \(reason)" }
}
