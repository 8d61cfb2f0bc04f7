import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgateStore

/// Sends one message to one SMTP server over SwiftNIO and reports, per recipient, whether it
/// was delivered, failed temporarily (4xx, connection errors, timeouts) or permanently (5xx).
///
/// It never throws: every failure becomes an outcome, with the text kept for the delivery
/// status notification.
public struct SMTPClient: Sendable {
    public let configuration: SMTPClientConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(configuration: SMTPClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "postgate.outbound")) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// Delivers `request` to `endpoint` in one SMTP session; one outcome per recipient, in order.
    public func deliver(_ request: SMTPDeliveryRequest, to endpoint: SMTPEndpoint) async -> [OutboundRecipientOutcome] {
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = endpoint.tls == .none ? nil : try makeTLSContext()
        } catch {
            return Self.all(request, .temporary(reason: "cannot set up TLS for \(endpoint): \(error)"))
        }
        let eventLoop = group.next()
        let result = eventLoop.makePromise(of: [OutboundRecipientOutcome].self)
        let stateMachine = SMTPClientStateMachine(request: request, endpoint: endpoint, heloName: configuration.heloName)
        let timeouts = configuration.timeouts
        let logger = logger
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(timeouts.connect * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(SMTPReplyDecoder()),
                        SMTPClientHandler(stateMachine: stateMachine, timeouts: timeouts, tlsContext: tlsContext, result: result, logger: logger),
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

    private func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = configuration.verifyCertificates ? .fullVerification : .none
        if !configuration.trustRootsFile.isEmpty {
            tls.trustRoots = .file(configuration.trustRootsFile)
        }
        return try NIOSSLContext(configuration: tls)
    }
}
