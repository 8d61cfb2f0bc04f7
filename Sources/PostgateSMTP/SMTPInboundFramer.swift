import NIOCore

/// Splits the bytes a client sends into command lines and message data.
///
/// A value type with an explicit mode that the channel handler switches (commands → data
/// after a 354 reply → commands after the end of data), because SMTP's framing changes
/// with the session state. NIO-extras' `LineBasedFrameDecoder` would hand leftover bytes
/// on when removed; this framer instead lets the handler throw buffered bytes away at
/// STARTTLS (RFC 3207 section 4.2, CVE-2011-0411).
///
/// In data mode it
/// - removes the dot that stuffs a line starting with `.` (RFC 5321 section 4.5.2),
/// - ends the data only at `CRLF . CRLF` (section 4.1.1.4),
/// - refuses a bare LF or bare CR anywhere (section 2.3.8): a mail server that ends data at
///   `LF . LF` or `LF . CRLF` can be made to see a smuggled second message (CVE-2023-51764),
/// - reports lines and headers longer than the limits, and where the header section ends.
///
/// Data frames are slices of the received buffers, so a message streams through without
/// being copied or held whole.
public struct SMTPInboundFramer {
    public enum Mode: Equatable, Sendable {
        case command
        case data
        /// A BDAT chunk (RFC 3030): this many octets more, taken as they are.
        case chunk(remaining: Int)
        /// After a framing violation: everything is dropped until the connection closes.
        case discard
    }

    public enum Frame: Equatable {
        /// A command line without its CRLF.
        case command([UInt8])
        /// A command line longer than the limit (RFC 5321 section 4.5.3.1.4); it was skipped.
        case commandLineTooLong
        /// A command line ending in a bare LF, or holding a bare CR; it was skipped.
        case commandBareLineEnding
        /// Message content, dot-unstuffed, with its CRLF line endings.
        case data(ByteBuffer)
        /// The empty line that ends the header section has just been passed.
        case endOfHeader
        /// The header section grew past `maxHeaderSize` (reported once per message).
        case headerTooLarge
        /// A data line grew past `maxLineLength` (reported once per message).
        case dataLineTooLong
        /// `CRLF.CRLF`: the message is complete. The framer is back in command mode.
        case endOfData
        /// A bare CR or LF in message data. The framer now discards everything.
        case bareLineEndingInData
        /// A BDAT chunk has been passed on whole. The framer is back in command mode.
        case endOfChunk
        /// A bare CR or LF inside a BDAT chunk (reported once per message). The chunk's
        /// length is known, so framing is intact and the session can go on.
        case bareLineEndingInChunk
    }

    /// Where the data scanner is within the current line.
    private enum LineState {
        case lineStart, dot, dotCR, middle, carriageReturn
    }

    /// What one byte of data does to the output.
    private enum ByteDisposition {
        case keep
        case drop
        case keepThen(Frame)
        case dropThen(Frame)
    }

    public private(set) var mode: Mode = .command
    /// Longest line in octets, CRLF included.
    public var maxLineLength: Int
    /// Longest command line in octets, CRLF included (the submission listener's is longer:
    /// RFC 4954 section 4 lets AUTH lines reach 12288).
    public var maxCommandLineLength: Int
    public var maxHeaderSize: Int

    private var buffer = ByteBuffer()
    private var pending: Frame?
    private var skippingLongCommandLine = false
    private var lineState = LineState.lineStart
    private var lineLength = 0
    private var inHeader = true
    private var headerSize = 0
    private var reportedLongLine = false
    private var reportedLargeHeader = false
    private var reportedBareLineEnding = false

    public init(maxLineLength: Int = 1000, maxHeaderSize: Int = 262_144, maxCommandLineLength: Int? = nil) {
        self.maxLineLength = maxLineLength
        self.maxCommandLineLength = maxCommandLineLength ?? maxLineLength
        self.maxHeaderSize = maxHeaderSize
    }

