/// Splits a byte stream fed in chunks into lines, remembering each line's offset and
/// terminator (CRLF, LF, or none at the end), keeping at most `maximumLineBytes` of a line.
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

    init(maximumLineBytes: Int) {
        self.maximumLineBytes = maximumLineBytes
    }

    /// Feeds a chunk; `emit` is called for every complete line.
    mutating func feed<Bytes: Collection>(_ chunk: Bytes, emit: (Line) -> Void) where Bytes.Element == UInt8 {
        for byte in chunk {
            totalLength += 1
            if byte == UInt8(ascii: "\n") {
                let hasCR = lastByte == UInt8(ascii: "\r") && lineLength > 0
                if hasCR, buffer.count == lineLength { buffer.removeLast() }
                let length = hasCR ? lineLength - 1 : lineLength
                emit(Line(offset: lineOffset, bytes: buffer, length: length, terminatorLength: hasCR ? 2 : 1))
                buffer.removeAll(keepingCapacity: true)
                lineOffset = totalLength
                lineLength = 0
                lastByte = byte
                continue
            }
            if buffer.count < maximumLineBytes { buffer.append(byte) }
            lineLength += 1
            lastByte = byte
        }
    }

    /// Emits a last line that has no terminator.
    mutating func finish(emit: (Line) -> Void) {
        guard lineLength > 0 else { return }
        emit(Line(offset: lineOffset, bytes: buffer, length: lineLength, terminatorLength: 0))
        buffer.removeAll()
        lineLength = 0
        lineOffset = totalLength
    }
}
