import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import PostgateBlocking
import PostgateDKIM
import PostgateDNS
import PostgateIndex
import PostgateIMAP
import PostgateListener
import PostgateMetrics
import PostgateOutbound
import PostgateSMTP
import PostgateStore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The running gateway: the store, the thread pool for blocking store work, and the SMTP
/// (MX and submission) and IMAP listeners. `postgate serve` runs it as a service; tests start it on port 0.
///
/// Shutdown is graceful: listeners stop accepting, idle sessions are closed with 421, and
/// sessions in a transaction finish it (their timeouts bound the wait) before the store
/// closes (RFC 5321 section 3.8).
public final class Gateway: Service, @unchecked Sendable {
    // @unchecked: the mutable fields are set in `start()` before any concurrent use and
    // read in `shutdown()` after it.
    public let configuration: GatewayConfiguration
    public let dataDirectory: String
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let threadPool: NIOThreadPool
    /// IMAP commands' store work: its own threads, so no IMAP client (one that stops
    /// reading a FETCH, say) can take the threads SMTP delivery needs.
    let imapThreadPool: NIOThreadPool
    /// Password checks (scrypt, slow and memory-hungry on purpose): as many run at once as
    /// it has threads, outside the delivery path.
    let authThreadPool: NIOThreadPool
    /// Released in `shutdown()` before the event loops stop: its deinit completes a promise
    /// on one of them.
    private var quiescing: ServerQuiescingHelper?
    private var store: MailStore?
    var serverChannels: [any Channel] = []
    /// The bound IMAP and IMAPS addresses, in the order of `imap.listen` then `imaps.listen`.
    public private(set) var imapAddresses: [SocketAddress] = []
    /// The bound submission and submissions addresses, in the order of `submission.listen`
    /// then `submissions.listen`.
    public internal(set) var submissionAddresses: [SocketAddress] = []
    /// One quiescing helper per bound listener group (the SMTP listeners share one; each
    /// IMAP and submission listener has its own), added once its server channel is bound.
    var listenerQuiescing: [ServerQuiescingHelper] = []
    /// The clock of the DKIM re-checker (injected by tests).
    private let now: @Sendable () -> Date
    private var dkimRechecker: Task<Void, Never>?
    private var retentionTask: Task<Void, Never>?
    private var sessionSweeper: Task<Void, Never>?
    /// The outbound delivery worker, see Gateway+Outbound.
    var outboundDelivery: Task<Void, Never>?
    /// The receiving gateways' supervisor, see Gateway+Fetch.
    var receivingGateways: Task<Void, Never>?
    /// The webhook worker sending the outbox, see WebhookWorker.
    private var webhookTask: Task<Void, Never>?
    /// The bot worker asking bots about held messages, see BotWorker.
    private var botTask: Task<Void, Never>?
    /// For OAuth 2.0 token requests; shut down after everything that uses it.
    private var httpClient: HTTPClient?
    /// The gateways' credentials, with the HTTP clients made for their CA files.
    private var credentials: GatewayCredentials?
    /// The certificate every TLS listener offers; a reload replaces it (Gateway+Reload).
    var certificate: ServerCertificate?
    /// The configuration in force, as reloads changed it (Gateway+Reload).
    let running: Mutex<GatewayConfiguration>
    /// The process's log level, which a reload sets; nil when the caller's loggers do not
    /// read one.
    let logLevel: LogLevelSwitch?
    /// Where SIGHUP reads the configuration again; nil: SIGHUP is not the gateway's.
    let configurationSource: ConfigurationSource?
    /// The HTTP API listeners, see Gateway+API.
    var apiListeners: [APIListener] = []
    /// The bound API addresses, in the order of `api.listen`.
    public private(set) var apiAddresses: [SocketAddress] = []
    /// Where the listeners and workers count and time what they do; `/metrics` reads it.
    public let metrics: GatewayMetrics
    /// Set once `start()` has bound every listener (recovery is done before): `/readyz`.
    private let accepting = Atomic<Bool>(false)
    var isAccepting: Bool { accepting.load(ordering: .acquiring) }
    /// One agent's IMAP commands running at once, shared by the IMAP and IMAPS listeners.
    private lazy var imapWorkGate = IMAPWorkGate(perAgent: configuration.imap.threadsPerAgent)

