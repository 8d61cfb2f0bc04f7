import Foundation

/// How an IMAP connection is secured: implicit TLS on port 993, STARTTLS on port 143, or none.
public typealias IMAPTLSMode = ConnectorTLSMode

/// Where and how to reach one IMAP server.
public struct IMAPConfiguration: Sendable, Equatable {
    /// The server's name, checked against its certificate and sent for SNI; or an IP address.
    public var host: String
    /// The address to connect to; nil connects to `host` (resolved by the system).
    public var address: String?
    public var port: Int
    public var tls: IMAPTLSMode
    /// A PEM file of trusted roots (a private CA) used instead of the system's; nil for the system's.
    public var caCertificateFile: String?
    /// Send credentials without TLS. Off by default: a password or token must not cross the
    /// network in clear text (RFC 9051 section 11.1, RFC 7628 section 5).
    public var allowPlaintextAuthentication: Bool
    /// Seconds to wait for the TCP connection.
    public var connectTimeout: Double
    /// Seconds to wait for the next bytes of a response (and for a TLS handshake).
    public var responseTimeout: Double
    /// The longest response the client holds: a line, or a line with its literals that are not
    /// streamed. A `UID SEARCH` result of a mailbox of a million messages fits in 8 MiB.
    public var maxResponseLength: Int

    public init(
        host: String, address: String? = nil, port: Int? = nil, tls: IMAPTLSMode = .implicit, caCertificateFile: String? = nil,
        allowPlaintextAuthentication: Bool = false, connectTimeout: Double = 30, responseTimeout: Double = 120,
        maxResponseLength: Int = 8 << 20
    ) {
        self.host = host
        self.address = address
        self.port = port ?? (tls == .implicit ? 993 : 143)
        self.tls = tls
        self.caCertificateFile = caCertificateFile
        self.allowPlaintextAuthentication = allowPlaintextAuthentication
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        self.maxResponseLength = maxResponseLength
    }

    /// `host[address]:port`, for messages.
    public var endpoint: String {
        "\(address.map { "\(host)[\($0)]" } ?? host):\(port)"
    }
}

/// What the client authenticates with.
public enum IMAPCredentials: Sendable, Equatable {
    /// A password: AUTHENTICATE PLAIN (RFC 4616) when the server offers it, else LOGIN
    /// (RFC 9051 section 6.2.3).
    case password(user: String, password: String)
    /// A password sent with LOGIN (RFC 9051 section 6.2.3) even where PLAIN is offered.
    case login(user: String, password: String)
    /// An OAuth 2.0 access token with the XOAUTH2 SASL mechanism.
    case xoauth2(user: String, token: String)
    /// An OAuth 2.0 access token with OAUTHBEARER (RFC 7628).
    case oauthBearer(user: String, token: String)
}

extension IMAPCredentials: CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind and the user, never the password or token.
    public var description: String {
        switch self {
        case .password(let user, _): "password for \(user)"
        case .login(let user, _): "LOGIN password for \(user)"
        case .xoauth2(let user, _): "XOAUTH2 token for \(user)"
        case .oauthBearer(let user, _): "OAUTHBEARER token for \(user)"
        }
    }

    public var debugDescription: String { description }
}

/// A set of UIDs (RFC 9051 section 9, `sequence-set` with UIDs; section 2.3.1.1).
public enum IMAPUIDSet: Sendable, Equatable, Hashable {
    /// `n:*`: every UID from `n` up. The server always includes the message with the highest
    /// UID, even if it is below `n` (RFC 9051 section 6.4.9: `*` is the largest UID in use, and
    /// `n:*` is the same as `*:n`), so answers are filtered to UIDs of at least `n`.
    case from(UInt32)
    case range(ClosedRange<UInt32>)
    case uids([UInt32])

    /// The set as sent: ranges of consecutive UIDs joined (`1:3,7,9:10`).
    public var wire: String {
        switch self {
        case .from(let first): return "\(first):*"
        case .range(let range): return range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound):\(range.upperBound)"
        case .uids(let uids):
            var parts: [String] = []
            var run: (UInt32, UInt32)?
            for uid in Set(uids).sorted() {
                if let current = run, current.1 &+ 1 == uid {
                    run = (current.0, uid)
                    continue
                }
                if let current = run { parts.append(current.0 == current.1 ? "\(current.0)" : "\(current.0):\(current.1)") }
                run = (uid, uid)
            }
            if let current = run { parts.append(current.0 == current.1 ? "\(current.0)" : "\(current.0):\(current.1)") }
            return parts.joined(separator: ",")
        }
    }

    public func contains(_ uid: UInt32) -> Bool {
        switch self {
        case .from(let first): uid >= first
        case .range(let range): range.contains(uid)
        case .uids(let uids): uids.contains(uid)
        }
    }

    var isEmpty: Bool {
        if case .uids(let uids) = self { return uids.isEmpty }
        return false
    }
}

