/// The settings of an SMTP listener that the protocol code needs. Every limit has the
/// reply RFC 5321 names for it.
public struct SMTPServerConfiguration: Sendable, Equatable {
    /// What a listener is for: it decides whether AUTH is offered and who may send.
    public enum Mode: Sendable, Equatable {
        /// The inbound (MX) listener (RFC 5321): mail for hosted addresses from anyone, no AUTH.
        case mx
        /// Message submission (RFC 6409): AUTH (RFC 4954) only over TLS, no MAIL before it,
        /// and then any remote recipient.
        case submission
    }

    public var mode: Mode
    /// The name in the greeting, the EHLO reply and the Received header.
    public var hostname: String
    /// SIZE (RFC 1870): larger messages get 552 5.3.4, whether declared or real.
    public var maxMessageSize: Int
    /// Longest command or text line in octets, CRLF included (section 4.5.3.1.4–6).
    public var maxLineLength: Int
    /// Longest command line: `maxLineLength`, but at least 12288 octets in submission mode,
    /// where AUTH lines carry base64 credentials (RFC 4954 section 4).
    public var maxCommandLineLength: Int {
        mode == .submission ? max(maxLineLength, 12_288) : maxLineLength
    }
    /// Longest header section in octets; larger gets 552 5.3.4.
    public var maxHeaderSize: Int
    /// Recipients per transaction; more get 452 4.5.3 (section 4.5.3.1.10).
    public var maxRecipients: Int
    /// Commands outside a transaction since the last MAIL; more close the session with 421.
    public var maxCommandsBeforeMail: Int
    /// Failed commands per session; more close the session with 421 4.7.0.
    public var maxErrors: Int
    /// Seconds a command line may take to arrive whole, counted from the end of the one
    /// before (or of the server's work on it), however the bytes trickle in.
    public var commandTimeout: Int64
    /// Seconds a message's data (DATA, or one BDAT chunk) may take, counted from its start,
    /// and extended by one second per `minDataRate` octets received.
    public var dataTimeout: Int64
    /// Octets per second a message's data must keep up on average (Postfix's
    /// `smtpd_min_data_rate`): a slower client runs into `dataTimeout`.
    public var minDataRate: Int
    /// Seconds the TLS handshake after STARTTLS may take before the connection is closed.
    public var tlsHandshakeTimeout: Int64

    public init(
        mode: Mode = .mx,
        hostname: String = "postgate.localhost",
        maxMessageSize: Int = 36_700_160,
        maxLineLength: Int = 1000,
        maxHeaderSize: Int = 262_144,
        maxRecipients: Int = 100,
        maxCommandsBeforeMail: Int = 30,
        maxErrors: Int = 20,
        commandTimeout: Int64 = 300,
        dataTimeout: Int64 = 180,
        minDataRate: Int = 500,
        tlsHandshakeTimeout: Int64 = 10
    ) {
        self.mode = mode
        self.hostname = hostname
        self.maxMessageSize = maxMessageSize
        self.maxLineLength = maxLineLength
        self.maxHeaderSize = maxHeaderSize
        self.maxRecipients = maxRecipients
        self.maxCommandsBeforeMail = maxCommandsBeforeMail
        self.maxErrors = maxErrors
        self.commandTimeout = commandTimeout
        self.dataTimeout = dataTimeout
        self.minDataRate = minDataRate
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
    }
}