    /// - Parameters:
    ///   - dataDirectory: overrides `configuration.dataDirectory`.
    ///   - threadPool: the pool for blocking work (`makeThreadPool()`), when the caller had
    ///     blocking work of its own before the gateway (reading the configuration); the
    ///     gateway starts it if needed and shuts it down with itself. Nil: a new one.
    ///   - metrics: the registry and factory of the gateway's metrics; by default its own.
    ///   - configurationSource: where to read the configuration again on SIGHUP; with it,
    ///     `run()` traps SIGHUP and writes `DATA/postgate.pid` (`postgate serve`).
    ///   - logLevel: the level `logger` reads, which a reload sets to `log_level`.
    public init(configuration: GatewayConfiguration, dataDirectory: String? = nil, logger: Logger,
                threadPool: NIOThreadPool? = nil, metrics: GatewayMetrics = GatewayMetrics(),
                configurationSource: ConfigurationSource? = nil, logLevel: LogLevelSwitch? = nil,
                now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
        self.running = Mutex(configuration)
        self.configurationSource = configurationSource
        self.logLevel = logLevel
        self.metrics = metrics
        self.configuration = configuration
        self.dataDirectory = dataDirectory ?? configuration.dataDirectory
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        self.threadPool = threadPool ?? Self.makeThreadPool()
        self.imapThreadPool = NIOThreadPool(numberOfThreads: configuration.imap.threads)
        self.authThreadPool = NIOThreadPool(numberOfThreads: configuration.login.checkThreads(cores: System.coreCount))
        self.quiescing = ServerQuiescingHelper(group: group)
    }

    /// The gateway's pool for blocking work: every store call, file and DNS query of the
    /// process runs on it, never on an event loop or a cooperative thread.
    ///
    /// Store work blocks in fsync(2) and in the group commit far more than it computes, so
    /// the pool has many more threads than cores: concurrent deliveries share commits only
    /// if they can wait for them at the same time.
    public static func makeThreadPool() -> NIOThreadPool {
        NIOThreadPool(numberOfThreads: max(16, System.coreCount * 8))
    }

