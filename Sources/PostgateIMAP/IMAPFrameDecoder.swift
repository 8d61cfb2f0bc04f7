import NIOCore

/// Splits the bytes a client sends into whole commands (RFC 9051 section 2.2.1): a
/// command is one or more lines, each but the last ending in a literal announcement
/// `{n}` (synchronising: the client waits for a `+` continuation request) or `{n+}`
/// (LITERAL+, RFC 7888: the octets follow at once), followed by the `n` octets.
///
/// Limits keep memory bounded: each line (outside literals) is at most `maxLineLength`
/// octets, each literal at most `maxLiteralSize`, and a command has at most
/// `maxLiterals` literals. A line that is too long is skipped up to its CRLF.
public struct IMAPFrameDecoder: Sendable {
    /// One whole command: its lines (literal announcements left in place) and literals,
    /// alternating: `text, literal, text, literal, …, text`.
    public struct Frame: Sendable, Equatable {
        public var parts: [Part]

        public enum Part: Sendable, Equatable {
            case text([UInt8])
            case literal([UInt8])
        }

        /// The first word of the first line: the tag, for error replies.
        public var tag: String? {
            guard case .text(let bytes)? = parts.first else { return nil }
            let word = bytes.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
            return word.isEmpty ? nil : String(decoding: word, as: UTF8.self)
        }
    }

    public enum Event: Sendable, Equatable {
        case frame(Frame)
        /// A synchronising literal was announced and accepted: send `+ …` and wait.
        case continuationRequest
        /// A line longer than the limit was skipped.
        case lineTooLong(tag: String?)
        /// A literal larger than the limit was announced. A synchronising one is refused
        /// (the client sends nothing more for it); after a non-synchronising one the
        /// stream cannot be resynchronised and the connection must close.
        case literalTooLarge(tag: String?, synchronizing: Bool)
    }

    public let maxLineLength: Int
    public let maxLiteralSize: Int
    public let maxLiterals: Int

    private var buffer = ByteBuffer()
    private var parts: [Frame.Part] = []
    private var literalRemaining: Int?
    private var literal: [UInt8] = []
    private var discardingLine = false
    private var discardTag: String?

    public init(maxLineLength: Int = 65_536, maxLiteralSize: Int = 36_700_160, maxLiterals: Int = 64) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxLiterals = maxLiterals
    }

    /// Bytes received but not yet returned in an event (literal data included).
    public var bufferedBytes: Int { buffer.readableBytes + literal.count + parts.reduce(0) { $0 + $1.count } }

    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// Drops everything buffered (after STARTTLS, RFC 9051 section 6.2.1: no command
    /// sent before the handshake may be acted on).
    public mutating func reset() {
        self = IMAPFrameDecoder(maxLineLength: maxLineLength, maxLiteralSize: maxLiteralSize, maxLiterals: maxLiterals)
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() -> Event? {
        while true {
            if let remaining = literalRemaining {
                guard readLiteral(remaining) else { return nil }
                continue
            }
            guard let crlf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if buffer.readableBytes > maxLineLength { return skipLongLine() }
                return nil
            }
            let length = crlf - buffer.readerIndex + 1
            if discardingLine {
                buffer.moveReaderIndex(forwardBy: length)
                discardingLine = false
                parts = []
                return .lineTooLong(tag: discardTag)
            }
            if length > maxLineLength {
                discardTag = currentTag()
                discardingLine = true
                continue
            }
            var line = buffer.readBytes(length: length)!
            line.removeLast()
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if let event = lineEnded(line) { return event }
        }
    }

    // MARK: - Steps

    private mutating func lineEnded(_ line: [UInt8]) -> Event? {
        guard let announcement = Self.literalAnnouncement(line) else {
            parts.append(.text(line))
            defer { parts = [] }
            return .frame(Frame(parts: parts))
        }
        parts.append(.text(line))
        let tag = currentTag()
        guard announcement.size <= maxLiteralSize, parts.count / 2 < maxLiterals else {
            parts = []
            return .literalTooLarge(tag: tag, synchronizing: announcement.synchronizing)
        }
        literalRemaining = announcement.size
        literal = []
        literal.reserveCapacity(min(announcement.size, 1 << 20))
        return announcement.synchronizing ? .continuationRequest : nil
    }

    private mutating func readLiteral(_ remaining: Int) -> Bool {
        let take = min(remaining, buffer.readableBytes)
        if take > 0 { literal += buffer.readBytes(length: take)! }
        literalRemaining = remaining - take
        guard literalRemaining == 0 else { return false }
        literalRemaining = nil
        parts.append(.literal(literal))
        literal = []
        return true
    }

    private mutating func skipLongLine() -> Event? {
        if !discardingLine { discardTag = currentTag() }
        discardingLine = true
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        buffer.discardReadBytes()
        return nil
    }

    private func currentTag() -> String? {
        if !parts.isEmpty { return Frame(parts: parts).tag }
        return Frame(parts: [.text(Array(buffer.readableBytesView.prefix(64)))]).tag
    }

    /// `{n}` or `{n+}` at the end of a line.
    static func literalAnnouncement(_ line: [UInt8]) -> (size: Int, synchronizing: Bool)? {
        guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        var digits = line[(open + 1)..<(line.count - 1)]
        var synchronizing = true
        if digits.last == UInt8(ascii: "+") {
            synchronizing = false
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return (Int(String(decoding: digits, as: UTF8.self))!, synchronizing)
    }
}

extension IMAPFrameDecoder.Frame.Part {
    var count: Int {
        switch self {
        case .text(let bytes), .literal(let bytes): bytes.count
        }
    }
}
