import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgateBlocking
import PostgateStore

/// Sends one message to one SMTP server over SwiftNIO and reports, per recipient, whether it
/// was delivered, failed temporarily (4xx, connection errors, timeouts) or permanently (5xx).
///
/// It never throws: every failure becomes an outcome, with the text kept for the delivery
/// status notification.
///
/// The session runs on `group`; what blocks (reading the trust roots for TLS, opening,
/// reading and closing the message file) runs on `threadPool`, never on the event loop or
/// on the calling task's thread.
public struct SMTPClient: Sendable {
    public let configuration: SMTPClientConfiguration
    private let group: any EventLoopGroup
    private let threadPool: NIOThreadPool
    private let logger: Logger

    public init(
        configuration: SMTPClientConfiguration, group: any EventLoopGroup, threadPool: NIOThreadPool,
        logger: Logger = Logger(label: "postgate.outbound")
    ) {
        self.configuration = configuration
        self.group = group
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Delivers `request` to `endpoint` in one SMTP session; one outcome per recipient, in order.
    public func deliver(_ request: SMTPDeliveryRequest, to endpoint: SMTPEndpoint) async -> [OutboundRecipientOutcome] {
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try await makeTLSContext(for: endpoint)
        } catch {
            return Self.all(request, .temporary(reason: "cannot set up TLS for \(endpoint): \(error)"))
        }
        let eventLoop = group.next()
        // Opened while the connection is made and the envelope sent; the handler waits for it
        // only when the server asks for the data, so a missing file fails the same way and
        // at the same point of the session (RFC 5321 section 4.5.2) as a read would.
        let path = request.path
        let message = threadPool.runIfActive(eventLoop: eventLoop) { try QueuedMessageFile(path: path) }
        let stateMachine = SMTPClientStateMachine(request: request, endpoint: endpoint, heloName: configuration.heloName)
        let result = await run(stateMachine, on: eventLoop, message: message, tlsContext: tlsContext)
        if let file = try? await message.get() {
            try? await threadPool.runToCompletion { file.close() }
        }
        switch result {
        case .success(let session): return session.outcomes
        case .failure(let reason): return Self.all(request, .temporary(reason: reason.description))
        }
    }

    /// Tests `endpoint` without sending: connects (with implicit TLS if it asks for it),
    /// says EHLO, starts TLS as its policy asks (RFC 3207), authenticates with its credentials
    /// (RFC 4954) and quits. The steps run, in order; the last one failed if any did.
    public func probe(_ endpoint: SMTPEndpoint) async -> [SMTPProbeStep] {
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try await makeTLSContext(for: endpoint)
        } catch {
            return [SMTPProbeStep(name: "connect", ok: false, detail: "cannot set up TLS for \(endpoint): \(error)")]
        }
        let stateMachine = SMTPClientStateMachine(probing: endpoint, heloName: configuration.heloName)
        switch await run(stateMachine, on: group.next(), message: nil, tlsContext: tlsContext) {
        case .success(let session): return session.steps
        case .failure(let reason): return [SMTPProbeStep(name: "connect", ok: false, detail: reason.description)]
        }
    }

    private func makeTLSContext(for endpoint: SMTPEndpoint) async throws -> NIOSSLContext? {
        guard endpoint.tls != .none || endpoint.implicitTLS else { return nil }
        let configuration = self.configuration
        let trustRoots = endpoint.trustRootsFile
        return try await threadPool.runToCompletion { try Self.makeTLSContext(configuration, trustRootsFile: trustRoots) }
    }

    /// One session driven by `stateMachine`; a failure before it started (no connection) is
    /// its reason.
    private func run(
        _ stateMachine: SMTPClientStateMachine, on eventLoop: any EventLoop,
        message: EventLoopFuture<QueuedMessageFile>?, tlsContext: NIOSSLContext?
    ) async -> Result<SMTPSessionResult, SessionNotRun> {
        let endpoint = stateMachine.endpoint
        let result = eventLoop.makePromise(of: SMTPSessionResult.self)
        let threadPool = self.threadPool
        let timeouts = configuration.timeouts
        let logger = logger
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(timeouts.connect * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if endpoint.implicitTLS, let tlsContext {
                        // RFC 8314 section 3.3: TLS first, then the SMTP greeting inside it.
                        let serverName = endpoint.host.isIPAddress ? nil : endpoint.host
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(SMTPReplyDecoder()),
                        SMTPClientHandler(stateMachine: stateMachine, timeouts: timeouts, tlsContext: tlsContext, message: message,
                                          threadPool: threadPool, result: result, logger: logger),
                    ])
                }
            }
        do {
            _ = try await bootstrap.connect(host: endpoint.address ?? endpoint.host, port: endpoint.port).get()
        } catch {
            result.fail(SessionNotRun("cannot connect to \(endpoint): \(error)"))
        }
        do {
            return .success(try await result.futureResult.get())
        } catch let error as SessionNotRun {
            return .failure(error)
        } catch {
            return .failure(SessionNotRun("the session with \(endpoint) was interrupted"))
        }
    }

    /// Why a session has no result: the connection was not made, or ended without one.
    private struct SessionNotRun: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static func all(_ request: SMTPDeliveryRequest, _ outcome: OutboundRecipientOutcome) -> [OutboundRecipientOutcome] {
        Array(repeating: outcome, count: request.recipients.count)
    }

    /// Runs on the thread pool: the context reads its trust roots from files.
    private static func makeTLSContext(_ configuration: SMTPClientConfiguration, trustRootsFile: String?) throws -> NIOSSLContext {
        BlockingWork.assertAllowedHere("TLS trust roots")
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = configuration.verifyCertificates ? .fullVerification : .none
        if let trustRootsFile {
            // A gateway's own CA file is always checked against, whatever the global setting.
            tls.certificateVerification = .fullVerification
            tls.trustRoots = .file(trustRootsFile)
        } else if !configuration.trustRootsFile.isEmpty {
            tls.trustRoots = .file(configuration.trustRootsFile)
        }
        return try NIOSSLContext(configuration: tls)
    }
}
