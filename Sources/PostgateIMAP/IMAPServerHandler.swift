#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import PostgateListener
import PostgateStore
import PostgateIndex
import Synchronization

/// The channel handler of one IMAP session: a thin shell that feeds received bytes through
/// `IMAPFrameDecoder` into `IMAPSessionStateMachine`, runs the store work it asks for on a
/// thread pool, and writes the responses.
///
/// One command runs at a time: while store work is in flight no further frame is taken
/// and, past a bounded buffer, nothing more is read, so memory per session stays bounded.
/// An APPEND's message streams to a spool file on the thread pool as it arrives, one write
/// at a time: while one runs and the next piece is full, nothing more is read either.
public final class IMAPServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = Never
    public typealias OutboundIn = Never
    public typealias OutboundOut = ByteBuffer

    private let executor: IMAPCommandExecutor<MailStore>
    private let threadPool: NIOThreadPool
    private let authThreadPool: NIOThreadPool
    private let tlsContext: NIOSSLContext?
    private let throttle: LoginThrottle
    private let clientIP: String
    private let logger: Logger
    private var stateMachine: IMAPSessionStateMachine
    private var decoder: IMAPFrameDecoder

    private var paused = false
    private var readPending = false
    private var awaitingTLS = false
    private var tlsHandshaking = false
    private var closing = false
    private var shutdownRequested = false
    private var observation: MailboxChangeFeed.ObservationToken?
    /// The periodic look at the idling session's mailbox (`idleCheckInterval`).
    private var idleCheck: RepeatedTask?
    private let idleCheckInterval: Int64
    /// When the last command (or piece of an APPEND message) arrived whole, or the last
    /// store work ended; bytes of an unfinished command do not count.
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    private var connectedAt = NIODeadline.uptimeNanoseconds(0)
    private var timeoutTask: Scheduled<Void>?
    /// Armed while the socket does not take what is written (the client does not read):
    /// closes the connection after `sendTimeout`.
    private var sendDeadline: Scheduled<Void>?

    /// The APPEND message being received (RFC 9051 section 6.3.12), its octets not yet
    /// handed to the thread pool, and the write running there (and its size).
    private var upload: IMAPAppendUpload<MailStore>?
    private var uploadPending = ByteBuffer()
    private var uploadWrite: EventLoopFuture<Void>?
    private var uploadWriteBytes = 0
    /// The most octets of client input this session held at once: in the decoder, and
    /// of a message on its way to its spool file.
    private(set) var peakBufferedBytes = 0

    /// Bounds the commands of one agent running at once, shared by all connections.
    private let workGate: IMAPWorkGate?

    private let metrics: IMAPMetrics

    /// Octets of an APPEND message gathered before they go to the spool file in one write.
    static let uploadChunkSize = 256 * 1024

    /// - Parameters:
    ///   - threadPool: runs the commands' store work.
    ///   - authThreadPool: runs password checks (slow on purpose); its size bounds how many
    ///     run at once. Nil: `threadPool`.
    ///   - implicitTLS: the connection came in on the IMAPS port, TLS already running.
    public init(
        configuration: IMAPServerConfiguration, store: MailStore, threadPool: NIOThreadPool, authThreadPool: NIOThreadPool? = nil,
        tlsContext: NIOSSLContext?, implicitTLS: Bool, throttle: LoginThrottle, clientIP: String,
        workGate: IMAPWorkGate? = nil, metrics: IMAPMetrics = .disabled, logger: Logger = Logger(label: "postgate.imap")
    ) {
        self.executor = IMAPCommandExecutor(store: store, logger: logger)
        self.idleCheckInterval = configuration.idleCheckInterval
        self.metrics = metrics
        self.workGate = workGate
        self.threadPool = threadPool
        self.authThreadPool = authThreadPool ?? threadPool
        self.tlsContext = tlsContext
        self.throttle = throttle
        self.clientIP = clientIP
        self.logger = logger
        self.stateMachine = IMAPSessionStateMachine(
            configuration: configuration, tlsAvailable: tlsContext != nil && !implicitTLS, tlsActive: implicitTLS)
        // A literal other than an APPEND's message is an argument, held in memory: bounded
        // as a line is, and to a few KiB before login. The message streams to a spool file,
        // up to `maxLiteralSize`.
        self.decoder = IMAPFrameDecoder(maxLineLength: configuration.maxLineLength,
                                        maxLiteralSize: min(configuration.maxLineLength, IMAPServerConfiguration.maxLiteralBeforeLogin),
                                        maxLiterals: IMAPServerConfiguration.maxLiteralsBeforeLogin)
    }

    // MARK: Channel events

    public func channelActive(context: ChannelHandlerContext) {
        metrics.connectionsOpened.increment()
        lastActivity = context.eventLoop.now
        connectedAt = lastActivity
        perform(stateMachine.greeting(), context: context)
        context.flush()
        scheduleTimeout(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        metrics.connectionsClosed.increment()
        closing = true
        timeoutTask?.cancel()
        sendDeadline?.cancel()
        stopObserving()
        discardUpload(context: context)
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, !awaitingTLS else { return }
        decoder.append(unwrapInboundIn(data))
        noteBuffered()
        process(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if decoder.bufferedBytes > 0 || upload != nil { acknowledgeNow(context: context) }
        context.fireChannelReadComplete()
    }

    /// The client is in the middle of a command (a literal, or the rest of the line after
    /// one): acknowledge what arrived now. Otherwise the kernel delays the ACK (up to 40 ms)
    /// and a client with Nagle's algorithm holds back its next small segment (the CRLF
    /// after an APPEND literal) until then. Dovecot does the same after its reads.
    private func acknowledgeNow(context: ChannelHandlerContext) {
        #if canImport(Glibc)
        try? context.channel.syncOptions?.setOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_QUICKACK)), value: 1)
        #endif
    }

    /// A client that does not read what is sent to it gets no more commands taken, and is
    /// closed if it still has not read after `sendTimeout`.
    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            sendDeadline?.cancel()
            sendDeadline = nil
            if readPending, !paused, !uploadBackedUp {
                readPending = false
                context.read()
            }
        } else if sendDeadline == nil {
            let timeout = TimeAmount.seconds(stateMachine.configuration.sendTimeout)
            sendDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                self.logger.notice("IMAP client not reading; closing", metadata: ["client": "\(self.clientIP)"])
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    public func read(context: ChannelHandlerContext) {
        if tlsHandshaking {
            context.read()
        } else if paused || uploadBackedUp || !context.channel.isWritable {
            // A command is running, or an APPEND message piece waits for the write before
            // it: take nothing more until it is done. Otherwise the decoder's own limits
            // (line length, literal size) bound what is buffered.
            readPending = true
        } else {
            context.read()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            tlsHandshaking = false
            stateMachine.tlsStarted()
            decoder.reset()
            resume(context: context)
        } else if event is ChannelShouldQuiesceEvent {
            shutdownRequested = true
            if !paused { shutdown(context: context) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("IMAP session error: \(error)", metadata: ["client": "\(clientIP)"])
        context.close(promise: nil)
    }

    // MARK: Frames

    private func process(context: ChannelHandlerContext) {
        while !paused, !closing, !uploadBackedUp, let event = decoder.next() {
            lastActivity = context.eventLoop.now
            let action = stateMachine.receive(event)
            // A command that ended other than as the APPEND its messages were received for
            // (a syntax error, a line or literal too long, say) drops what was received; so
            // does the first message of another APPEND, should any be left.
            switch event {
            case .frame, .lineTooLong, .literalTooLarge:
                if upload != nil, !action.runsAppend { discardUpload(context: context) }
            case .messageLiteral(let head, _, _) where !head.parts.contains(where: \.isStreamed):
                discardUpload(context: context)
            default:
                break
            }
            perform(action, context: context)
        }
        context.flush()
        if !paused, !uploadBackedUp, readPending {
            readPending = false
            context.read()
        }
    }

    private func perform(_ action: IMAPSessionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .nothing:
            break
        case .send(let bytes):
            write(bytes, context: context)
        case .sendAndClose(let bytes):
            closing = true
            stopObserving()
            write(bytes, context: context)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .startTLS(let bytes):
            startTLS(bytes, context: context)
        case .authenticate(let tag, let user, let password):
            authenticate(tag, user: user, password: password, context: context)
        case .execute(let command, let sessionContext):
            stopObserving()
            execute(command, sessionContext, context: context)
        case .startIdle(let bytes):
            write(bytes, context: context)
            context.flush()
            startObserving(context: context)
        case .receiveMessage(let bytes):
            decoder.streamMessageLiteral()
            if upload == nil {
                upload = IMAPAppendUpload(store: executor.store)
            } else {
                startNextUploadMessage(context: context)
            }
            write(bytes, context: context)
        case .refuseMessage(let bytes):
            // The whole command is refused, with the messages of a MULTIAPPEND received so far.
            decoder.refuseMessageLiteral()
            discardUpload(context: context)
            write(bytes, context: context)
        case .storeMessageData(var bytes):
            uploadPending.writeBuffer(&bytes)
            noteBuffered()
            if uploadWrite == nil, uploadPending.readableBytes >= Self.uploadChunkSize { startUploadWrite(context: context) }
        }
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        guard !bytes.isEmpty else { return }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    private func execute(_ command: IMAPTaggedCommand, _ sessionContext: IMAPSessionContext, context: ChannelHandlerContext) {
        pause(context: context)
        let executor = self.executor
        let emit = chunkWriter(context: context)
        // An APPEND runs once its message's last piece is written after the others.
        let upload = self.upload
        let last = takeUploadPending()
        self.upload = nil
        let threadPool = self.threadPool
        let previous = uploadWrite ?? context.eventLoop.makeSucceededVoidFuture()
        let (gate, agent) = (workGate, sessionContext.agent.id)
        let turn = gate?.enter(agent: agent, eventLoop: context.eventLoop) ?? context.eventLoop.makeSucceededVoidFuture()
        let (startedAt, duration) = (NIODeadline.now(), metrics.commandDuration[IMAPMetrics.Command(command.command)])
        // The turn is handed back once the command ended, whatever happened to it.
        turn.flatMap { previous }.flatMapWithEventLoop { _, loop in
            threadPool.runIfActive(eventLoop: loop) {
                upload?.write(last)
                return executor.execute(command, context: sessionContext, upload: upload, emit: emit)
            }
        }.always { _ in gate?.leave(agent: agent) }.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            duration?.recordNanoseconds((NIODeadline.now() - startedAt).nanoseconds)
            switch result {
            case .success(let output):
                self.perform(self.stateMachine.executed(output), context: context)
            case .failure(let error):
                self.logger.error("IMAP command failed: \(error)")
                var w = IMAPResponseWriter()
                w.tagged(command.tag, .no, code: "UNAVAILABLE", "Server busy, try again")
                self.perform(self.stateMachine.executed(IMAPExecutionResult(output: w.bytes, selected: sessionContext.selected)), context: context)
            }
            self.resume(context: context)
        }
    }

    /// Sends a piece of a long response from the thread pool and waits until the socket
    /// took the piece before it, so a FETCH of a whole mailbox never sits in memory at once
    /// (at most two pieces wait to be sent), while the next piece is made as one is sent.
    ///
    /// A client that leaves a piece unread for `sendTimeout` is disconnected: the write
    /// fails, and the thread waiting for it goes on (the rest of the response fails at once).
    private func chunkWriter(context: ChannelHandlerContext) -> @Sendable ([UInt8]) -> Void {
        let loop = context.eventLoop
        let boundContext = NIOLoopBound(context, eventLoop: loop)
        let boundSelf = NIOLoopBound(self, eventLoop: loop)
        let previous = PreviousPiece()
        let sendTimeout = TimeAmount.seconds(stateMachine.configuration.sendTimeout)
        return { bytes in
            let sent = loop.flatSubmit {
                let context = boundContext.value
                let written = context.writeAndFlush(boundSelf.value.wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)))
                let deadline = loop.assumeIsolated().scheduleTask(in: sendTimeout) {
                    boundSelf.value.logger.notice("IMAP client not reading; closing", metadata: ["client": "\(boundSelf.value.clientIP)"])
                    context.close(promise: nil)
                }
                written.whenComplete { _ in deadline.cancel() }
                return written
            }
            let before = previous.sent.withLock { last in
                defer { last = sent }
                return last
            }
            try? before?.wait()
        }
    }

    /// Checks a login on the password-check pool, counted by the throttle from its start.
    private func authenticate(_ tag: String, user: String, password: String, context: ChannelHandlerContext) {
        pause(context: context)
        throttle.admit(address: clientIP, account: user, eventLoop: context.eventLoop).assumeIsolated().whenSuccess { attempt in
            guard let attempt else {
                self.perform(self.stateMachine.loginFinished(tag: tag, agent: nil, refusal: "Too many failed logins; try again later"),
                             context: context)
                self.resume(context: context)
                return
            }
            self.check(tag, user: user, password: password, attempt: attempt, context: context)
        }
    }

    private func check(_ tag: String, user: String, password: String, attempt: LoginThrottle.Attempt, context: ChannelHandlerContext) {
        let store = executor.store
        PasswordCheck.run(cached: { try store.authenticateFromCache(agent: user, password: password) },
                          full: { try store.authenticate(agent: user, password: password) },
                          lookupPool: threadPool, checkPool: authThreadPool, eventLoop: context.eventLoop)
            .hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            // A store that cannot check the password is not a wrong password: no delay, no
            // lockout count, and UNAVAILABLE (RFC 5530 section 3).
            guard case .success(let agent) = result else {
                self.throttle.finish(attempt, .notChecked)
                if case .failure(let error) = result { self.logger.error("IMAP login not checked: \(error)") }
                self.perform(self.stateMachine.loginFinished(tag: tag, agent: nil, refusal: "Cannot check credentials now; try again later"),
                             context: context)
                self.resume(context: context)
                return
            }
            guard agent == nil else {
                self.throttle.finish(attempt, .succeeded)
                // Past login, literals may be as large as a line.
                self.decoder.maxLiteralSize = self.stateMachine.configuration.maxLineLength
                self.decoder.maxLiterals = IMAPFrameDecoder.defaultMaxLiterals
                self.perform(self.stateMachine.loginFinished(tag: tag, agent: agent), context: context)
                self.resume(context: context)
                return
            }
            self.throttle.finish(attempt, .failed)
            self.logger.notice("IMAP login failed", metadata: ["client": "\(self.clientIP)", "user": "\(user.prefix(64))"])
            let delay = TimeAmount.milliseconds(self.stateMachine.configuration.failedLoginDelay)
            context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                self.perform(self.stateMachine.loginFinished(tag: tag, agent: nil), context: context)
                self.resume(context: context)
            }
        }
    }

    /// RFC 9051 section 6.2.1: after the OK, bytes sent in clear text are dropped and the
    /// session continues over TLS.
    private func startTLS(_ bytes: [UInt8], context: ChannelHandlerContext) {
        guard let tlsContext else { return }
        pause(context: context)
        awaitingTLS = true
        decoder.reset()
        write(bytes, context: context)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { result in
            guard case .success = result, !self.closing else {
                context.close(promise: nil)
                return
            }
            self.decoder.reset()
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
            context.read()
        }
    }

    // MARK: IDLE

    private func startObserving(context: ChannelHandlerContext) {
        guard let mailbox = stateMachine.context?.selected?.mailbox else { return }
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let contextBox = NIOLoopBound(context, eventLoop: loop)
        observation = executor.store.changes.observe(mailbox.mailboxID) { _ in
            loop.execute { handler.value.idlePoll(context: contextBox.value) }
        }
        // Changes of other processes (admin commands) reach no observer: look now and then,
        // as Dovecot's mailbox_idle_check_interval does.
        let interval = TimeAmount.seconds(idleCheckInterval)
        idleCheck = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            handler.value.idlePoll(context: contextBox.value, force: true)
        }
        idlePoll(context: context)
    }

    private func stopObserving() {
        if let observation { executor.store.changes.cancel(observation) }
        observation = nil
        idleCheck?.cancel()
        idleCheck = nil
    }

    private func idlePoll(context: ChannelHandlerContext, force: Bool = false) {
        guard stateMachine.isIdling, !paused, !closing, let sessionContext = stateMachine.context else { return }
        pause(context: context)
        let executor = self.executor
        threadPool.runIfActive(eventLoop: context.eventLoop) {
            executor.poll(context: sessionContext, force: force)
        }.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            if case .success(let output) = result {
                self.perform(self.stateMachine.idleUpdate(output), context: context)
            }
            self.resume(context: context)
        }
    }

    // MARK: APPEND message

    /// A write of the message is running and the next piece is full: read nothing more.
    private var uploadBackedUp: Bool {
        uploadWrite != nil && uploadPending.readableBytes >= Self.uploadChunkSize
    }

    private func takeUploadPending() -> ByteBuffer {
        defer { uploadPending = ByteBuffer() }
        return uploadPending
    }

    /// Hands the gathered piece of the message to the thread pool; when it is written, the
    /// next full piece goes (of this message, or of the next APPEND's if this one was
    /// dropped meanwhile), and input is taken again.
    private func startUploadWrite(context: ChannelHandlerContext) {
        guard let upload else { return }
        let bytes = takeUploadPending()
        uploadWriteBytes = bytes.readableBytes
        track(threadPool.runIfActive(eventLoop: context.eventLoop) { upload.write(bytes) }, context: context)
    }

    /// The next message of a MULTIAPPEND (RFC 3502) begins: the last piece of the one before
    /// is written after any write still running, and then that message is complete.
    private func startNextUploadMessage(context: ChannelHandlerContext) {
        guard let upload else { return }
        let bytes = takeUploadPending()
        uploadWriteBytes = bytes.readableBytes
        let threadPool = self.threadPool
        let previous = uploadWrite ?? context.eventLoop.makeSucceededVoidFuture()
        track(previous.flatMapWithEventLoop { _, loop in
            threadPool.runIfActive(eventLoop: loop) {
                upload.write(bytes)
                upload.startNext()
            }
        }, context: context)
    }

    /// Waits for a write of the message: once done, the next full piece goes and input is taken again.
    private func track(_ written: EventLoopFuture<Void>, context: ChannelHandlerContext) {
        uploadWrite = written
        written.hop(to: context.eventLoop).assumeIsolated().whenComplete { _ in
            guard self.uploadWrite == written else { return }
            self.uploadWrite = nil
            self.uploadWriteBytes = 0
            guard !self.closing else { return }
            if self.uploadPending.readableBytes >= Self.uploadChunkSize { self.startUploadWrite(context: context) }
            if !self.paused { self.process(context: context) }
        }
    }

    /// Drops the message being received: its spool file is removed on the thread pool,
    /// after any write still running.
    private func discardUpload(context: ChannelHandlerContext) {
        guard let upload else { return }
        self.upload = nil
        uploadPending = ByteBuffer()
        let threadPool = self.threadPool
        (uploadWrite ?? context.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in
            threadPool.submit { _ in upload.abort() }
        }
    }

    private func noteBuffered() {
        peakBufferedBytes = max(peakBufferedBytes, decoder.bufferedBytes + uploadPending.readableBytes + uploadWriteBytes)
    }

    // MARK: Flow control

    private func pause(context: ChannelHandlerContext) {
        paused = true
        context.flush()
    }

    private func resume(context: ChannelHandlerContext) {
        paused = false
        lastActivity = context.eventLoop.now
        if shutdownRequested, !closing { return shutdown(context: context) }
        process(context: context)
    }

    private func shutdown(context: ChannelHandlerContext) {
        perform(stateMachine.shutdown(), context: context)
        context.flush()
    }

    // MARK: Timeouts (RFC 9051 section 5.4)

    /// Before login: `loginTimeout` from the start, whatever the client sends. After:
    /// `idleTimeout` since the last whole command or the end of the last store work.
    private var deadline: NIODeadline {
        let configuration = stateMachine.configuration
        return stateMachine.isAuthenticated
            ? lastActivity + .seconds(configuration.idleTimeout) : connectedAt + .seconds(configuration.loginTimeout)
    }

    private func scheduleTimeout(context: ChannelHandlerContext) {
        timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.checkTimeout(context: context)
        }
    }

    private func checkTimeout(context: ChannelHandlerContext) {
        guard !closing else { return }
        if paused, stateMachine.isAuthenticated { lastActivity = context.eventLoop.now }
        if !paused || !stateMachine.isAuthenticated, context.eventLoop.now >= deadline {
            perform(stateMachine.timedOut(), context: context)
            context.flush()
            // Before login, or from a client that does not read: closed even if the BYE
            // cannot be sent.
            context.close(promise: nil)
        } else {
            scheduleTimeout(context: context)
        }
    }
}

extension IMAPSessionStateMachine.Action {
    /// Runs an APPEND, whose message was received into a spool file.
    var runsAppend: Bool {
        guard case .execute(let tagged, _) = self, case .append = tagged.command else { return false }
        return true
    }
}

/// The write of the last piece a chunk writer handed to the event loop.
private final class PreviousPiece: Sendable {
    let sent = Mutex<EventLoopFuture<Void>?>(nil)
}
