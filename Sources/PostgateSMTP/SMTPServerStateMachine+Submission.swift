/// Submission mode (RFC 6409): AUTH (RFC 4954) only over TLS, and no mail transaction
/// before it, so the listener is never an open relay however its recipients are judged.
extension SMTPServerStateMachine {
    /// True between AUTH's 334 challenges: the handler passes the next line, unparsed, to
    /// `receiveAuthResponse`.
    public var isAwaitingAuthResponse: Bool {
        if case .authenticating = state { return true }
        return false
    }

    /// EHLO names AUTH only once TLS protects the session (RFC 4954 section 4: no plain-text
    /// passwords over an unprotected connection).
    var offersAuth: Bool {
        configuration.mode == .submission && session.tlsActive
    }

    /// Why MAIL cannot start a transaction in submission mode (RFC 3207 section 4 and
    /// RFC 4954 section 6's 530 5.7.0), or nil.
    func submissionRefusalOfMail() -> SMTPReply? {
        guard configuration.mode == .submission else { return nil }
        guard session.tlsActive else { return Self.startTLSFirst }
        guard session.authenticatedUser != nil else { return SMTPReply(530, "5.7.0", "Authentication required") }
        return nil
    }

    /// AUTH mechanism [initial-response] (RFC 4954 section 4).
    mutating func auth(_ mechanism: String, initialResponse: String?) -> Action {
        guard configuration.mode == .submission else { return fail(SMTPReply(502, "5.5.1", "AUTH is not implemented here")) }
        guard !mechanism.isEmpty else { return fail(SMTPReply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]")) }
        guard session.tlsActive else { return fail(Self.startTLSFirst) }
        switch state {
        case .connected: return fail(SMTPReply(503, "5.5.1", "Send EHLO first"))
        case .ready: break
        default: return fail(SMTPReply(503, "5.5.1", "AUTH is not allowed inside a mail transaction"))
        }
        guard session.authenticatedUser == nil else { return fail(SMTPReply(503, "5.5.1", "Already authenticated")) }
        guard var exchange = SMTPAuthExchange(mechanism: mechanism) else {
            return fail(SMTPReply(504, "5.5.4", "Unrecognized authentication type; use PLAIN or LOGIN"))
        }
        let step = exchange.begin(initialResponse: initialResponse)
        return advance(exchange, step)
    }

    /// A line sent in answer to a 334 challenge (without its CRLF).
    public mutating func receiveAuthResponse(_ line: [UInt8]) -> Action {
        guard case .authenticating(var exchange) = state else { return .nothing }
        let step = exchange.respond(line)
        return advance(exchange, step)
    }

    private mutating func advance(_ exchange: SMTPAuthExchange, _ step: SMTPAuthExchange.Step) -> Action {
        switch step {
        case .challenge(let reply):
            state = .authenticating(exchange)
            return .send(reply)
        case .credentials(let credentials):
            state = .checkingCredentials
            return .authenticate(credentials)
        case .failed(let reply):
            state = .ready
            return fail(reply)
        }
    }

    /// The delegate's verdict on the credentials of the last `authenticate`. A refusal counts
    /// against the session's error limit like any failed command.
    public mutating func credentialsChecked(_ verdict: AuthenticationVerdict) -> Action {
        guard case .checkingCredentials = state else { return .nothing }
        state = .ready
        switch verdict {
        case .accepted(let user):
            session.authenticatedUser = user
            return .send(SMTPReply(235, "2.7.0", "Authentication successful"))
        case .rejected(let reply):
            return fail(reply)
        }
    }

    /// The delegate's verdict on the sender of the last `verifySender`.
    public mutating func senderVerified(_ verdict: SenderVerdict) -> Action {
        guard case .verifyingSender(let transaction) = state else { return .nothing }
        switch verdict {
        case .accept:
            state = .mail(transaction)
            return ok("Sender ok", "2.1.0")
        case .reject(let reply):
            state = .ready
            return fail(reply)
        }
    }

    private static let startTLSFirst = SMTPReply(530, "5.7.0", "Must issue a STARTTLS command first")
}
