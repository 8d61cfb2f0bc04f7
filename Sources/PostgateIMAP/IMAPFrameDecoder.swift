import NIOCore

/// Splits the bytes a client sends into whole commands (RFC 9051 section 2.2.1): a
/// command is one or more lines, each but the last ending in a literal announcement
/// `{n}` (synchronising: the client waits for a `+` continuation request) or `{n+}`
/// (LITERAL+, RFC 7888: the octets follow at once), followed by the `n` octets.
///
/// The message literal of APPEND (RFC 9051 section 6.3.12) is not collected: it is
/// announced as `.messageLiteral`, and once its owner accepts it (`streamMessageLiteral`)
/// its octets come out as `.messageData` pieces as they arrive, to go to a spool file; the
/// command's frame then holds `.streamed(size)` in their place; so do the further messages
/// of a MULTIAPPEND (RFC 3502). A refused one
/// (`refuseMessageLiteral`) is skipped: a non-synchronizing one's octets are read and
/// dropped, with the rest of its command line.
///
/// Limits keep memory bounded: each line (outside literals) is at most `maxLineLength`
/// octets, each literal held in memory (all but an APPEND's message) at most
/// `maxLiteralSize`, and a command has at most `maxLiterals` literals. A line that is too
/// long is skipped up to its CRLF.
public struct IMAPFrameDecoder: Sendable {
    /// One whole command: its lines (literal announcements left in place) and literals,
    /// alternating: `text, literal, text, literal, …, text`.
    public struct Frame: Sendable, Equatable {
        public var parts: [Part]

        public enum Part: Sendable, Equatable {
            case text([UInt8])
            case literal([UInt8])
            /// A literal of `size` octets handed out as `.messageData` (APPEND's message).
            case streamed(size: Int)
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
        /// The message literal of an APPEND was announced; `head` is the command up to it.
        /// No further event comes until the owner calls `streamMessageLiteral()` or
        /// `refuseMessageLiteral()`.
        case messageLiteral(head: Frame, size: Int, synchronizing: Bool)
        /// The next octets of an accepted message literal, in order.
        case messageData(ByteBuffer)
    }

    public let maxLineLength: Int
    /// Changed by the owner as the session's state changes (smaller before login); applies
    /// from the next literal announced.
    public var maxLiteralSize: Int
    public var maxLiterals: Int

    private var buffer = ByteBuffer()
    private var parts: [Frame.Part] = []
    private var literalRemaining: Int?
    private var literalHandling = LiteralHandling.collect
    private var literal: [UInt8] = []
    private var discardingLine = false
    private var discardTag: String?
    /// A message literal was announced and waits for the owner's decision.
    private var messageLiteralAnnounced: (size: Int, synchronizing: Bool)?
    /// The current command's message literal has been announced (an APPEND has one).
    private var messageLiteralSeen = false
    /// A refused command's rest is being dropped up to the end of its line.
    private var droppingCommand = false

    /// What happens to the octets of the literal being read.
    private enum LiteralHandling {
        /// Kept in memory, as a `.literal` part.
        case collect
        /// Handed out as `.messageData`.
        case stream
        /// Dropped (a refused non-synchronizing message literal).
        case drop
    }

    /// Literals in one command unless told otherwise.
    public static let defaultMaxLiterals = 64

    public init(maxLineLength: Int = 65_536, maxLiteralSize: Int = 65_536, maxLiterals: Int = defaultMaxLiterals) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxLiterals = maxLiterals
    }

