import PostgateMessage

/// The server side of an SMTP session (RFC 5321 section 4.1.4 command ordering, RFC 3207
/// STARTTLS, RFC 2920 PIPELINING) as a value type: it is fed commands and the outcomes of
/// asynchronous work, and answers with what the channel handler must do next. It does no
/// I/O, so every rule can be tested without a socket.
///
/// In submission mode (RFC 6409, see `SMTPServerStateMachine+Submission`) it also runs AUTH
/// (RFC 4954) and asks the delegate about each MAIL FROM.
public struct SMTPServerStateMachine {
    /// What the handler must do after an input.
    public enum Action: Equatable {
        case send(SMTPReply)
        /// Send the replies, then close the connection.
        case sendAndClose([SMTPReply])
        /// Ask the delegate whether to accept this recipient, then call `recipientVerified`.
        case verifyRecipient(EmailAddress, SMTPTransaction)
        /// Open a message writer for the transaction, then call `messageOpened`.
        case openMessage(SMTPTransaction)
        /// Open a message writer for a BDAT transaction (no 354, the framer is already in
        /// chunk mode), then call `messageOpened`.
        case openChunkedMessage(SMTPTransaction)
        /// Drop the message being received, then send the reply.
        case abortMessage(SMTPReply)
        /// Send the reply, then start the TLS handshake and call `tlsStarted` (RFC 3207).
        case startTLS(SMTPReply)
        /// Make the message durable, then call `messageCommitted`.
        case commitMessage(SMTPTransaction)
        /// Check the AUTH credentials with the delegate, then call `credentialsChecked`.
        case authenticate(SASLCredentials)
        /// Ask the delegate whether the authenticated user may send as the transaction's
        /// sender, then call `senderVerified` (submission mode).
        case verifySender(SMTPTransaction)
        case nothing
    }

    enum State: Equatable {
        /// Connected; no HELO or EHLO yet (or none since STARTTLS).
        case connected
        case ready
        case mail(SMTPTransaction)
        case verifying(SMTPTransaction)
        case opening(SMTPTransaction)
        case openingChunked(SMTPTransaction, last: Bool)
        case data(SMTPTransaction, failure: SMTPReply?)
        /// Inside a BDAT chunk of an open message; `last` ends the message with the chunk.
        case chunk(SMTPTransaction, failure: SMTPReply?, last: Bool)
        /// Between BDAT chunks of an open message.
        case chunked(SMTPTransaction, failure: SMTPReply?)
        /// Reading and dropping a refused BDAT chunk; `reply` goes out at its end.
        case discardingChunk(reply: SMTPReply, then: SessionStage)
        case committing(SMTPTransaction)
        /// Between AUTH's 334 challenges: the next line is a SASL response.
        case authenticating(SMTPAuthExchange)
        /// The delegate checks the credentials.
        case checkingCredentials
        /// The delegate checks MAIL FROM.
        case verifyingSender(SMTPTransaction)
        case closed
    }

    /// Where a refused chunk leaves the session.
    enum SessionStage: Equatable {
        case connected, ready, mail(SMTPTransaction)

        var state: State {
            switch self {
            case .connected: .connected
            case .ready: .ready
            case .mail(let transaction): .mail(transaction)
            }
        }
    }

    public let configuration: SMTPServerConfiguration
    public let startTLSAvailable: Bool
    public internal(set) var session: SMTPSessionInfo
    var state = State.connected
    private var errors = 0
    private var commandsWithoutMail = 0
    private var shutdownPending = false

    public init(configuration: SMTPServerConfiguration, session: SMTPSessionInfo, startTLSAvailable: Bool) {
        self.configuration = configuration
        self.session = session
        self.startTLSAvailable = startTLSAvailable
    }

    /// True while message data is being received (after 354, or inside a BDAT chunk).
    public var isReceivingData: Bool {
        switch state {
        case .data, .chunk, .discardingChunk: true
        default: false
        }
    }

    /// True while the message being received has been refused and its data is dropped.
    public var isRefusingData: Bool {
        switch state {
        case .data(_, .some), .chunk(_, .some, _), .chunked(_, .some), .discardingChunk: true
        default: false
        }
    }

    /// True once a BDAT message is open: the next BDAT continues it.
    public var hasChunkedMessage: Bool {
        switch state {
        case .chunk, .chunked: true
        default: false
        }
    }

    /// True when nothing is in flight: a SIGTERM can close the session at once.
    public var isIdle: Bool {
        switch state {
        case .connected, .ready, .closed, .authenticating, .checkingCredentials: true
        default: false
        }
    }

    // MARK: Session events

