import PostgateMessage

/// A command from an SMTP client (RFC 5321 section 4.1.1, RFC 3207 STARTTLS).
public enum SMTPCommand: Equatable, Sendable {
    case helo(String)
    case ehlo(String)
    case mail(ReversePath, MailParameters)
    case rcpt(EmailAddress, RecipientParameters)
    case data
    /// BDAT chunk-size [LAST] (RFC 3030): the next `size` octets are message data.
    case bdat(size: Int, last: Bool)
    /// A BDAT whose size cannot be read: its data cannot be told from commands, so the
    /// session must end (RFC 3030 section 2 gives no way to resynchronise).
    case malformedBDAT
    case rset
    case noop
    case quit
    case vrfy(String)
    case help(String)
    case startTLS
    /// AUTH mechanism [initial-response] (RFC 4954 section 4). An empty mechanism stands
    /// for a malformed line (none, or more than two words); only a submission listener
    /// looks at it, the MX listener answers every AUTH alike.
    case auth(mechanism: String, initialResponse: String?)
    /// A command this server knows but does not offer here (EXPN, TURN, ETRN…).
    case notImplemented(String)

    /// True for commands that may appear anywhere in a PIPELINING group; the others
    /// (EHLO, DATA, QUIT, STARTTLS…) end a group (RFC 2920 section 3.1).
    public var isTransactionCommand: Bool {
        switch self {
        case .mail, .rcpt, .data, .bdat: true
        default: false
        }
    }
}

/// The sender of a transaction: a mailbox, or the null path `<>` of bounces (RFC 5321
/// section 4.5.5).
public enum ReversePath: Equatable, Sendable, CustomStringConvertible {
    case null
    case mailbox(EmailAddress)

    public var description: String {
        switch self {
        case .null: ""
        case .mailbox(let address): address.description
        }
    }
}

/// The body type a client declares with BODY= (RFC 6152 for 8BITMIME).
public enum SMTPBodyType: String, Equatable, Sendable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
}

/// The parameters of MAIL FROM this server understands.
public struct MailParameters: Equatable, Sendable {
    /// SIZE=n, RFC 1870: the client's estimate of the message size.
    public var declaredSize: Int?
    public var body: SMTPBodyType = .sevenBit
    /// SMTPUTF8, RFC 6531: addresses and headers may hold UTF-8.
    public var smtpUTF8 = false

    public init(declaredSize: Int? = nil, body: SMTPBodyType = .sevenBit, smtpUTF8: Bool = false) {
        self.declaredSize = declaredSize
        self.body = body
        self.smtpUTF8 = smtpUTF8
    }
}

/// The parameters of RCPT TO this server understands (none yet: DSN is not offered).
public struct RecipientParameters: Equatable, Sendable {
    public init() {}
}
