import NIOCore
import PostgateBlocking
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The queued message file of one outbound SMTP session. It is opened, read and closed on
/// the thread pool only: file calls block, and none may run on the event loop that drives
/// the session.
///
/// The descriptor is kept behind a mutex because the session's reads and its close run on
/// whichever pool threads are free: a read never meets a descriptor closed, and perhaps
/// reused by another file, under it.
final class QueuedMessageFile: Sendable {
    /// Why the file could not be opened: the system's text for `errno`.
    struct OpenFailure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String
    /// The open descriptor, or -1 once closed.
    private let descriptor: Mutex<Int32>

    /// Opens `path` for reading; blocks.
    init(path: String) throws(OpenFailure) {
        BlockingWork.assertAllowedHere("open \(path)")
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else { throw OpenFailure(description: String(cString: strerror(errno))) }
        self.path = path
        self.descriptor = Mutex(opened)
    }

    /// A descriptor not closed by `close()` (which its owner always calls) is not leaked.
    deinit {
        descriptor.withLock { if $0 >= 0 { _ = systemClose($0) } }
    }

    /// The next at most `maximum` bytes; empty at the end of the file. Blocks.
    func read(maximum: Int) throws -> [UInt8] {
        BlockingWork.assertAllowedHere("read \(path)")
        return try descriptor.withLock { fd in
            guard fd >= 0 else { throw IOError(errnoCode: EBADF, reason: "read") }
            var buffer = [UInt8](repeating: 0, count: maximum)
            while true {
                let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
                if count >= 0 { return Array(buffer[..<count]) }
                if errno != EINTR { throw IOError(errnoCode: errno, reason: "read") }
            }
        }
    }

    /// Closes the file; later calls do nothing. Blocks.
    func close() {
        BlockingWork.assertAllowedHere("close \(path)")
        descriptor.withLock { fd in
            if fd >= 0 { _ = systemClose(fd) }
            fd = -1
        }
    }
}

private let systemRead: @Sendable (Int32, UnsafeMutableRawPointer, Int) -> Int = { read($0, $1, $2) }
private let systemClose: @Sendable (Int32) -> Int32 = { close($0) }
