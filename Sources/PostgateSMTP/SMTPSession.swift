import PostgateMessage

/// What is known of the client for the session: where it connects from, how it greeted,
/// whether TLS protects it. Carried into each transaction for the Received header.
public struct SMTPSessionInfo: Equatable, Sendable {
    public var remoteAddress: String
    public var remotePort: Int?
    public var heloName: String?
    public var usedEHLO = false
    public var tlsActive = false

    public init(remoteAddress: String, remotePort: Int? = nil) {
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
    }

    /// The protocol name of the Received header's `with` clause (RFC 3848).
    public var protocolName: String {
        switch (usedEHLO, tlsActive) {
        case (false, _): "SMTP"
        case (true, false): "ESMTP"
        case (true, true): "ESMTPS"
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

/// The delegate's answer to a RCPT TO.
public enum RecipientVerdict: Equatable, Sendable {
    case accept
    case reject(SMTPReply)
}
