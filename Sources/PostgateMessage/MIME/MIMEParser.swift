import Foundation

/// Parses a message into its MIME tree (RFC 2045, RFC 2046), from bytes or from a file read
/// in bounded chunks. Never fails on malformed input: problems are recorded as
/// `MIMEDefect`s on the parts concerned, and `MIMELimits` bound time and memory.
public struct MIMEParser: Sendable {
    public var limits: MIMELimits
    /// Bytes read from a file at a time.
    public var chunkSize: Int

    public init(limits: MIMELimits = MIMELimits(), chunkSize: Int = 64 * 1024) {
        self.limits = limits
        self.chunkSize = max(1, chunkSize)
    }

    /// Parses a whole message held in memory.
    public func parse<Bytes: Collection>(_ message: Bytes) -> MIMEPart where Bytes.Element == UInt8 {
        var splitter = MIMELineSplitter(maximumLineBytes: limits.maximumHeaderBytes)
        var structure = MIMEStructureParser(limits: limits)
        splitter.feed(message) { structure.consume($0) }
        splitter.finish { structure.consume($0) }
        return structure.finish(totalLength: splitter.totalLength, countedLines: splitter.countedLines)
    }

    /// Parses the message in the file at `path`, reading `chunkSize` bytes at a time; only
    /// headers are kept, so memory does not grow with the message size.
    public func parse(fileAtPath path: String) throws -> MIMEPart {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var splitter = MIMELineSplitter(maximumLineBytes: limits.maximumHeaderBytes)
        var structure = MIMEStructureParser(limits: limits)
        while let chunk = try handle.read(upToCount: chunkSize), !chunk.isEmpty {
            // Fed as raw bytes: iterating `Data` byte by byte is many times slower.
            chunk.withUnsafeBytes { bytes in splitter.feed(bytes) { structure.consume($0) } }
        }
        splitter.finish { structure.consume($0) }
        return structure.finish(totalLength: splitter.totalLength, countedLines: splitter.countedLines)
    }
}
