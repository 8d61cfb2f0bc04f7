import NIOCore

/// Frames the bytes a POP3 server sends into responses (RFC 1939 section 3).
///
/// Whether a response has lines after its status line depends on the command, so every
/// command sent registers the kind of its response with `expect(_:)`, in order; the
/// server's greeting is expected from the start (RFC 1939 section 4). A line ends at LF
/// (CRLF, or a bare LF as most clients accept). Multi-line responses end at a line holding
/// only `.`; a line starting with `.` has that dot removed (byte-stuffing).
///
/// Bounded: a status or response line longer than `maxLineLength`, or a multi-line response
/// larger than `maxResponseBytes`, is a protocol error, so a hostile server cannot make the
/// client buffer without limit. A message (RETR) is not bounded: it leaves in chunks of at
/// most `maxChunkSize` bytes as they arrive and is never held whole.
public struct POP3ResponseFramer: Sendable {
    public let maxLineLength: Int
    public let maxResponseBytes: Int
    public let maxChunkSize: Int

    private var expected = CircularBuffer<POP3ResponseKind>(initialCapacity: 4)
    private var multiLine: (text: String, lines: [String], bytes: Int)?
    private var inMessage = false
    /// In a message: the next byte starts a line (so a `.` there is special).
    private var atLineStart = true
    /// After `+OK` to STLS: bytes are dropped until `tlsEstablished()`.
    public private(set) var discardingUntilTLS = false

    public init(maxLineLength: Int = 8192, maxResponseBytes: Int = 16 << 20, maxChunkSize: Int = 64 << 10) {
        self.maxLineLength = maxLineLength
        self.maxResponseBytes = maxResponseBytes
        self.maxChunkSize = maxChunkSize
        expected.append(.singleLine)
    }

    /// True while a response is due (or TLS is awaited): the time the server may take is limited.
    public var isAwaitingResponse: Bool { !expected.isEmpty || discardingUntilTLS }

    /// The next response will be of `kind` (call once per command sent, in order).
    public mutating func expect(_ kind: POP3ResponseKind) {
        expected.append(kind)
    }

    /// The TLS handshake after STLS completed: bytes are read again.
    public mutating func tlsEstablished() {
        discardingUntilTLS = false
    }

    /// Takes the next event off the front of `buffer`, or nil if more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(POP3Error) -> POP3ResponseEvent? {
        if discardingUntilTLS {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
        if inMessage { return messageEvent(&buffer) }
        while true {
            guard let line = try takeLine(&buffer) else { return nil }
            let event = multiLine != nil ? try multiLineLine(line) : try statusLine(line)
            if let event { return event }
        }
    }

    // MARK: Lines

    private func takeLine(_ buffer: inout ByteBuffer) throws(POP3Error) -> ArraySlice<UInt8>? {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            guard buffer.readableBytes <= maxLineLength else { throw .protocolError("response line longer than \(maxLineLength) octets") }
            return nil
        }
        let length = end - buffer.readerIndex
        guard length < maxLineLength else { throw .protocolError("response line longer than \(maxLineLength) octets") }
        var line = buffer.readBytes(length: length + 1)![...].dropLast()
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        return line
    }

    /// A status line; nil when it opens a multi-line response whose lines follow.
    private mutating func statusLine(_ line: ArraySlice<UInt8>) throws(POP3Error) -> POP3ResponseEvent? {
        guard let kind = expected.popFirst() else {
            throw .protocolError("unsolicited response: \(Self.text(line.prefix(80)))")
        }
        let status = try Self.parseStatus(line, continuationAllowed: kind == .singleLine)
        guard case .ok(let text) = status else { return .status(status) }
        switch kind {
        case .singleLine:
            return .status(status)
        case .startTLS:
            discardingUntilTLS = true
            return .status(status)
        case .multiLine:
            multiLine = (text, [], line.count + 2)
            return nil
        case .message:
            inMessage = true
            atLineStart = true
            return .messageStart(text)
        }
    }

    private mutating func multiLineLine(_ line: ArraySlice<UInt8>) throws(POP3Error) -> POP3ResponseEvent? {
        guard var response = multiLine else { return nil }
        if line.count == 1 && line.first == UInt8(ascii: ".") {
            multiLine = nil
            return .lines(response.text, response.lines)
        }
        let content = line.first == UInt8(ascii: ".") ? line.dropFirst() : line
        response.bytes += line.count + 2
        guard response.bytes <= maxResponseBytes else {
            throw .protocolError("multi-line response larger than \(maxResponseBytes) octets")
        }
        response.lines.append(Self.text(content))
        multiLine = response
        return nil
    }

    static func parseStatus(_ line: ArraySlice<UInt8>, continuationAllowed: Bool) throws(POP3Error) -> POP3Status {
        func rest(after count: Int) -> String? {
            guard line.count >= count else { return nil }
            let tail = line.dropFirst(count)
            if tail.isEmpty { return "" }
            guard tail.first == UInt8(ascii: " ") else { return nil }
            return text(tail.dropFirst())
        }
        if line.starts(with: "+OK".utf8), let text = rest(after: 3) { return .ok(text) }
        if line.starts(with: "-ERR".utf8), let text = rest(after: 4) { return .err(text) }
        if continuationAllowed, line.first == UInt8(ascii: "+"), let text = rest(after: 1) { return .continuation(text) }
        throw .protocolError("not a POP3 status line: \(text(line.prefix(80)))")
    }

    static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    // MARK: A streamed message

    /// The next chunk of the message: the bytes up to a line starting with `.` (or the end of
    /// what has arrived, or `maxChunkSize`), so one event carries many lines.
    private mutating func messageEvent(_ buffer: inout ByteBuffer) -> POP3ResponseEvent? {
        let view = buffer.readableBytesView
        guard !view.isEmpty else { return nil }
        let start = view.startIndex
        if atLineStart && view[start] == UInt8(ascii: ".") {
            // ".CRLF" (or ".LF") ends the message; any other line loses its first dot.
            guard view.count >= 2 else { return nil }
            let second = view[start + 1]
            if second == UInt8(ascii: "\n") || second == UInt8(ascii: "\r") {
                if second == UInt8(ascii: "\r") {
                    guard view.count >= 3 else { return nil }
                    if view[start + 2] == UInt8(ascii: "\n") {
                        buffer.moveReaderIndex(forwardBy: 3)
                        return endMessage()
                    }
                } else {
                    buffer.moveReaderIndex(forwardBy: 2)
                    return endMessage()
                }
            }
            buffer.moveReaderIndex(forwardBy: 1)
            atLineStart = false
            return messageEvent(&buffer)
        }
        let stop = start + min(view.count, maxChunkSize)
        var end = stop
        var index = start
        while index < stop, let lf = view[index..<stop].firstIndex(of: UInt8(ascii: "\n")) {
            index = lf + 1
            if index < stop && view[index] == UInt8(ascii: ".") {
                end = index
                break
            }
        }
        atLineStart = view[end - 1] == UInt8(ascii: "\n")
        let chunk = buffer.readSlice(length: end - start)!
        return .messageChunk(chunk)
    }

    private mutating func endMessage() -> POP3ResponseEvent {
        inMessage = false
        atLineStart = true
        return .messageEnd
    }
}