/// One criterion of a UID SEARCH (RFC 9051 section 6.4.4); several are all required.
public enum IMAPSearchKey: Sendable, Equatable {
    case all
    /// Messages whose UID is in the set; answers are filtered to the set (see `IMAPUIDSet.from`).
    case uid(IMAPUIDSet)
    /// Internal date on or after the day (UTC) of the date.
    case since(Date)
    /// Internal date before the day (UTC) of the date.
    case before(Date)
    case seen, unseen, deleted, undeleted

    var wire: String {
        switch self {
        case .all: "ALL"
        case .uid(let set): "UID \(set.wire)"
        case .since(let date): "SINCE \(IMAPDate.searchDay(date))"
        case .before(let date): "BEFORE \(IMAPDate.searchDay(date))"
        case .seen: "SEEN"
        case .unseen: "UNSEEN"
        case .deleted: "DELETED"
        case .undeleted: "UNDELETED"
        }
    }
}

/// The special uses a mailbox may have (RFC 6154 section 2).
public enum IMAPSpecialUse: String, Sendable, Equatable, CaseIterable {
    case all = "\\All"
    case archive = "\\Archive"
    case drafts = "\\Drafts"
    case flagged = "\\Flagged"
    case junk = "\\Junk"
    case sent = "\\Sent"
    case trash = "\\Trash"
}

/// One mailbox of a LIST response (RFC 9051 section 7.3.1).
public struct IMAPMailbox: Sendable, Equatable, Hashable {
    /// The name as the server sent it (modified UTF-7, RFC 9051 section 5.1.3): the name to
    /// select it by.
    public var name: String
    /// The hierarchy delimiter; nil for a flat name space.
    public var delimiter: Character?
    /// The name attributes as sent (`\HasNoChildren`, `\Noselect`, `\Trash`, ...).
    public var attributes: [String]

    public init(name: String, delimiter: Character?, attributes: [String]) {
        self.name = name
        self.delimiter = delimiter
        self.attributes = attributes
    }

    /// The name decoded from modified UTF-7, for display; the name as sent if it is not valid.
    public var displayName: String { IMAPModifiedUTF7.decode(name) ?? name }

    /// The special use among the attributes (RFC 6154 section 2), if any.
    public var specialUse: IMAPSpecialUse? {
        IMAPSpecialUse.allCases.first { use in attributes.contains { $0.caseInsensitiveCompare(use.rawValue) == .orderedSame } }
    }

    /// False for `\Noselect` and `\NonExistent` (RFC 9051 section 7.3.1).
    public var isSelectable: Bool {
        !attributes.contains { ["\\NOSELECT", "\\NONEXISTENT"].contains($0.uppercased()) }
    }
}

/// What SELECT or EXAMINE reports about the mailbox (RFC 9051 section 6.3.2; HIGHESTMODSEQ
/// RFC 7162 section 3.1.2.1).
public struct IMAPMailboxStatus: Sendable, Equatable {
    public var name: String
    /// Together with a UID, names one message for good (RFC 9051 section 2.3.1.1): a new value
    /// means every UID the client knew is void.
    public var uidValidity: UInt32
    /// The UID the next message will get, if the server said.
    public var uidNext: UInt32?
    /// The number of messages.
    public var exists: Int
    /// The highest mod-sequence (CONDSTORE), if the server keeps them for this mailbox.
    public var highestModSeq: UInt64?
    public var flags: [String]
    /// EXAMINE, or a SELECT the server answered `[READ-ONLY]`.
    public var readOnly: Bool

    public init(name: String, uidValidity: UInt32, uidNext: UInt32?, exists: Int, highestModSeq: UInt64?, flags: [String], readOnly: Bool) {
        self.name = name
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.exists = exists
        self.highestModSeq = highestModSeq
        self.flags = flags
        self.readOnly = readOnly
    }
}

/// A message's UID, size, internal date and flags (a UID FETCH listing, RFC 9051 section 7.5.2).
public struct IMAPMessageInfo: Sendable, Equatable {
    public var uid: UInt32
    /// RFC822.SIZE: the octets of the message as BODY[] returns it.
    public var size: Int
    public var internalDate: Date?
    public var flags: [String]

    public init(uid: UInt32, size: Int, internalDate: Date?, flags: [String]) {
        self.uid = uid
        self.size = size
        self.internalDate = internalDate
        self.flags = flags
    }
}

/// How fetching one message ended.
public enum IMAPFetchOutcome: Sendable, Equatable {
    /// The message went to the sink; its size in octets.
    case fetched(size: Int)
    /// The message is larger than the limit; nothing went to the sink.
    case tooLarge(size: Int)
    /// No message has that UID (expunged, or never there): nothing went to the sink.
    case notFound
}

/// How an IDLE ended (RFC 2177).
public enum IMAPIdleOutcome: Sendable, Equatable {
    /// The server reported new or expunged messages; the number of messages now, if known.
    case mailboxChanged(exists: Int?)
    /// The caller's time passed without a change.
    case timedOut
}