    /// The greeting (RFC 5321 section 4.3.1).
    public func greeting() -> Action {
        .send(SMTPReply(220, nil, "\(configuration.hostname) ESMTP Postgate ready"))
    }

    /// The command timeout ran out (section 4.5.3.2).
    public mutating func timedOut() -> Action {
        state = .closed
        return .sendAndClose([SMTPReply(421, "4.4.2", "\(configuration.hostname) Timeout waiting for the client, closing")])
    }

    /// The server is shutting down: close now if idle, else after the transaction.
    public mutating func shutdownRequested() -> Action {
        guard isIdle else {
            shutdownPending = true
            return .nothing
        }
        state = .closed
        return .sendAndClose([Self.shuttingDown(configuration.hostname)])
    }

    /// The TLS handshake finished: the session starts again (RFC 3207 section 4.2).
    public mutating func tlsStarted() {
        session.tlsActive = true
        session.heloName = nil
        session.usedEHLO = false
        session.authenticatedUser = nil
        state = .connected
    }

    // MARK: Commands

    public mutating func receive(_ parsed: Result<SMTPCommand, SMTPReply>) -> Action {
        switch parsed {
        case .failure(let reply): return fail(reply)
        case .success(let command): return receive(command)
        }
    }

    /// A command line that was too long or had a bare CR or LF.
    public mutating func receiveMalformedLine(tooLong: Bool) -> Action {
        if isAwaitingAuthResponse { state = .ready }  // the AUTH exchange ends with the error
        return fail(tooLong
            ? SMTPReply(500, "5.5.2", "Line too long (limit \(configuration.maxCommandLineLength) octets)")
            : SMTPReply(500, "5.5.2", "Command lines must end in CRLF, without bare CR or LF"))
    }

