import NIOCore

/// Frames the bytes an IMAP server sends into responses (RFC 9051 section 2.2.2): a response is
/// a line ending in CRLF, unless the line ends with a literal's `{n}` (`{n+}`, `~{n}`; RFC 9051
/// section 4.3, RFC 7888, RFC 3516): then `n` octets follow and the response goes on with the
/// next line. Literals may stand anywhere a string may, so a response may have several. A bare
/// LF also ends a line, as most clients accept.
///
/// Bounded: the text and held literals of one response may not exceed `maxResponseLength`
/// octets, or a protocol error ends the session, so a hostile server cannot make the client
/// buffer without limit. A literal larger than `maxInlineLiteral` (a message body) is not held:
/// it leaves in chunks of at most `maxChunkSize` octets as they arrive, between
/// `.literalStart` and the `.streamedResponse` that ends its response.
public struct IMAPResponseFramer: Sendable {
    public let maxResponseLength: Int
    public let maxInlineLiteral: Int
    public let maxChunkSize: Int

    private enum Mode: Sendable {
        case line
        /// In a literal: octets still to come, and whether they are streamed or held.
        case literal(remaining: Int, streamed: Bool)
    }

    private var mode = Mode.line
    private var parts: [IMAPResponsePart] = []
    private var held = 0
    private var streamedInResponse = false
    /// Octets of the current line already searched for its LF.
    private var scanned = 0
    /// The tag of a STARTTLS command: after its tagged OK nothing is read until the handshake.
    private var startTLSTag: String?
    /// After the OK to STARTTLS: bytes are dropped until `tlsEstablished()` (RFC 9051
    /// section 6.2.1: nothing received before TLS is trusted).
    public private(set) var discardingUntilTLS = false

    public init(maxResponseLength: Int = 8 << 20, maxInlineLiteral: Int = 64 << 10, maxChunkSize: Int = 64 << 10) {
        self.maxResponseLength = maxResponseLength
        self.maxInlineLiteral = min(maxInlineLiteral, maxResponseLength)
        self.maxChunkSize = max(1, maxChunkSize)
    }

    /// The command tagged `tag` is STARTTLS: after its tagged OK, the rest is discarded.
    public mutating func expectStartTLS(tag: String) {
        startTLSTag = tag
    }

    /// The TLS handshake after STARTTLS completed: bytes are read again.
    public mutating func tlsEstablished() {
        discardingUntilTLS = false
        startTLSTag = nil
        mode = .line
        parts = []
        held = 0
        scanned = 0
        streamedInResponse = false
    }

    /// Takes the next event off the front of `buffer`, or nil if more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(IMAPClientError) -> IMAPClientEvent? {
        while true {
            if discardingUntilTLS {
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return nil
            }
            switch mode {
            case .literal(let remaining, streamed: true):
                guard buffer.readableBytes > 0 else { return nil }
                let length = min(remaining, buffer.readableBytes, maxChunkSize)
                let chunk = buffer.readSlice(length: length)!
                mode = remaining == length ? .line : .literal(remaining: remaining - length, streamed: true)
                return .literalChunk(chunk)
            case .literal(let remaining, streamed: false):
                guard buffer.readableBytes >= remaining else { return nil }
                parts.append(.literal(buffer.readBytes(length: remaining)!))
                mode = .line
            case .line:
                guard let line = try takeLine(&buffer) else { return nil }
                if let size = Self.literalAtEnd(line) {
                    parts.append(.text(line))
                    if size > maxInlineLiteral {
                        let head = IMAPResponseParser.preview(parts)
                        parts.append(.streamed(size))
                        streamedInResponse = true
                        mode = .literal(remaining: size, streamed: true)
                        if size == 0 { mode = .line }
                        return .literalStart(head: head, size: size)
                    }
                    held += size
                    guard held <= maxResponseLength else { throw tooLong() }
                    mode = .literal(remaining: size, streamed: false)
                    continue
                }
                parts.append(.text(line))
                let response = try IMAPResponseParser.parse(parts)
                let streamed = streamedInResponse
                parts = []
                held = 0
                streamedInResponse = false
                if case .tagged(let tag, let status) = response, tag == startTLSTag {
                    startTLSTag = nil
                    if status.status == .ok {
                        discardingUntilTLS = true
                        buffer.moveReaderIndex(to: buffer.writerIndex)
                    }
                }
                return streamed ? .streamedResponse(response) : .response(response)
            }
        }
    }

    private func tooLong() -> IMAPClientError {
        .protocolError("response longer than \(maxResponseLength) octets without its end: \(IMAPResponseParser.preview(parts))")
    }

    /// The next line without its CRLF, or nil when its end has not arrived. Only octets not yet
    /// searched are searched, so a long line arriving in many reads costs linear time.
    private mutating func takeLine(_ buffer: inout ByteBuffer) throws(IMAPClientError) -> [UInt8]? {
        let view = buffer.readableBytesView
        let from = view.startIndex + min(scanned, view.count)
        guard let end = view[from...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            guard held + view.count <= maxResponseLength else { throw tooLong() }
            return nil
        }
        scanned = 0
        let length = end - view.startIndex
        held += length + 1
        guard held <= maxResponseLength else { throw tooLong() }
        var line = buffer.readBytes(length: length + 1)!
        line.removeLast()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }

    /// The size of the literal whose `{n}` ends `line`, if it does.
    static func literalAtEnd(_ line: [UInt8]) -> Int? {
        guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        return literalSize(at: line[open...])
    }

    /// `{n}` or `{n+}` (RFC 7888; a server has no use for it, but it is well formed):
    /// the size, if `text` is exactly that.
    static func literalSize(at text: ArraySlice<UInt8>) -> Int? {
        guard text.first == UInt8(ascii: "{"), text.last == UInt8(ascii: "}") else { return nil }
        var digits = text.dropFirst().dropLast()
        if digits.last == UInt8(ascii: "+") { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}