    /// Opens the store (finishing what a crash interrupted), then binds every listener.
    ///
    /// Everything before binding blocks (directories made, SQLite opened and migrated,
    /// recovery, the WAL's preallocation, TLS files, DKIM key generation, the outbound
    /// queue): it runs on the thread pool, and this task only waits for it.
    /// - Returns: the bound addresses, in the order of `configuration.smtp.listen`.
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        let (configuration, dataDirectory, logger) = (self.configuration, self.dataDirectory, self.logger)
        let (group, threadPool) = (self.group, self.threadPool)
        threadPool.start()
        imapThreadPool.start()
        authThreadPool.start()
        raiseDescriptorLimit()
        let store = try await threadPool.runToCompletion {
            try Self.openStore(directory: dataDirectory, configuration: configuration, logger: logger)
        }
        self.store = store
        let httpClient = Self.makeHTTPClient(group: group)
        self.httpClient = httpClient
        let credentials = Self.makeCredentials(configuration: configuration, store: store, httpClient: httpClient,
                                               threadPool: threadPool, logger: logger)
        self.credentials = credentials
        var services = try await threadPool.runToCompletion {
            try Services(configuration: configuration, dataDirectory: dataDirectory, store: store, group: group,
                         threadPool: threadPool, logger: logger)
        }
        services.outbound.senderRoutes = Self.senderRoutes(store: store, credentials: credentials, threadPool: threadPool)
        services.outbound.metrics = OutboundMetrics(factory: metrics.factory)
        services.inboundDKIM?.metrics = DKIMMetrics(factory: metrics.factory)
        services.outbound.sentCopies = SentFolderWriter(store: store, credentials: credentials, threadPool: threadPool,
                                                        eventLoopGroup: group, logger: logger)
        let tls = configuration.smtp.startTLS ? services.serverTLS : nil
        certificate = services.certificate
        startOutboundDelivery(services.outbound)
        startDKIMRechecker(services.dkimChecker)
        retentionTask = startRetention(store: store)
        let replies = ReplySubmission(store: store, queue: services.replyQueue, configuration: configuration,
                                      metrics: DKIMMetrics(factory: metrics.factory))
        let autoResponder = AutoResponder(submission: replies, logger: logger)
        sessionSweeper = startSessionSweeper(store: store, replies: replies)
        let delivery = InboundDelivery(store: store, threadPool: threadPool, hostname: configuration.hostname, logger: logger,
                                       dkim: services.inboundDKIM, autoResponder: autoResponder,
                                       metrics: InboundMetrics(factory: metrics.factory, storeSize: metrics.storeSize),
                                       maxHeaderSize: configuration.smtp.limits.maxHeaderSize)
        let limiter = ConnectionLimiter(
            maxConnections: configuration.smtp.limits.maxConnections,
            maxConnectionsPerAddress: configuration.smtp.limits.maxConnectionsPerIP
        )
        startReceivingGateways(delivery: delivery, store: store, credentials: credentials)
        let keyFile = configuration.channels.secretKeyFile.isEmpty ? nil : configuration.channels.secretKeyFile
        if configuration.webhooks.enabled {
            let worker = WebhookWorker(store: store, threadPool: threadPool, httpClient: httpClient, settings: configuration.webhooks,
                                       secretKeyPath: keyFile, metrics: WebhookMetrics(factory: metrics.factory), logger: logger)
            webhookTask = Task { await worker.run() }
        }
        let bots = BotWorker(store: store, threadPool: threadPool, httpClient: httpClient, submission: replies,
                             pollInterval: configuration.bots.pollInterval, maxTextBytes: configuration.webhooks.maxTextBytes,
                             secretKeyPath: keyFile, logger: logger)
        botTask = Task { await bots.run() }
        // One brake on password guessing for every listener that takes logins.
        let throttle = LoginThrottle(maxFailuresPerAddress: configuration.login.maxFailuresPerIP,
                                     maxFailuresPerAccount: configuration.login.maxFailuresPerAccount,
                                     lockoutSeconds: Double(configuration.login.lockoutSeconds))
        // IMAP, submission and the API first: once the SMTP port answers, every listener is up.
        imapAddresses = try await startIMAP(store: store, tls: services.serverTLS, throttle: throttle)
        submissionAddresses = try await startSubmission(store: store, queue: services.submissionQueue, tls: services.serverTLS,
                                                        throttle: throttle)
        apiAddresses = try await startAPI(store: store, queue: services.replyQueue, certificate: services.certificate)
        guard let quiescing = self.quiescing else { throw ConfigurationError("the gateway is shut down") }
        var bound: [SocketAddress] = []
        for text in configuration.smtp.listen {
            let address = try ListenAddress(text)
            let channel = try await bindSMTP(address, configuration: configuration.smtpServerConfiguration, delegate: delivery, tls: tls,
                                             limiter: limiter, quiescing: quiescing, listener: "mx")
            serverChannels.append(channel)
            if bound.isEmpty { listenerQuiescing.append(quiescing) }
            if let local = channel.localAddress { bound.append(local) }
            logger.notice("listening", metadata: ["smtp": "\(channel.localAddress.map { "\($0)" } ?? text)"])
        }
        accepting.store(true, ordering: .releasing)
        return bound
    }

    /// Starts (unless started already), then runs until a graceful shutdown is requested
    /// (SIGTERM or SIGINT under ServiceLifecycle, which traps them before services run).
    /// Under a service manager (`$NOTIFY_SOCKET`) it reports READY=1 once every listener is
    /// bound and recovery is done, pings the watchdog, and reports STOPPING=1. With a
    /// configuration source, SIGHUP reloads (Gateway+Reload).
    public func run() async throws {
        let hangups = configurationSource == nil ? nil : await UnixSignalsSequence(trapping: .sighup)
        if serverChannels.isEmpty {
            do { try await start() } catch {
                await shutdown()
                throw error
            }
        }
        let notifier = SystemdNotifier.fromEnvironment()
        var watchdog: Task<Void, Never>?
        if let notifier {
            await notify(notifier, "READY=1\nSTATUS=accepting mail")
            watchdog = startWatchdog(notifier)
        }
        var reloading: Task<Void, Never>?
        let processFile = ServerProcessFile(pid: getpid(), configFile: configurationSource?.file)
        if let hangups, let configurationSource {
            reloading = startReloading(on: hangups, from: configurationSource, notifier: notifier)
            await writeProcessFile(processFile)
        }
        try? await gracefulShutdown()
        watchdog?.cancel()
        reloading?.cancel()
        if configurationSource != nil {
            let dataDirectory = self.dataDirectory
            try? await threadPool.runIfActive { processFile.remove(dataDirectory: dataDirectory) }
        }
        if let notifier { await notify(notifier, "STOPPING=1\nSTATUS=finishing transactions in flight") }
        await shutdown()
    }

    /// Runs on the thread pool: opens the store (refusing an index that lost the stored
    /// mail, see `MailStore.requireIndexOfStoredMail`), finishes what a crash interrupted, keeps
    /// spool files ready and gives the index's WAL its full size.
    static func openStore(directory: String, configuration: GatewayConfiguration, logger: Logger) throws -> MailStore {
        BlockingWork.assertAllowedHere("opening the store")
        let store = try MailStore.open(directory: directory, logger: logger, sessions: configuration.sessions, dataSync: configuration.dataSync)
        try store.requireIndexOfStoredMail()
        let report = try store.recover()
        store.reserveSpoolFiles()
        do {
            let wal = try store.preallocateIndexLog()
            if wal.size < SQLiteDatabase.fullWALSize, let available = wal.available {
                logger.warning("index WAL preallocated short: the data filesystem is short of space; commits will grow it", metadata: [
                    "wal_mib": "\(wal.size >> 20)", "full_mib": "\(SQLiteDatabase.fullWALSize >> 20)", "free_mib": "\(available >> 20)",
                ])
            }
        } catch {
            logger.warning("index WAL not preallocated; commits will grow it", metadata: ["error": "\(error)"])
        }
        logger.info("store open", metadata: ["data": "\(directory)", "recovery": "\(report)"])
        return store
    }

    /// What the listeners and background tasks need beside the store, made on the thread
    /// pool before anything is bound: each reads files, SQLite or /etc/resolv.conf, or
    /// generates keys.
    struct Services: Sendable {
        /// The certificate every TLS listener offers, when any listener offers TLS.
        var certificate: ServerCertificate?
        /// The SMTP and IMAP listeners' TLS context, made from `certificate`.
        var serverTLS: NIOSSLContext?
        var outbound: DeliveryWorker
        var dkimChecker: DKIMDomainChecker
        /// Inbound DKIM verification, unless turned off.
        var inboundDKIM: DKIMInboundVerifier?
        /// The outbound queue of the submission listeners, when there are any.
        var submissionQueue: OutboundQueue?
        /// The outbound queue of the auto-replies.
        var replyQueue: OutboundQueue

        init(configuration: GatewayConfiguration, dataDirectory: String, store: MailStore, group: any EventLoopGroup,
             threadPool: NIOThreadPool, logger: Logger) throws {
            BlockingWork.assertAllowedHere("preparing the gateway's services")
            let needsTLS = configuration.smtp.startTLS || !configuration.imap.listen.isEmpty || !configuration.imaps.listen.isEmpty
                || configuration.offersSubmission || (configuration.api.tls && !configuration.api.listen.isEmpty)
            certificate = needsTLS ? ServerCertificate(try TLSMaterial.load(configuration: configuration, dataDirectory: dataDirectory)) : nil
            serverTLS = try certificate?.makeContext()
            for name in try Gateway.ensureHostedDKIMKeys(store: store) {
                logger.notice("generated a DKIM key for the hosted domain", metadata: ["domain": "\(name)", "selector": "\(Gateway.hostedSelector)"])
            }
            outbound = try Gateway.makeDeliveryWorker(configuration: configuration, store: store, group: group,
                                                      threadPool: threadPool, logger: logger)
            dkimChecker = DKIMDomainChecker(store: store, configuration: configuration)
            inboundDKIM = configuration.dkim.verifyInbound
                ? DKIMInboundVerifier(fetcher: DKIMKeyFetcher(resolver: DNSResolver(configuration: configuration.dns.resolverConfiguration)),
                                      authservID: configuration.hostname, maxHeaderBytes: configuration.smtp.limits.maxHeaderSize)
                : nil
            replyQueue = try OutboundQueue.open(sharing: store, policy: configuration.outbound.retry)
            submissionQueue = configuration.offersSubmission ? replyQueue : nil
        }
    }

    /// Starts the DKIM re-checker.
    private func startDKIMRechecker(_ checker: DKIMDomainChecker) {
        let rechecker = DKIMRechecker(
            checker: checker, threadPool: threadPool,
            pollInterval: Double(configuration.dkim.recheckPollInterval), now: now, logger: logger)
        dkimRechecker = Task { await rechecker.run() }
    }

    /// Stops accepting, lets transactions in flight finish, and releases everything.
    public func shutdown() async {
        dkimRechecker?.cancel()
        retentionTask?.cancel()
        sessionSweeper?.cancel()
        await stopReceivingGateways()
        accepting.store(false, ordering: .releasing)
        await stopAPI()
        for task in [webhookTask, botTask] {
            task?.cancel()
            await task?.value
        }
        (webhookTask, botTask) = (nil, nil)
        logger.notice("shutting down: finishing transactions in flight")
        // Only helpers that track a bound listener: a helper that never saw its server
        // channel (start failed before binding) would never finish shutting down.
        let quiesced = listenerQuiescing.map { helper in
            let done = group.next().makePromise(of: Void.self)
            helper.initiateShutdown(promise: done)
            return done.futureResult
        }
        for done in quiesced {
            try? await done.get()
        }
        quiescing = nil
        listenerQuiescing = []
        serverChannels = []
        await stopOutboundDelivery()
        await credentials?.shutdown()
        credentials = nil
        try? await httpClient?.shutdown()
        httpClient = nil
        try? await imapThreadPool.shutdownGracefully()
        try? await authThreadPool.shutdownGracefully()
        try? await threadPool.shutdownGracefully()
        if let store { await Self.finishDeliveries(store) }
        try? await group.shutdownGracefully()
        logger.notice("stopped")
    }

    /// Removes the spool files kept ready and flushes the journalled deliveries' files
    /// (`MailStore.finishDeliveries`): blocking work, and it must wait until the gateway's
    /// pool has finished its last work items (a delivery made visible after its reply), so
    /// it runs on a pool of its own, started for it.
    private static func finishDeliveries(_ store: MailStore) async {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        try? await pool.runToCompletion {
            BlockingWork.assertAllowedHere("finishing the store's deliveries")
            store.finishDeliveries()
        }
        try? await pool.shutdownGracefully()
    }

    /// Binds the IMAP (STARTTLS) and IMAPS (implicit TLS) listeners, which share one
    /// connection limit.
    private func startIMAP(store: MailStore, tls: NIOSSLContext?, throttle: LoginThrottle) async throws -> [SocketAddress] {
        store.verifiedPasswords.setTTL(TimeInterval(configuration.imap.authCacheTTL))
        let limiter = ConnectionLimiter(maxConnections: imapConnectionLimit(), maxConnectionsPerAddress: configuration.imap.maxConnectionsPerIP)
        var bound: [SocketAddress] = []
        let listeners = configuration.imap.listen.map { ($0, false) } + configuration.imaps.listen.map { ($0, true) }
        for (text, implicitTLS) in listeners {
            let channel = try await bindIMAP(try ListenAddress(text), store: store, tls: tls, implicitTLS: implicitTLS, throttle: throttle,
                                             limiter: limiter)
            serverChannels.append(channel)
            if let local = channel.localAddress { bound.append(local) }
            logger.notice("listening", metadata: [implicitTLS ? "imaps" : "imap": "\(channel.localAddress.map { "\($0)" } ?? text)"])
        }
        return bound
    }

    private func bindIMAP(
        _ address: ListenAddress, store: MailStore, tls: NIOSSLContext?, implicitTLS: Bool, throttle: LoginThrottle,
        limiter: ConnectionLimiter
    ) async throws -> any Channel {
        let imapConfiguration = configuration.imapServerConfiguration
        let quiescing = ServerQuiescingHelper(group: group)
        let logger = self.logger
        let (threadPool, authThreadPool, workGate) = (self.imapThreadPool, self.authThreadPool, self.imapWorkGate)
        let metrics = IMAPMetrics(listener: implicitTLS ? "imaps" : "imap", factory: self.metrics.factory)
        let handshakeTimeout = TimeAmount.seconds(Int64(configuration.tls.handshakeTimeout))
        let channel = try await bind(address, quiescing: quiescing) { channel in
            let ip = channel.remoteAddress?.ipAddress ?? "unknown"
            if implicitTLS, let tls {
                try Self.addImplicitTLS(tls, handshakeTimeout: handshakeTimeout, to: channel)
            }
            if let refusal = limiter.take(ip) {
                try channel.pipeline.syncOperations.addHandler(RefusalHandler(message: refusal.imapGreeting(address: ip)))
                return
            }
            channel.closeFuture.whenComplete { _ in limiter.release(ip) }
            try channel.pipeline.syncOperations.addHandler(IMAPServerHandler(
                configuration: imapConfiguration, store: store, threadPool: threadPool, authThreadPool: authThreadPool, tlsContext: tls,
                implicitTLS: implicitTLS, throttle: throttle, clientIP: ip, workGate: workGate, metrics: metrics, logger: logger
            ))
        }
        listenerQuiescing.append(quiescing)
        return channel
    }

    /// TLS from the first byte (RFC 8314), closed if the handshake is not done in time.
    /// The connection's place under its listener's limit was counted before (or is refused
    /// regardless of) the handshake.
    static func addImplicitTLS(_ tls: NIOSSLContext, handshakeTimeout: TimeAmount, to channel: any Channel) throws {
        let handler = NIOSSLServerHandler(context: tls)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.pipeline.syncOperations.addHandler(TLSHandshakeDeadlineHandler(timeout: handshakeTimeout))
    }

    /// An SMTP listener (MX or submission). With `implicitTLS` the session is TLS from the
    /// first byte (RFC 8314) and STARTTLS is not offered; otherwise `tls` serves STARTTLS.
    /// `listener` is the listener's kind in metrics.
    func bindSMTP(
        _ address: ListenAddress, configuration smtpConfiguration: SMTPServerConfiguration, delegate: any SMTPServerDelegate,
        tls: NIOSSLContext?, implicitTLS: Bool = false, limiter: ConnectionLimiter, quiescing: ServerQuiescingHelper, listener: String
    ) async throws -> any Channel {
        let logger = self.logger
        let metrics = SMTPMetrics(listener: listener, factory: self.metrics.factory)
        let handshakeTimeout = TimeAmount.seconds(Int64(configuration.tls.handshakeTimeout))
        let delegate = InsufficientStorageReplies(base: delegate)
        return try await bind(address, quiescing: quiescing) { channel in
            let remote = channel.remoteAddress
            let ip = remote?.ipAddress ?? "unknown"
            if implicitTLS, let tls {
                try Self.addImplicitTLS(tls, handshakeTimeout: handshakeTimeout, to: channel)
            }
            if let refusal = limiter.take(ip) {
                try channel.pipeline.syncOperations.addHandler(RefusalHandler(reply: refusal.smtpReply(address: ip)))
                return
            }
            channel.closeFuture.whenComplete { _ in limiter.release(ip) }
            var session = SMTPSessionInfo(remoteAddress: ip, remotePort: remote?.port)
            session.tlsActive = implicitTLS
            try channel.pipeline.syncOperations.addHandler(SMTPServerHandler(
                configuration: smtpConfiguration, delegate: delegate, tlsContext: implicitTLS ? nil : tls,
                session: session, metrics: metrics, logger: logger
            ))
        }
    }

    /// A TCP listener whose server channel is tracked by `quiescing` and whose accepted
    /// channels are set up by `initializeChild` (on their event loop).
    func bind(
        _ address: ListenAddress, quiescing: ServerQuiescingHelper,
        initializeChild: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel {
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try initializeChild(channel) }
                }
                .bind(host: address.host, port: address.port)
                .get()
        } catch {
            throw ConfigurationError("cannot listen on \(address): \(error)")
        }
    }
}
