import Logging
import NIOCore
import NIOSSL
import NIOTLS
import PostgateListener
import PostgateMessage

/// The channel handler of one SMTP server session: a thin shell that feeds received bytes
/// through `SMTPInboundFramer` into `SMTPServerStateMachine` and carries out the actions it
/// returns (writing replies, asking the delegate, starting TLS, streaming the message).
///
/// Commands are taken strictly in order: while an asynchronous step (a recipient lookup, a
/// disk write, the final commit) is in flight, no further frame is processed and, once a
/// bounded amount is buffered, no further bytes are read. Memory per session therefore
/// stays bounded however fast a client pipelines or however large its message is.
public final class SMTPServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = Never
    public typealias OutboundIn = Never
    public typealias OutboundOut = ByteBuffer

    /// Bytes buffered beyond which reading pauses until processing catches up.
    private static let maxBufferedBytes = 256 * 1024

    private let delegate: any SMTPServerDelegate
    private let tlsContext: NIOSSLContext?
    private let logger: Logger
    private let metrics: SMTPMetrics
    private var stateMachine: SMTPServerStateMachine
    private var framer: SMTPInboundFramer

    private var writer: (any SMTPMessageWriter)?
    private var headerBytes = ByteBuffer()
    private var headerComplete = false
    private var messageSize = 0

    /// An asynchronous step is in flight: frames wait.
    private var paused = false
    /// Reading was asked for while paused; forward it on resume.
    private var readPending = false
    /// Between the 220 to STARTTLS and the TLS handler: clear-text bytes are dropped.
    private var awaitingTLS = false
    /// The TLS handler is handshaking: reads must flow although frames are paused.
    private var tlsHandshaking = false
    private var closing = false
    /// When the client must have sent the command line, or the message data, it owes
    /// (RFC 5321 section 4.5.3.2), on the event loop's clock (`eventLoop.now`). Bytes do not
    /// move it: a command line or a message must arrive whole in time (or, for data, at
    /// `minDataRate`), however slowly it trickles.
    private var deadline = NIODeadline.uptimeNanoseconds(0)
    /// A command or a message ended: the next deadline starts once the server has answered it.
    private var deadlineRestartPending = false
    /// When the current asynchronous step began: time the server works is not the client's.
    private var pausedAt: NIODeadline?
    private var timeoutTask: Scheduled<Void>?
    /// What the replies being sent answer, to tell refusals apart.
    private var refusalContext = SMTPRefusalReason.Context.other
    /// When the current transaction's MAIL command arrived (monotonic clock).
    private var transactionStartedAt: NIODeadline?

    public init(
        configuration: SMTPServerConfiguration,
        delegate: any SMTPServerDelegate,
        tlsContext: NIOSSLContext?,
        session: SMTPSessionInfo,
        metrics: SMTPMetrics = .disabled,
        logger: Logger = Logger(label: "postgate.smtp")
    ) {
        self.delegate = delegate
        self.metrics = metrics
        self.tlsContext = tlsContext
        self.logger = logger
        self.stateMachine = SMTPServerStateMachine(configuration: configuration, session: session, startTLSAvailable: tlsContext != nil)
        self.framer = SMTPInboundFramer(maxLineLength: configuration.maxLineLength, maxHeaderSize: configuration.maxHeaderSize,
                                        maxCommandLineLength: configuration.maxCommandLineLength)
    }

    // MARK: Channel events

    public func channelActive(context: ChannelHandlerContext) {
        metrics.sessionsOpened.increment()
        restartDeadline(context: context)
        perform(stateMachine.greeting(), context: context)
        context.flush()
        scheduleTimeout(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        metrics.sessionsClosed.increment()
        closing = true
        timeoutTask?.cancel()
        abortMessage()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, !awaitingTLS else { return }
        framer.append(unwrapInboundIn(data))
        process(context: context)
    }

    public func read(context: ChannelHandlerContext) {
        if tlsHandshaking {
            context.read()
        } else if paused || framer.bufferedBytes > Self.maxBufferedBytes {
            readPending = true
        } else {
            context.read()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Only a STARTTLS handshake starts the session over; an implicit-TLS listener's
        // session began as TLS (`SMTPSessionInfo.tlsActive`).
        if case .handshakeCompleted = event as? TLSUserEvent, tlsHandshaking {
            tlsHandshaking = false
            stateMachine.tlsStarted()
            logger.debug("TLS started", metadata: ["client": "\(stateMachine.session.remoteAddress)"])
            resume(context: context)
        } else if event is ChannelShouldQuiesceEvent {
            perform(stateMachine.shutdownRequested(), context: context)
            context.flush()
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("SMTP session error: \(error)", metadata: ["client": "\(stateMachine.session.remoteAddress)"])
        context.close(promise: nil)
    }

    // MARK: Frames

    private func process(context: ChannelHandlerContext) {
        while !paused, !closing, let frame = framer.next() {
            handle(frame, context: context)
            if !paused, deadlineRestartPending { restartDeadline(context: context) }
        }
        context.flush()
        if !paused, readPending, framer.bufferedBytes <= Self.maxBufferedBytes {
            readPending = false
            context.read()
        }
    }

    private func handle(_ frame: SMTPInboundFramer.Frame, context: ChannelHandlerContext) {
        switch frame {
        case .command, .commandLineTooLong, .commandBareLineEnding, .endOfData, .endOfChunk, .bareLineEndingInData:
            deadlineRestartPending = true
        case .data(let chunk):
            extendDeadline(receiving: chunk.readableBytes)
        case .endOfHeader, .headerTooLarge, .dataLineTooLong, .bareLineEndingInChunk:
            break
        }
        refusalContext = .other
        switch frame {
        case .command(let line) where stateMachine.isAwaitingAuthResponse:
            perform(stateMachine.receiveAuthResponse(line), context: context)
        case .command(let line):
            let parsed = SMTPCommandParser.parse(line)
            switch parsed {
            case .success(.bdat(let size, _)):
                // The chunk is read whatever the answer, so its data is never a command.
                framer.beginChunk(size: size, newMessage: !stateMachine.hasChunkedMessage)
                refusalContext = .messageData
            case .success(.mail):
                transactionStartedAt = .now()
            case .success(.rcpt):
                refusalContext = .recipient
            default:
                break
            }
            perform(stateMachine.receive(parsed), context: context)
        case .commandLineTooLong:
            perform(stateMachine.receiveMalformedLine(tooLong: true), context: context)
        case .commandBareLineEnding:
            refusalContext = .bareLineEnding
            perform(stateMachine.receiveMalformedLine(tooLong: false), context: context)
        case .data(let chunk):
            receiveData(chunk, context: context)
        case .endOfHeader:
            headerComplete = true
        case .headerTooLarge, .dataLineTooLong:
            stateMachine.receiveDataLimit(frame)
            if stateMachine.isRefusingData { abortMessage() }
        case .endOfData:
            refusalContext = .messageData
            performEndOfMessage(stateMachine.endOfData(), context: context)
        case .bareLineEndingInData:
            abortMessage()
            refusalContext = .bareLineEnding
            performEndOfMessage(stateMachine.receiveBareLineEndingInData(), context: context)
        case .bareLineEndingInChunk:
            stateMachine.receiveBareLineEndingInChunk()
            abortMessage()
        case .endOfChunk:
            refusalContext = .messageData
            performEndOfMessage(stateMachine.endOfChunk(), context: context)
        }
    }

    /// Carries out the answer to the end of message data (or of a chunk), counting the
    /// transaction as refused when it is a refusal; a commit is counted when it completes.
    private func performEndOfMessage(_ action: SMTPServerStateMachine.Action, context: ChannelHandlerContext) {
        let refusal: SMTPReply? = switch action {
        case .send(let reply): reply
        case .sendAndClose(let replies): replies.first
        default: nil
        }
        if let refusal, !refusal.isPositive { metrics.transactions[.refused]?.increment() }
        perform(action, context: context)
    }

    private func receiveData(_ chunk: ByteBuffer, context: ChannelHandlerContext) {
        messageSize += chunk.readableBytes
        guard stateMachine.receiveData(totalSize: messageSize), let writer else {
            abortMessage()
            return
        }
        if !headerComplete {
            var head = chunk
            let room = stateMachine.configuration.maxHeaderSize - headerBytes.readableBytes
            if room > 0, let slice = head.readSlice(length: min(room, head.readableBytes)) {
                headerBytes.writeImmutableBuffer(slice)
            }
        }
        guard let backpressure = writer.write(chunk) else { return }
        pause(context: context)
        backpressure.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            if case .failure(let error) = result {
                self.logger.error("writing a message failed: \(error)")
                self.stateMachine.refuseMessage(Self.reply(for: error))
                self.abortMessage()
            }
            self.resume(context: context)
        }
    }

    // MARK: Actions

    private func perform(_ action: SMTPServerStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .nothing:
            break
        case .send(let reply):
            send(reply, context: context)
        case .sendAndClose(let replies):
            closing = true
            abortMessage()
            replies.forEach { send($0, context: context) }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
            // A client that does not read its last reply does not keep the connection.
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(stateMachine.configuration.commandTimeout)) {
                context.close(promise: nil)
            }
        case .verifyRecipient(let recipient, let transaction):
            verify(recipient, transaction, context: context)
        case .openMessage(let transaction):
            open(transaction, chunked: false, context: context)
        case .openChunkedMessage(let transaction):
            open(transaction, chunked: true, context: context)
        case .abortMessage(let reply):
            abortMessage()
            send(reply, context: context)
        case .commitMessage:
            commit(context: context)
        case .startTLS(let reply):
            startTLS(reply, context: context)
        case .authenticate(let credentials):
            let question = delegate.authenticate(credentials, session: stateMachine.session, eventLoop: context.eventLoop)
            ask(question, orElse: AuthenticationVerdict.rejected, context: context) { $0.stateMachine.credentialsChecked($1) }
        case .verifySender(let transaction):
            let question = delegate.verifySender(in: transaction, eventLoop: context.eventLoop)
            ask(question, orElse: SenderVerdict.reject, context: context) { $0.stateMachine.senderVerified($1) }
        }
    }

    private func send(_ reply: SMTPReply, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        reply.write(to: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
        if reply.code >= 400 {
            let reason = SMTPRefusalReason(reply: reply, context: refusalContext, tlsActive: stateMachine.session.tlsActive)
            metrics.refusals[reason]?.increment()
            logger.debug("SMTP reply \(reply)", metadata: ["client": "\(stateMachine.session.remoteAddress)"])
        }
    }

    private func verify(_ recipient: EmailAddress, _ transaction: SMTPTransaction, context: ChannelHandlerContext) {
        let question = delegate.verifyRecipient(recipient, in: transaction, eventLoop: context.eventLoop)
        ask(question, orElse: RecipientVerdict.reject, context: context) { $0.stateMachine.recipientVerified(recipient, $1) }
    }

    /// Pauses frames while the delegate answers, then feeds the answer (a failed future
    /// becomes `failure` of its reply) to the state machine through `next` and carries out
    /// what it says.
    private func ask<Answer: Sendable>(
        _ question: EventLoopFuture<Answer>, orElse failure: @escaping (SMTPReply) -> Answer, context: ChannelHandlerContext,
        next: @escaping (SMTPServerHandler, Answer) -> SMTPServerStateMachine.Action
    ) {
        pause(context: context)
        question.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            let answer: Answer
            switch result {
            case .success(let value): answer = value
            case .failure(let error): answer = failure(Self.reply(for: error))
            }
            self.perform(next(self, answer), context: context)
            self.resume(context: context)
        }
    }

    /// Opens the writer. For DATA the framer switches to data mode with the 354; for BDAT it
    /// is in chunk mode already.
    private func open(_ transaction: SMTPTransaction, chunked: Bool, context: ChannelHandlerContext) {
        pause(context: context)
        delegate.openMessage(for: transaction, eventLoop: context.eventLoop)
            .hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                switch result {
                case .success(let writer):
                    self.writer = writer
                    self.headerBytes.clear()
                    self.headerComplete = false
                    self.messageSize = 0
                    if !chunked { self.framer.beginData() }
                    self.perform(self.stateMachine.messageOpened(.success(())), context: context)
                case .failure(let error):
                    self.perform(self.stateMachine.messageOpened(.failure(Self.reply(for: error))), context: context)
                }
                self.resume(context: context)
            }
    }

    private func commit(context: ChannelHandlerContext) {
        guard let writer else {
            perform(stateMachine.messageCommitted(.failure(SMTPReply(451, "4.3.0", "Local error: no message open"))), context: context)
            return
        }
        self.writer = nil
        pause(context: context)
        let header = MessageHeader.parse(headerBytes.readableBytesView)
        headerBytes = ByteBuffer()
        let commitStartedAt = NIODeadline.now()
        writer.commit(header: header).hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            let outcome = result.mapError { Self.reply(for: $0) }
            switch outcome {
            case .success:
                let now = NIODeadline.now()
                self.metrics.transactions[.accepted]?.increment()
                self.metrics.commitDuration.recordNanoseconds((now - commitStartedAt).nanoseconds)
                if let started = self.transactionStartedAt {
                    self.metrics.transactionDuration.recordNanoseconds((now - started).nanoseconds)
                }
            case .failure(let reply):
                self.metrics.transactions[.failed]?.increment()
                self.logger.error("storing a message failed: \(reply)")
            }
            self.perform(self.stateMachine.messageCommitted(outcome), context: context)
            self.resume(context: context)
        }
    }

    /// RFC 3207 section 4.2: after the 220, every byte received in clear text is dropped,
    /// and the session starts over once the handshake is done.
    private func startTLS(_ reply: SMTPReply, context: ChannelHandlerContext) {
        guard let tlsContext else { return }
        pause(context: context)
        awaitingTLS = true
        framer.discardBufferedBytes()
        send(reply, context: context)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { result in
            guard case .success = result, !self.closing else {
                context.close(promise: nil)
                return
            }
            self.framer.discardBufferedBytes()
            self.awaitingTLS = false
            self.tlsHandshaking = true
            do {
                let tls = NIOSSLServerHandler(context: tlsContext)
                try context.pipeline.syncOperations.addHandler(tls, position: .first)
                let timeout = TimeAmount.seconds(self.stateMachine.configuration.tlsHandshakeTimeout)
                try context.pipeline.syncOperations.addHandler(TLSHandshakeDeadlineHandler(timeout: timeout), position: .after(tls))
            } catch {
                context.close(promise: nil)
                return
            }
            // Reading must go on for the handshake; frames stay paused until it completes.
            context.read()
        }
    }

    // MARK: Flow control

    /// Stops taking frames until `resume`. Replies written so far are flushed when the
    /// frame loop ends (`process`), so the replies to pipelined commands answered at once
    /// leave in one write (RFC 2920 section 3.2), as they would from a server answering them
    /// all before it flushes.
    private func pause(context: ChannelHandlerContext) {
        if !paused { pausedAt = context.eventLoop.now }
        paused = true
    }

    private func resume(context: ChannelHandlerContext) {
        paused = false
        if let pausedAt, !deadlineRestartPending { deadline = deadline + (context.eventLoop.now - pausedAt) }
        pausedAt = nil
        if deadlineRestartPending { restartDeadline(context: context) }
        scheduleTimeout(context: context)
        process(context: context)
    }

    private func abortMessage() {
        writer?.abort()
        writer = nil
    }

    private static func reply(for error: any Error) -> SMTPReply {
        (error as? SMTPReply) ?? SMTPReply(451, "4.3.0", "Local error in processing, try again later")
    }

    // MARK: Timeouts (RFC 5321 section 4.5.3.2)

    /// The client owes the next command line, or the data of the message just started.
    private func restartDeadline(context: ChannelHandlerContext) {
        deadlineRestartPending = false
        let configuration = stateMachine.configuration
        deadline = context.eventLoop.now + .seconds(stateMachine.isReceivingData ? configuration.dataTimeout : configuration.commandTimeout)
    }

    /// Message data arrived: one more second per `minDataRate` octets.
    private func extendDeadline(receiving octets: Int) {
        let rate = max(1, stateMachine.configuration.minDataRate)
        deadline = deadline + .nanoseconds(Int64(octets) * 1_000_000_000 / Int64(rate))
    }

    private func scheduleTimeout(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.checkTimeout(context: context)
        }
    }

    /// While the server works (paused) or TLS is being set up, the client owes nothing:
    /// `resume` arms the timer again, and the handshake has a deadline of its own.
    private func checkTimeout(context: ChannelHandlerContext) {
        guard !closing, !paused, !awaitingTLS, !tlsHandshaking else { return }
        if context.eventLoop.now >= deadline {
            perform(stateMachine.timedOut(), context: context)
            context.flush()
        } else {
            scheduleTimeout(context: context)
        }
    }
}
