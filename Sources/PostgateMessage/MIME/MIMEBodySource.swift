import Foundation

/// Where a parsed message's bytes can be read back from, by the ranges in `MIMEPart`.
public protocol MIMEBodySource {
    /// The bytes in `range`, fewer if the source is shorter.
    func bytes(in range: MIMEByteRange) throws -> [UInt8]
}

/// A message held in memory.
public struct MIMEBytesSource: MIMEBodySource, Sendable {
    public let message: [UInt8]

    public init(_ message: [UInt8]) {
        self.message = message
    }

    public func bytes(in range: MIMEByteRange) -> [UInt8] {
        let start = min(max(0, range.offset), message.count)
        let end = min(max(start, range.end), message.count)
        return Array(message[start..<end])
    }
}

/// A message in a file, read only where asked.
public struct MIMEFileSource: MIMEBodySource, Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func bytes(in range: MIMEByteRange) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(max(0, range.offset)))
        return [UInt8](try handle.read(upToCount: max(0, range.length)) ?? Data())
    }
}
