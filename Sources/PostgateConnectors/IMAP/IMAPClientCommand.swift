/// One piece of a command as sent, ending in CRLF: a whole command, or the part of one up to a
/// synchronizing literal, whose octets go out in the next piece once the server asked for them
/// with a continuation (RFC 9051 section 4.3), or a line of its own (a SASL response, DONE).
public struct IMAPClientCommand: Sendable, Equatable, CustomStringConvertible {
    /// What the handler does with the response clock for this piece.
    public enum Timing: Sendable, Equatable {
        /// A response is due: the server has the response timeout for each read.
        case response
        /// IDLE (RFC 2177): the response clock runs until the server's continuation; then the
        /// caller's time runs, and when it passes the handler sends `idleTimerFired` up.
        case idle(seconds: Double)
    }

    public var bytes: [UInt8]
    /// What may be logged: the piece with its secrets replaced by `…`.
    public var logText: String
    /// The command's tag, on the piece that starts a command.
    public var tag: String?
    public var timing: Timing
    /// STARTTLS: after its tagged OK the framer discards everything until the TLS handshake.
    public var startsTLS: Bool

    public init(bytes: [UInt8], logText: String, tag: String?, timing: Timing = .response, startsTLS: Bool = false) {
        self.bytes = bytes
        self.logText = logText
        self.tag = tag
        self.timing = timing
        self.startsTLS = startsTLS
    }

    /// A line of its own: `text` and CRLF.
    init(line text: String, secret: Bool = false) {
        self.init(bytes: Array(text.utf8) + [0x0D, 0x0A], logText: secret ? "…" : text, tag: nil)
    }

    /// The octets as text (for tests and traces; never logged for a secret).
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { logText }
}

/// Builds commands from their arguments (RFC 9051 section 9: `astring`, `quoted`, `literal`).
struct IMAPCommandBuilder {
    enum Argument {
        /// Sent as is: keywords, numbers, sequence sets, parenthesized lists the client makes.
        case raw(String)
        /// A string (a mailbox name, a user name, a password): quoted when it can be, else a
        /// literal. A secret never reaches a log.
        case string(String, secret: Bool = false)
        /// Octets always sent as a literal (a message for APPEND, RFC 9051 section 6.3.12).
        case literal([UInt8])
    }

    /// LITERAL+ (any size) or LITERAL- (up to 4096 octets): literals need not wait for a
    /// continuation (RFC 7888).
    var literalPlus = false
    var literalMinus = false

    /// The pieces of `tag arguments...`: one, unless a synchronizing literal splits it.
    func pieces(tag: String, _ arguments: [Argument], timing: IMAPClientCommand.Timing = .response, startsTLS: Bool = false) -> [IMAPClientCommand] {
        var pieces: [IMAPClientCommand] = []
        var bytes = Array(tag.utf8)
        var log = tag
        for argument in arguments {
            bytes.append(UInt8(ascii: " "))
            log += " "
            switch argument {
            case .raw(let text):
                bytes += text.utf8
                log += text
            case .string, .literal:
                let octets: [UInt8]
                var secret = false
                switch argument {
                case .string(let text, let isSecret):
                    octets = Array(text.utf8)
                    secret = isSecret
                    if let quoted = Self.quoted(octets) {
                        bytes += quoted
                        log += secret ? "\"…\"" : String(decoding: quoted, as: UTF8.self)
                        continue
                    }
                case .literal(let data):
                    octets = data
                case .raw:
                    continue
                }
                let nonSynchronizing = literalPlus || (literalMinus && octets.count <= 4096)
                let marker = "{\(octets.count)\(nonSynchronizing ? "+" : "")}"
                bytes += marker.utf8
                bytes += [0x0D, 0x0A]
                log += marker + " "
                if !nonSynchronizing {
                    pieces.append(IMAPClientCommand(bytes: bytes, logText: log, tag: pieces.isEmpty ? tag : nil, timing: .response))
                    bytes = []
                    log = ""
                }
                bytes += octets
                log += secret ? "…" : "<\(octets.count) octets>"
            }
        }
        bytes += [0x0D, 0x0A]
        pieces.append(IMAPClientCommand(bytes: bytes, logText: log, tag: pieces.isEmpty ? tag : nil, timing: timing, startsTLS: startsTLS))
        return pieces
    }

    /// `"..."` with `\` and `"` escaped, if every octet is a 7-bit character other than NUL,
    /// CR and LF (RFC 9051 section 4.3); nil when it needs a literal.
    static func quoted(_ octets: [UInt8]) -> [UInt8]? {
        var result: [UInt8] = [UInt8(ascii: "\"")]
        for octet in octets {
            guard octet > 0, octet < 0x80, octet != 0x0D, octet != 0x0A else { return nil }
            if octet == UInt8(ascii: "\"") || octet == UInt8(ascii: "\\") { result.append(UInt8(ascii: "\\")) }
            result.append(octet)
        }
        result.append(UInt8(ascii: "\""))
        return result
    }
}