    /// Bytes received but not yet framed.
    public var bufferedBytes: Int { buffer.readableBytes }

    public mutating func append(_ bytes: ByteBuffer) {
        guard mode != .discard else { return }
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer.writeBuffer(&bytes)
        }
    }

    /// Starts message data (after the 354 reply).
    public mutating func beginData() {
        mode = .data
        resetMessageState()
    }

    /// Takes the next `size` octets as a BDAT chunk (RFC 3030), whatever the session makes
    /// of the command: refused chunks are read too, so their data is never taken for
    /// commands. `newMessage` starts the line and header accounting afresh.
    public mutating func beginChunk(size: Int, newMessage: Bool) {
        mode = .chunk(remaining: size)
        if newMessage { resetMessageState() }
    }

    private mutating func resetMessageState() {
        lineState = .lineStart
        lineLength = 0
        inHeader = true
        headerSize = 0
        reportedLongLine = false
        reportedLargeHeader = false
        reportedBareLineEnding = false
    }

    /// Throws away every buffered byte: called when TLS starts, so nothing a client sent in
    /// clear text before the handshake is taken as if it came over TLS.
    public mutating func discardBufferedBytes() {
        buffer.clear()
        pending = nil
        skippingLongCommandLine = false
    }

    /// The next frame, or nil when more bytes are needed.
    public mutating func next() -> Frame? {
        if let frame = pending {
            pending = nil
            return frame
        }
        switch mode {
        case .command: return nextCommand()
        case .data: return nextData()
        case .chunk(let remaining): return nextChunk(remaining: remaining)
        case .discard:
            buffer.clear()
            return nil
        }
    }

    // MARK: Commands

    private mutating func nextCommand() -> Frame? {
        while true {
            guard let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if buffer.readableBytes > maxCommandLineLength {
                    skippingLongCommandLine = true
                    buffer.clear()
                }
                return nil
            }
            let length = lf - buffer.readerIndex
            let line = buffer.readBytes(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if buffer.readableBytes == 0 { buffer.clear() }
            if skippingLongCommandLine {
                skippingLongCommandLine = false
                return .commandLineTooLong
            }
            return frameCommandLine(line)
        }
    }

    private func frameCommandLine(_ line: [UInt8]) -> Frame {
        guard line.last == UInt8(ascii: "\r") else { return .commandBareLineEnding }
        let content = line.dropLast()
        if content.contains(UInt8(ascii: "\r")) { return .commandBareLineEnding }
        if line.count + 1 > maxCommandLineLength { return .commandLineTooLong }
        return .command(Array(content))
    }

    // MARK: Data

    private mutating func nextData() -> Frame? {
        while buffer.readableBytes > 0 {
            var segmentLength = 0
            var consumed = 0
            var event: Frame?
            buffer.withUnsafeReadableBytes { bytes in
                while consumed < bytes.count {
                    let run = plainRun(bytes, from: consumed)
                    if run > 0 {
                        consumed += run
                        segmentLength = consumed
                        continue
                    }
                    let byte = bytes[consumed]
                    consumed += 1
                    switch scan(byte) {
                    case .keep:
                        segmentLength = consumed
                        continue
                    case .drop:
                        break
                    case .keepThen(let frame):
                        segmentLength = consumed
                        event = frame
                    case .dropThen(let frame):
                        event = frame
                    }
                    return
                }
            }
            if let frame = emit(segmentLength: segmentLength, consumed: consumed, event: event) {
                return frame
            }
        }
        return nil
    }

    // MARK: BDAT chunks

    private mutating func nextChunk(remaining: Int) -> Frame? {
        guard remaining > 0 else {
            mode = .command
            return .endOfChunk
        }
        let available = min(remaining, buffer.readableBytes)
        guard available > 0 else { return nil }
        var consumed = 0
        var event: Frame?
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes.prefix(available) {
                consumed += 1
                if case .keepThen(let frame) = scanChunk(byte) {
                    event = frame
                    return
                }
            }
        }
        mode = .chunk(remaining: remaining - consumed)
        return emit(segmentLength: consumed, consumed: consumed, event: event)
    }

    /// Line accounting inside a chunk: nothing is removed; a bare CR or LF is reported
    /// (the message will be refused) but does not end anything.
    private mutating func scanChunk(_ byte: UInt8) -> ByteDisposition {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        if inHeader { headerSize += 1 }
        if lineState == .carriageReturn {
            if byte == lf { return endOfLine() }
            lineState = .middle
            return reportBareLineEnding()
        }
        if byte == lf { return reportBareLineEnding() }
        if byte == cr {
            lineState = .carriageReturn
            return .keep
        }
        lineState = .middle
        lineLength += 1
        return checkLimits()
    }

    private mutating func reportBareLineEnding() -> ByteDisposition {
        guard !reportedBareLineEnding else { return .keep }
        reportedBareLineEnding = true
        return .keepThen(.bareLineEndingInChunk)
    }

    /// Takes `consumed` bytes off the buffer, returning the first `segmentLength` as data
    /// and queueing `event` behind it.
    private mutating func emit(segmentLength: Int, consumed: Int, event: Frame?) -> Frame? {
        let segment = segmentLength > 0 ? buffer.readSlice(length: segmentLength) : nil
        buffer.moveReaderIndex(forwardBy: consumed - segmentLength)
        if event == .endOfData { mode = .command }
        if event == .bareLineEndingInData { mode = .discard }
        if mode == .discard { buffer.clear() }
        if let segment {
            pending = event
            return .data(segment)
        }
        return event
    }

    /// The fast path of `scan`: inside a line, the bytes up to the next CR or LF are kept
    /// as they are, so they are counted at once. Returns how many were taken: 0 when not
    /// inside a line, or when the run would reach a limit (then `scan` goes byte by byte
    /// and reports the limit at the exact byte).
    private mutating func plainRun(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard lineState == .middle else { return 0 }
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\r"), bytes[end] != UInt8(ascii: "\n") { end += 1 }
        let run = end - start
        guard reportedLongLine || lineLength + run + 2 <= maxLineLength,
              !inHeader || reportedLargeHeader || headerSize + run <= maxHeaderSize else { return 0 }
        lineLength += run
        if inHeader { headerSize += run }
        return run
    }

    private mutating func scan(_ byte: UInt8) -> ByteDisposition {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        if inHeader { headerSize += 1 }
        switch lineState {
        case .lineStart where byte == UInt8(ascii: "."):
            // The stuffing dot does not count against the line length: the limit is on
            // the text line the client means to send.
            lineState = .dot
            return .drop
        case .dot where byte == cr:
            lineState = .dotCR
            return .drop
        case .dotCR:
            return byte == lf ? .dropThen(.endOfData) : .dropThen(.bareLineEndingInData)
        case .carriageReturn:
            guard byte == lf else { return .dropThen(.bareLineEndingInData) }
            return endOfLine()
        case .lineStart, .dot, .middle:
            if byte == lf { return .dropThen(.bareLineEndingInData) }
            if byte == cr {
                lineState = .carriageReturn
                return .keep
            }
            lineState = .middle
            lineLength += 1
            return checkLimits()
        }
    }

    private mutating func endOfLine() -> ByteDisposition {
        let wasEmpty = lineLength == 0
        lineState = .lineStart
        lineLength = 0
        if inHeader && wasEmpty {
            inHeader = false
            return .keepThen(.endOfHeader)
        }
        return .keep
    }

    private mutating func checkLimits() -> ByteDisposition {
        if lineLength + 2 > maxLineLength && !reportedLongLine {
            reportedLongLine = true
            return .keepThen(.dataLineTooLong)
        }
        if inHeader && headerSize > maxHeaderSize && !reportedLargeHeader {
            reportedLargeHeader = true
            return .keepThen(.headerTooLarge)
        }
        return .keep
    }
}
