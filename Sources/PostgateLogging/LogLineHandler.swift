import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one line per event to a file descriptor (standard
/// error by default) in `LogLineFormat`. Each line goes out in one `write(2)` under a lock,
/// so lines from several threads never interleave.
public struct LogLineHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let format: LogLineFormat
    private let output: LogLineOutput

    public init(format: LogLineFormat, level: Logger.Level, output: LogLineOutput = .standardError) {
        self.format = format
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let given = event.metadata { all.merge(given) { $1 } }
        if let error = event.error, all["error"] == nil { all["error"] = .string("\(error)") }
        output.append(format.line(time: Date(), level: event.level, message: event.message.description, metadata: all) + "\n")
    }
}

/// Where log lines go: a file descriptor the process owns for its lifetime.
public final class LogLineOutput: Sendable {
    private let descriptor: Int32
    private let lock = Mutex<Void>(())

    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    public static let standardError = LogLineOutput(descriptor: 2)

    /// Writes all of `line`; a failed write (a closed pipe) drops the line.
    func append(_ line: String) {
        var bytes = Array(line.utf8)
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { raw in
                    write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
