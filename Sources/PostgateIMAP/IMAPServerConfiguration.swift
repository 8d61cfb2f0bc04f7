/// The protocol settings of the IMAP server, from `GatewayConfiguration`.
public struct IMAPServerConfiguration: Sendable, Equatable {
    public var hostname: String
    /// Longest command line outside literals, in octets; also the largest literal of any
    /// command but APPEND's message (an argument, held in memory as a line is).
    public var maxLineLength: Int
    /// Largest message APPEND takes, in octets, advertised as APPENDLIMIT (RFC 7889); it
    /// streams to a spool file, never held in memory whole.
    public var maxLiteralSize: Int
    /// Allow LOGIN and AUTHENTICATE PLAIN without TLS (for tests on loopback only).
    public var allowPlaintextAuth: Bool
    /// Seconds before an idle connection is closed (RFC 9051 section 5.4: at least 30 minutes).
    public var idleTimeout: Int64
    /// Milliseconds to wait before answering a failed login.
    public var failedLoginDelay: Int64
    /// Bad commands in a row before the connection is closed.
    public var maxErrors: Int
    /// Seconds from the connection's start within which it must log in.
    public var loginTimeout: Int64
    /// Seconds the TLS handshake after STARTTLS may take before the connection is closed.
    public var tlsHandshakeTimeout: Int64
    /// Seconds a response may wait for the client to read it before the connection is closed.
    public var sendTimeout: Int64
    /// Seconds between an idling session's looks at its mailbox for changes made by another
    /// process (the admin commands); changes of this process are pushed at once.
    public var idleCheckInterval: Int64

    /// Largest literal before login, in octets: what LITERAL- allows a non-synchronizing
    /// literal (RFC 7888 section 5), and enough for any user name or password.
    public static let maxLiteralBeforeLogin = 4096
    /// Literals in one command before login (LOGIN has two).
    public static let maxLiteralsBeforeLogin = 4

    public init(
        hostname: String, maxLineLength: Int = 65_536, maxLiteralSize: Int = 36_700_160, allowPlaintextAuth: Bool = false,
        idleTimeout: Int64 = 1800, failedLoginDelay: Int64 = 1000, maxErrors: Int = 20, loginTimeout: Int64 = 60,
        sendTimeout: Int64 = 60, tlsHandshakeTimeout: Int64 = 10, idleCheckInterval: Int64 = 30
    ) {
        self.idleCheckInterval = idleCheckInterval
        self.hostname = hostname
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.allowPlaintextAuth = allowPlaintextAuth
        self.idleTimeout = idleTimeout
        self.failedLoginDelay = failedLoginDelay
        self.maxErrors = maxErrors
        self.loginTimeout = loginTimeout
        self.sendTimeout = sendTimeout
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
    }
}
