/// How a POP3 connection is secured: implicit TLS on port 995, STLS on port 110, or none.
public typealias POP3TLSMode = ConnectorTLSMode

/// Where and how to reach one POP3 server.
public struct POP3Configuration: Sendable, Equatable {
    /// The server's name, checked against its certificate; or an IP address.
    public var host: String
    /// The address to connect to; nil connects to `host` (resolved by the system).
    public var address: String?
    public var port: Int
    public var tls: POP3TLSMode
    /// A PEM file of trusted roots (a private CA) used instead of the system's; nil for the system's.
    public var caCertificateFile: String?
    /// Send credentials without TLS. Off by default: a password or token must not cross the
    /// network in clear text (RFC 2595 section 2.1, RFC 7628 section 5).
    public var allowPlaintextAuthentication: Bool
    /// Seconds to wait for the TCP connection.
    public var connectTimeout: Double
    /// Seconds to wait for the next bytes of a response (and for a TLS handshake).
    public var responseTimeout: Double

    public init(
        host: String, address: String? = nil, port: Int? = nil, tls: POP3TLSMode = .implicit, caCertificateFile: String? = nil,
        allowPlaintextAuthentication: Bool = false, connectTimeout: Double = 30, responseTimeout: Double = 120
    ) {
        self.host = host
        self.address = address
        self.port = port ?? (tls == .implicit ? 995 : 110)
        self.tls = tls
        self.caCertificateFile = caCertificateFile
        self.allowPlaintextAuthentication = allowPlaintextAuthentication
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
    }

    /// `host[address]:port`, for messages.
    public var endpoint: String {
        "\(address.map { "\(host)[\($0)]" } ?? host):\(port)"
    }
}

/// What the client authenticates with.
public enum POP3Credentials: Sendable, Equatable {
    /// A password: SASL PLAIN (RFC 4616) when the server offers it, else USER/PASS (RFC 1939 section 7).
    case password(user: String, password: String)
    /// An OAuth 2.0 access token with the XOAUTH2 SASL mechanism.
    case xoauth2(user: String, token: String)
    /// An OAuth 2.0 access token with OAUTHBEARER (RFC 7628).
    case oauthBearer(user: String, token: String)
}

extension POP3Credentials: CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind and the user, never the password or token.
    public var description: String {
        switch self {
        case .password(let user, _): "password for \(user)"
        case .xoauth2(let user, _): "XOAUTH2 token for \(user)"
        case .oauthBearer(let user, _): "OAUTHBEARER token for \(user)"
        }
    }

    public var debugDescription: String { description }
}

/// One line to send and the kind of response it gets.
public struct POP3Command: Sendable, Equatable, CustomStringConvertible {
    public var line: String
    public var response: POP3ResponseKind
    /// The line carries a credential: logged without its argument.
    public var secret: Bool

    public init(_ line: String, response: POP3ResponseKind = .singleLine, secret: Bool = false) {
        self.line = line
        self.response = response
        self.secret = secret
    }

    public var description: String {
        guard secret else { return line }
        return (line.split(separator: " ").first.map { "\($0) …" }) ?? "…"
    }
}

/// A message's number in this session and its unique id (RFC 1939 section 7, UIDL): the id
/// stays the same across sessions, so it is the key for fetching each message once.
public struct POP3UniqueID: Sendable, Equatable, Hashable {
    public var number: Int
    public var uid: String

    public init(number: Int, uid: String) {
        self.number = number
        self.uid = uid
    }
}

/// A message's number and size in octets (RFC 1939 section 5, LIST).
public struct POP3ListEntry: Sendable, Equatable, Hashable {
    public var number: Int
    public var size: Int

    public init(number: Int, size: Int) {
        self.number = number
        self.size = size
    }
}
