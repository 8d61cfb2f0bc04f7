import NIOCore

/// A value in a server response (RFC 9051 section 9, formal syntax), as the parser reads it.
public indirect enum IMAPValue: Sendable, Equatable, Hashable {
    /// An atom: a keyword, a number, a flag (`\Seen`), a fetch item with its section (`BODY[]`).
    case atom(String)
    /// A quoted string or a literal, as octets.
    case string([UInt8])
    case `nil`
    case list([IMAPValue])
    /// A literal handed out in chunks as it arrived and not held: its size.
    case streamed(Int)

    /// An atom's or a string's text.
    public var text: String? {
        switch self {
        case .atom(let text): text
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    public var number: UInt64? {
        guard case .atom(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(text)
    }
}

/// The status of a tagged or untagged status response (RFC 9051 section 7.1).
public enum IMAPStatus: String, Sendable, Equatable {
    case ok = "OK", no = "NO", bad = "BAD", preauth = "PREAUTH", bye = "BYE"
}

/// A response code in brackets (RFC 9051 section 7.1): its name upper-cased and its arguments.
public struct IMAPResponseCode: Sendable, Equatable {
    public var name: String
    public var arguments: [IMAPValue]
    /// The code as sent, between the brackets.
    public var raw: String

    public init(name: String, arguments: [IMAPValue] = [], raw: String? = nil) {
        self.name = name
        self.arguments = arguments
        self.raw = raw ?? name
    }
}

/// A status response: `OK`, `NO`, `BAD`, `PREAUTH` or `BYE`, an optional code, and text.
public struct IMAPStatusResponse: Sendable, Equatable, CustomStringConvertible {
    public var status: IMAPStatus
    public var code: IMAPResponseCode?
    public var text: String

    public init(_ status: IMAPStatus, code: IMAPResponseCode? = nil, text: String) {
        self.status = status
        self.code = code
        self.text = text
    }

    /// `[CODE] text`, as shown in errors.
    public var codeAndText: String {
        let shown = String(text.prefix(300))
        guard let code else { return shown }
        return shown.isEmpty ? "[\(code.raw)]" : "[\(code.raw)] \(shown)"
    }

    public var description: String { "\(status.rawValue) \(codeAndText)" }
}

/// The data of a FETCH response (RFC 9051 section 7.5.2) the client uses.
public struct IMAPFetchAttributes: Sendable, Equatable {
    public var uid: UInt32?
    /// RFC822.SIZE.
    public var size: Int?
    /// INTERNALDATE as sent (`17-Jul-1996 02:44:25 -0700`).
    public var internalDate: String?
    public var flags: [String]?
    /// MODSEQ (RFC 7162 section 3.1.4).
    public var modSeq: UInt64?
    /// BODY[] (or BODY[]<0>, BINARY[]): a string, NIL, or a streamed literal.
    public var body: IMAPValue?

    public init(uid: UInt32? = nil, size: Int? = nil, internalDate: String? = nil, flags: [String]? = nil, modSeq: UInt64? = nil, body: IMAPValue? = nil) {
        self.uid = uid
        self.size = size
        self.internalDate = internalDate
        self.flags = flags
        self.modSeq = modSeq
        self.body = body
    }
}

/// An untagged response (RFC 9051 section 7).
public enum IMAPUntaggedResponse: Sendable, Equatable {
    /// `* OK`, `* NO`, `* BAD`, `* PREAUTH`, `* BYE`.
    case status(IMAPStatusResponse)
    /// CAPABILITY (RFC 9051 section 7.2.2), the names upper-cased.
    case capability([String])
    /// LIST (RFC 9051 section 7.3.1).
    case list(IMAPMailbox)
    case flags([String])
    case exists(Int)
    case recent(Int)
    /// A message sequence number that is gone (RFC 9051 section 7.5.1).
    case expunge(Int)
    /// SEARCH (RFC 3501 section 7.2.5): numbers, UIDs after UID SEARCH.
    case search([UInt32])
    /// A message sequence number and its data.
    case fetch(Int, IMAPFetchAttributes)
    /// Any other response: its name upper-cased and the values after it.
    case other(String, [IMAPValue])
}

/// One response from the server (RFC 9051 section 2.2.2).
public enum IMAPResponse: Sendable, Equatable {
    case tagged(String, IMAPStatusResponse)
    case untagged(IMAPUntaggedResponse)
    /// `+ text`: the server waits for more of the command (a literal, SASL data, DONE). A SASL
    /// challenge is left base64 as sent.
    case continuation(String)
}

/// What the client's channel handler passes on.
public enum IMAPClientEvent: Sendable, Equatable {
    /// A complete response; every literal in it held (each at most the inline limit).
    case response(IMAPResponse)
    /// A literal too large to hold begins: the response before it, as text, and its size.
    /// `literalChunk`s follow with exactly `size` octets, then, when the response line ends,
    /// `streamedResponse`.
    case literalStart(head: String, size: Int)
    case literalChunk(ByteBuffer)
    /// The end of a response with streamed literals, each in it as `IMAPValue.streamed`.
    case streamedResponse(IMAPResponse)
    /// The TLS handshake completed (implicit TLS, or after STARTTLS).
    case tlsEstablished
    /// The caller's time for an IDLE passed.
    case idleTimerFired
}
