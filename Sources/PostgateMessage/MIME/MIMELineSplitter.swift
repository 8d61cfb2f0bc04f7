import Foundation

/// Splits a byte stream fed in chunks into lines, remembering each line's offset and
/// terminator (CRLF, LF, or none at the end), keeping at most `maximumLineBytes` of a line.
///
/// Once the consumer says it needs no more lines (`emit` returns false: the rest of the
/// message is one body, say), the rest is only counted (`countedLines`), a scan for LF
/// without copying a byte.
struct MIMELineSplitter {
    struct Line {
        /// Offset of the line's first byte in the whole stream.
        var offset: Int
        /// The line without its terminator, cut at the limit.
        var bytes: [UInt8]
        /// The line's full length without terminator.
        var length: Int
        /// 2 for CRLF, 1 for LF, 0 for the last line without one.
        var terminatorLength: Int
    }

    private let maximumLineBytes: Int
    private var buffer: [UInt8] = []
    private var lineOffset = 0
    private var lineLength = 0
    private var lastByte: UInt8 = 0
    private(set) var totalLength = 0
    /// Lines counted, not emitted, after `emit` returned false (a last line without a
    /// terminator included, after `finish`).
    private(set) var countedLines = 0
    private var counting = false

    init(maximumLineBytes: Int) {
        self.maximumLineBytes = maximumLineBytes
    }

    /// Feeds a chunk; `emit` is called for every complete line until it returns false.
    mutating func feed<Bytes: Collection>(_ chunk: Bytes, emit: (Line) -> Bool) where Bytes.Element == UInt8 {
        let done: Void? = chunk.withContiguousStorageIfAvailable { feed(UnsafeRawBufferPointer($0), emit: emit) }
        if done == nil { Array(chunk).withUnsafeBytes { feed($0, emit: emit) } }
    }

    /// Feeds a chunk of raw bytes: each line's end is found with `memchr` and its bytes
    /// copied at once (byte-at-a-time through a generic collection cost 50 ns a byte).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (Line) -> Bool) {
        var start = 0
        while start < chunk.count {
            let rest = UnsafeRawBufferPointer(rebasing: chunk[start...])
            guard let base = rest.baseAddress, let found = memchr(base, 0x0A, rest.count) else {
                append(rest)
                return
            }
            let newline = base.distance(to: UnsafeRawPointer(found))
            append(UnsafeRawBufferPointer(rebasing: rest[..<newline]))
            endLine(emit: emit)
            start += newline + 1
        }
    }

    /// Adds bytes of the current line (none of them LF).
    private mutating func append(_ segment: UnsafeRawBufferPointer) {
        guard let last = segment.last else { return }
        let room = counting ? 0 : maximumLineBytes - buffer.count
        if room > 0 {
            // As typed bytes, so the append is one copy.
            let typed = segment.assumingMemoryBound(to: UInt8.self)
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: typed.prefix(room)))
        }
        lineLength += segment.count
        totalLength += segment.count
        lastByte = last
    }

    /// The LF that ends the current line: emits it, CR stripped when it ends in CRLF.
    private mutating func endLine(emit: (Line) -> Bool) {
        totalLength += 1
        if counting {
            countedLines += 1
        } else {
            let hasCR = lastByte == UInt8(ascii: "\r") && lineLength > 0
            if hasCR, buffer.count == lineLength { buffer.removeLast() }
            let length = hasCR ? lineLength - 1 : lineLength
            counting = !emit(Line(offset: lineOffset, bytes: buffer, length: length, terminatorLength: hasCR ? 2 : 1))
            buffer.removeAll(keepingCapacity: true)
        }
        lineOffset = totalLength
        lineLength = 0
        lastByte = UInt8(ascii: "\n")
    }

    /// Emits a last line that has no terminator.
    mutating func finish(emit: (Line) -> Bool) {
        guard lineLength > 0 else { return }
        if counting {
            countedLines += 1
        } else {
            _ = emit(Line(offset: lineOffset, bytes: buffer, length: lineLength, terminatorLength: 0))
        }
        buffer.removeAll()
        lineLength = 0
        lineOffset = totalLength
    }
}