    /// Bytes received but not yet returned in an event (literal data included; a streamed
    /// literal's octets are returned as they come).
    public var bufferedBytes: Int { buffer.readableBytes + literal.count + parts.reduce(0) { $0 + $1.count } }

    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        // Octets already handed out are dropped first: a long literal streams through the
        // buffer, which must not keep what it passed on.
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex >= 64 << 10 {
            buffer.discardReadBytes()
        }
        buffer.writeBuffer(&bytes)
    }

    /// Takes the announced message literal: its octets come as `.messageData`.
    public mutating func streamMessageLiteral() {
        guard let announced = messageLiteralAnnounced else { return }
        messageLiteralAnnounced = nil
        parts.append(.streamed(size: announced.size))
        literalRemaining = announced.size
        literalHandling = .stream
    }

    /// Refuses the announced message literal, and with it the command (RFC 9051 section
    /// 7.5: a refused synchronizing literal is not sent; RFC 7888: the octets of
    /// a non-synchronizing one still come, and are dropped with the rest of the line).
    public mutating func refuseMessageLiteral() {
        guard let announced = messageLiteralAnnounced else { return }
        messageLiteralAnnounced = nil
        parts = []
        messageLiteralSeen = false
        guard !announced.synchronizing else { return }
        literalRemaining = announced.size
        literalHandling = .drop
        droppingCommand = true
    }

    /// Drops everything buffered (after STARTTLS, RFC 9051 section 6.2.1: no command
    /// sent before the handshake may be acted on).
    public mutating func reset() {
        self = IMAPFrameDecoder(maxLineLength: maxLineLength, maxLiteralSize: maxLiteralSize, maxLiterals: maxLiterals)
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() -> Event? {
        while true {
            if messageLiteralAnnounced != nil { return nil }
            if let remaining = literalRemaining {
                if literalHandling == .stream {
                    if remaining == 0 {
                        literalRemaining = nil
                        continue
                    }
                    guard buffer.readableBytes > 0 else { return nil }
                    return streamLiteral(remaining)
                }
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
            if droppingCommand {
                buffer.moveReaderIndex(forwardBy: length)
                droppingCommand = false
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
            defer {
                parts = []
                messageLiteralSeen = false
            }
            return .frame(Frame(parts: parts))
        }
        parts.append(.text(line))
        // The first message literal of an APPEND, or one after a message (MULTIAPPEND,
        // RFC 3502 section 6: flags and a date-time are never literals), within the
        // command's count of literals.
        if isMessageLiteral(), !messageLiteralSeen || parts.contains(where: \.isStreamed), parts.count / 2 < maxLiterals {
            messageLiteralSeen = true
            messageLiteralAnnounced = (announcement.size, announcement.synchronizing)
            return .messageLiteral(head: Frame(parts: parts), size: announcement.size, synchronizing: announcement.synchronizing)
        }
        let tag = currentTag()
        guard announcement.size <= maxLiteralSize, parts.count / 2 < maxLiterals else {
            parts = []
            messageLiteralSeen = false
            return .literalTooLarge(tag: tag, synchronizing: announcement.synchronizing)
        }
        literalRemaining = announcement.size
        literalHandling = .collect
        literal = []
        literal.reserveCapacity(min(announcement.size, 1 << 20))
        return announcement.synchronizing ? .continuationRequest : nil
    }

    private mutating func readLiteral(_ remaining: Int) -> Bool {
        let take = min(remaining, buffer.readableBytes)
        if take > 0 {
            if literalHandling == .drop {
                buffer.moveReaderIndex(forwardBy: take)
            } else {
                literal += buffer.readBytes(length: take)!
            }
        }
        literalRemaining = remaining - take
        guard literalRemaining == 0 else { return false }
        literalRemaining = nil
        if literalHandling == .collect { parts.append(.literal(literal)) }
        literal = []
        return true
    }

    /// The next piece of a streamed literal: what is buffered of it.
    private mutating func streamLiteral(_ remaining: Int) -> Event {
        let take = min(remaining, buffer.readableBytes)
        let piece = buffer.readSlice(length: take)!
        literalRemaining = remaining == take ? nil : remaining - take
        return .messageData(piece)
    }

    /// Whether the literal just announced is an APPEND's message (RFC 9051 section 6.3.12:
    /// `tag APPEND mailbox [flags] [date-time] literal`): the command is APPEND and its
    /// mailbox came before, on this line or as a literal of its own.
    private func isMessageLiteral() -> Bool {
        guard case .text(let first)? = parts.first else { return false }
        let words = first.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count >= 2, words[1].count == 6,
              String(decoding: words[1], as: UTF8.self).uppercased() == "APPEND" else { return false }
        if parts.count > 1 { return true }
        // Only the announcement after `APPEND `: the literal is the mailbox name.
        guard words.count == 3, let open = words[2].lastIndex(of: UInt8(ascii: "{")) else { return false }
        return words[2][words[2].startIndex..<open].contains { $0 != UInt8(ascii: " ") }
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
    var isStreamed: Bool {
        if case .streamed = self { true } else { false }
    }

    var count: Int {
        switch self {
        case .text(let bytes), .literal(let bytes): bytes.count
        case .streamed: 0
        }
    }
}
