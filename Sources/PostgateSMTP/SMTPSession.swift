import PostgateMessage

/// What is known of the client for the session: where it connects from, how it greeted,
/// whether TLS protects it, who it authenticated as. Carried into each transaction for the
/// Received header and the submission delegate.
public struct SMTPSessionInfo: Equatable, Sendable {
    public var remoteAddress: String
    public var remotePort: Int?
    public var heloName: String?
    public var usedEHLO = false
    public var tlsActive = false
    /// The user AUTH (RFC 4954) succeeded for, on a submission listener; nil before (and
    /// again after a TLS handshake, which starts the session over).
    public var authenticatedUser: String?

    public init(remoteAddress: String, remotePort: Int? = nil) {
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
    }

    /// The protocol name of the Received header's `with` clause (RFC 3848).
    public var protocolName: String {
        switch (usedEHLO, tlsActive) {
        case (false, _): "SMTP"
        case (true, false): authenticatedUser == nil ? "ESMTP" : "ESMTPA"
        case (true, true): authenticatedUser == nil ? "ESMTPS" : "ESMTPSA"
        }
    }
}

/// One mail transaction: MAIL FROM, the accepted RCPT TOs, and the session it belongs to.
public struct SMTPTransaction: Equatable, Sendable {
    public var sender: ReversePath
    public var parameters: MailParameters
    /// The recipients the delegate accepted, in order.
    public var recipients: [EmailAddress] = []
    public var session: SMTPSessionInfo

    public init(sender: ReversePath, parameters: MailParameters, session: SMTPSessionInfo) {
        self.sender = sender
        self.parameters = parameters
        self.session = session
    }
}

/// The delegate's answer to a RCPT TO (and, on a submission listener, to a MAIL FROM).
public enum RecipientVerdict: Equatable, Sendable {
    case accept
    case reject(SMTPReply)
}

/// The delegate's answer to a MAIL FROM on a submission listener: may the authenticated
/// user send as this sender?
public typealias SenderVerdict = RecipientVerdict

/// What a client proved itself with in AUTH. The password never appears in a description.
public struct SASLCredentials: Equatable, Sendable, CustomStringConvertible {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    public var description: String { "SASLCredentials(user: \(user), password: <redacted>)" }
}

/// The delegate's answer to AUTH credentials.
public enum AuthenticationVerdict: Equatable, Sendable {
    /// Authenticated, as this user (the name the delegate knows it by).
    case accepted(user: String)
    /// Refused with this reply (535 5.7.8 for wrong credentials, RFC 4954 section 6).
    case rejected(SMTPReply)
}
