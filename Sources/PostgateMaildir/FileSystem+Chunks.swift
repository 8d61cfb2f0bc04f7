#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileSystem {
    /// Reads `path` from start to end in chunks of `chunkSize` bytes, so a file of any
    /// size passes through bounded memory.
    package static func forEachChunk(
        of path: String, chunkSize: Int = 64 * 1024, _ body: (UnsafeRawBufferPointer) throws(StoreError) -> Void
    ) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix("open", path) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { chunkRead(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .posix("read", path)
            }
            if count == 0 { return }
            var failure: StoreError?
            buffer.withUnsafeBytes { raw in
                do throws(StoreError) { try body(UnsafeRawBufferPointer(rebasing: raw[..<count])) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }
}

private let chunkRead: @Sendable (Int32, UnsafeMutableRawPointer, Int) -> Int = { read($0, $1, $2) }
