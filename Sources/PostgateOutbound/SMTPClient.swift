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
            let configuration = self.configuration
            let trustRoots = endpoint.trustRootsFile
            tlsContext = endpoint.tls == .none && !endpoint.implicitTLS
                ? nil : try await threadPool.runToCompletion { try Self.makeTLSContext(configuration, trustRootsFile: trustRoots) }
        } catch {
            return Self.all(request, .temporary(reason: "cannot set up TLS for \(endpoint): \(error)"))
        }
        let eventLoop = group.next()
        // Opened while the connection is made and the envelope sent; the handler waits for it
        // only when the server asks for the data, so a missing file fails the same way and
        // at the same point of the session (RFC 5321 section 4.5.2) as a read would.
        let path = request.path
        let message = threadPool.runIfActive(eventLoop: eventLoop) { try QueuedMessageFile(path: path) }
        let outcomes = await deliver(request, to: endpoint, on: eventLoop, message: message, tlsContext: tlsContext)
        if let file = try? await message.get() {
            try? await threadPool.runToCompletion { file.close() }
        }
        return outcomes
    }

    private func deliver(
        _ request: SMTPDeliveryRequest, to endpoint: SMTPEndpoint, on eventLoop: any EventLoop,
        message: EventLoopFuture<QueuedMessageFile>, tlsContext: NIOSSLContext?
    ) async -> [OutboundRecipientOutcome] {
        let result = eventLoop.makePromise(of: [OutboundRecipientOutcome].self)
        let threadPool = self.threadPool
        let stateMachine = SMTPClientStateMachine(request: request, endpoint: endpoint, heloName: configuration.heloName)
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
            result.succeed(Self.all(request, .temporary(reason: "cannot connect to \(endpoint): \(error)")))
        }
        return (try? await result.futureResult.get()) ?? Self.all(request, .temporary(reason: "delivery to \(endpoint) was interrupted"))
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