    public mutating func receive(_ command: SMTPCommand) -> Action {
        if !command.isTransactionCommand, command != .quit {
            commandsWithoutMail += 1
            if commandsWithoutMail > configuration.maxCommandsBeforeMail {
                state = .closed
                return .sendAndClose([SMTPReply(421, "4.7.0", "Too many commands without a mail transaction, closing")])
            }
        }
        switch command {
        case .ehlo(let name): return hello(name, extended: true)
        case .helo(let name): return hello(name, extended: false)
        case .mail(let sender, let parameters): return mail(sender, parameters)
        case .rcpt(let recipient, _): return rcpt(recipient)
        case .data: return data()
        case .bdat(let size, let last): return bdat(size: size, last: last)
        case .malformedBDAT:
            state = .closed
            return .sendAndClose([SMTPReply(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]; the chunk cannot be skipped, closing")])
        case .rset:
            let wasChunked = hasChunkedMessage
            if state != .connected { state = .ready }
            return wasChunked ? .abortMessage(SMTPReply(250, "2.0.0", "Reset state")) : ok("Reset state")
        case .noop: return ok("Ok")
        case .quit:
            state = .closed
            return .sendAndClose([SMTPReply(221, "2.0.0", "\(configuration.hostname) closing connection")])
        case .vrfy:
            return .send(SMTPReply(252, "2.5.2", "Cannot VRFY a user, but will accept the message and attempt delivery"))
        case .help:
            let auth = configuration.mode == .submission ? " AUTH" : ""
            return .send(SMTPReply(214, "2.0.0", ["Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\(auth)", "See RFC 5321"]))
        case .startTLS: return startTLS()
        case .auth(let mechanism, let initialResponse): return auth(mechanism, initialResponse: initialResponse)
        case .notImplemented(let verb): return fail(SMTPReply(502, "5.5.1", "\(verb) is not implemented here"))
        }
    }

    private mutating func hello(_ name: String, extended: Bool) -> Action {
        let wasChunked = hasChunkedMessage
        session.heloName = name
        session.usedEHLO = extended
        state = .ready
        let greeting = "\(configuration.hostname) greets \(name)"
        var lines = [greeting]
        if extended {
            lines += ["PIPELINING", "SIZE \(configuration.maxMessageSize)", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"]
            if startTLSAvailable && !session.tlsActive { lines.append("STARTTLS") }
            if offersAuth { lines.append("AUTH " + SMTPAuthExchange.mechanisms.joined(separator: " ")) }
        }
        let reply = SMTPReply(250, nil, lines)
        return wasChunked ? .abortMessage(reply) : .send(reply)
    }

    private mutating func mail(_ sender: ReversePath, _ parameters: MailParameters) -> Action {
        switch state {
        case .connected: return fail(SMTPReply(503, "5.5.1", "Send EHLO or HELO first"))
        case .ready: break
        default: return fail(SMTPReply(503, "5.5.1", "Nested MAIL command: send RSET first"))
        }
        if let refusal = submissionRefusalOfMail() { return fail(refusal) }
        if let size = parameters.declaredSize, size > configuration.maxMessageSize {
            return fail(SMTPReply(552, "5.3.4", "Message size exceeds the fixed maximum of \(configuration.maxMessageSize) octets"))
        }
        commandsWithoutMail = 0
        let transaction = SMTPTransaction(sender: sender, parameters: parameters, session: session)
        if configuration.mode == .submission {
            state = .verifyingSender(transaction)
            return .verifySender(transaction)
        }
        state = .mail(transaction)
        return ok("Sender ok", "2.1.0")
    }

    private mutating func rcpt(_ recipient: EmailAddress) -> Action {
        guard case .mail(let transaction) = state else {
            return fail(SMTPReply(503, "5.5.1", "Send MAIL FROM first"))
        }
        guard transaction.recipients.count < configuration.maxRecipients else {
            return .send(SMTPReply(452, "4.5.3", "Too many recipients; send the others in another transaction"))
        }
        state = .verifying(transaction)
        return .verifyRecipient(recipient, transaction)
    }

    /// The delegate's verdict on the recipient of the last `verifyRecipient`.
    public mutating func recipientVerified(_ recipient: EmailAddress, _ verdict: RecipientVerdict) -> Action {
        guard case .verifying(var transaction) = state else { return .nothing }
        switch verdict {
        case .accept:
            transaction.recipients.append(recipient)
            state = .mail(transaction)
            return ok("Recipient ok", "2.1.5")
        case .reject(let reply):
            state = .mail(transaction)
            return fail(reply)
        }
    }

    private mutating func data() -> Action {
        if hasChunkedMessage { return fail(SMTPReply(503, "5.5.1", "DATA cannot follow BDAT in one transaction")) }
        guard case .mail(let transaction) = state else {
            return fail(SMTPReply(503, "5.5.1", state == .connected ? "Send EHLO or HELO first" : "Send MAIL FROM first"))
        }
        guard !transaction.recipients.isEmpty else {
            return fail(SMTPReply(554, "5.5.1", "No valid recipients"))
        }
        state = .opening(transaction)
        return .openMessage(transaction)
    }

    /// BDAT (RFC 3030 section 2): the framer takes the chunk whatever is answered here; a
    /// refused chunk is read and dropped and its reply sent at its end.
    private mutating func bdat(size: Int, last: Bool) -> Action {
        switch state {
        case .chunked(let transaction, let failure):
            state = .chunk(transaction, failure: failure, last: last)
            return .nothing
        case .mail(let transaction) where !transaction.recipients.isEmpty:
            commandsWithoutMail = 0
            state = .openingChunked(transaction, last: last)
            return .openChunkedMessage(transaction)
        case .mail(let transaction):
            return discardChunk(SMTPReply(554, "5.5.1", "No valid recipients"), then: .mail(transaction))
        case .connected:
            return discardChunk(SMTPReply(503, "5.5.1", "Send EHLO or HELO first"), then: .connected)
        default:
            return discardChunk(SMTPReply(503, "5.5.1", "Send MAIL FROM first"), then: .ready)
        }
    }

    private mutating func discardChunk(_ reply: SMTPReply, then stage: SessionStage) -> Action {
        state = .discardingChunk(reply: reply, then: stage)
        return .nothing
    }

    /// The message writer is ready (or could not be made).
    public mutating func messageOpened(_ result: Result<Void, SMTPReply>) -> Action {
        switch (state, result) {
        case (.opening(let transaction), .success):
            state = .data(transaction, failure: nil)
            return .send(SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>"))
        case (.openingChunked(let transaction, let last), .success):
            state = .chunk(transaction, failure: nil, last: last)
            return .nothing
        case (.openingChunked(let transaction, _), .failure(let reply)):
            // The chunk is still to be read; the failure is answered at its end.
            state = .discardingChunk(reply: reply, then: .mail(transaction))
            return .nothing
        case (.opening, .failure(let reply)):
            state = .ready
            return fail(reply)
        default:
            return .nothing
        }
    }

    /// The BDAT chunk has been read whole.
    public mutating func endOfChunk() -> Action {
        switch state {
        case .chunk(let transaction, let failure, last: false):
            state = .chunked(transaction, failure: failure)
            return ok("Chunk received", "2.0.0")
        case .chunk(_, let failure?, last: true):
            state = .ready
            return finishTransaction(fail(failure))
        case .chunk(let transaction, nil, last: true):
            state = .committing(transaction)
            return .commitMessage(transaction)
        case .discardingChunk(let reply, let stage):
            state = stage.state
            return fail(reply)
        default:
            return .nothing
        }
    }

    private mutating func startTLS() -> Action {
        guard startTLSAvailable else { return fail(SMTPReply(502, "5.5.1", "STARTTLS is not offered here")) }
        guard !session.tlsActive else { return fail(SMTPReply(503, "5.5.1", "TLS is already active")) }
        guard state == .ready || state == .connected else {
            return fail(SMTPReply(503, "5.5.1", "STARTTLS is not allowed inside a mail transaction"))
        }
        return .startTLS(SMTPReply(220, "2.0.0", "Ready to start TLS"))
    }

    // MARK: Message data

    /// Counts received message octets; returns false once the message is refused and
    /// further data must be dropped instead of written.
    public mutating func receiveData(totalSize: Int) -> Bool {
        switch state {
        case .data(_, nil), .chunk(_, nil, _): break
        default: return false
        }
        if totalSize > configuration.maxMessageSize {
            refuseMessage(SMTPReply(552, "5.3.4", "Message size exceeds the fixed maximum of \(configuration.maxMessageSize) octets"))
            return false
        }
        return true
    }

    /// A limit inside the message was passed; the message will be refused at its end, and
    /// the handler drops what it has written so far.
    public mutating func receiveDataLimit(_ frame: SMTPInboundFramer.Frame) {
        switch frame {
        case .dataLineTooLong:
            refuseMessage(SMTPReply(552, "5.3.4", "Message has a line longer than \(configuration.maxLineLength) octets (RFC 5321 section 4.5.3.1.6)"))
        case .headerTooLarge:
            refuseMessage(SMTPReply(552, "5.3.4", "Message header section exceeds \(configuration.maxHeaderSize) octets"))
        default:
            break
        }
    }

    /// Refuses the message being received with `reply`, sent once its data has ended. The
    /// first refusal wins.
    public mutating func refuseMessage(_ reply: SMTPReply) {
        switch state {
        case .data(let transaction, nil): state = .data(transaction, failure: reply)
        case .chunk(let transaction, nil, let last): state = .chunk(transaction, failure: reply, last: last)
        default: break
        }
    }

    /// A bare CR or LF inside a BDAT chunk: the message is refused at its end; the chunk
    /// lengths keep the framing intact, so the session goes on.
    public mutating func receiveBareLineEndingInChunk() {
        refuseMessage(SMTPReply(550, "5.6.0", "Message refused: bare CR or LF in message data is not allowed (RFC 5321 section 2.3.8)"))
    }

    /// A bare CR or LF in the data: refuse and close, so nothing after it is ever read as
    /// a command (SMTP smuggling, RFC 5321 section 2.3.8).
    public mutating func receiveBareLineEndingInData() -> Action {
        state = .closed
        return .sendAndClose([SMTPReply(554, "5.5.2", "Message refused: bare CR or LF in message data is not allowed (RFC 5321 section 2.3.8)")])
    }

    /// `CRLF.CRLF` arrived.
    public mutating func endOfData() -> Action {
        guard case .data(let transaction, let failure) = state else { return .nothing }
        if let failure {
            state = .ready
            return finishTransaction(fail(failure))
        }
        state = .committing(transaction)
        return .commitMessage(transaction)
    }

    /// The store's answer: durable (with an id for the reply), or not.
    public mutating func messageCommitted(_ result: Result<String, SMTPReply>) -> Action {
        guard case .committing = state else { return .nothing }
        state = .ready
        switch result {
        case .success(let id): return finishTransaction(.send(SMTPReply(250, "2.0.0", "Ok: queued as \(id)")))
        case .failure(let reply): return finishTransaction(fail(reply))
        }
    }

    /// After a transaction, a pending shutdown closes the session.
    private mutating func finishTransaction(_ action: Action) -> Action {
        guard shutdownPending, case .send(let reply) = action else { return action }
        state = .closed
        return .sendAndClose([reply, Self.shuttingDown(configuration.hostname)])
    }

    // MARK: Replies

    func ok(_ text: String, _ code: String = "2.0.0") -> Action {
        .send(SMTPReply(250, code, text))
    }

    /// A failed command: counted against the session's error limit (section 4.5.3.1 lets
    /// a server close sessions that misbehave).
    mutating func fail(_ reply: SMTPReply) -> Action {
        errors += 1
        guard errors >= configuration.maxErrors else { return .send(reply) }
        state = .closed
        return .sendAndClose([reply, SMTPReply(421, "4.7.0", "Too many errors, closing connection")])
    }

    private static func shuttingDown(_ hostname: String) -> SMTPReply {
        SMTPReply(421, "4.3.2", "\(hostname) Service shutting down, try again later")
    }
}
