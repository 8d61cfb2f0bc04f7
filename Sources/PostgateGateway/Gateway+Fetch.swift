import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateOAuth
import PostgateOutbound
import PostgateStore

extension Gateway {
    /// The HTTP client for token requests and the credentials of every gateway, shared by
    /// the fetchers and the delivery worker's sending gateways.
    public static func makeCredentials(configuration: GatewayConfiguration, store: MailStore, httpClient: HTTPClient,
                                threadPool: NIOThreadPool, logger: Logger) -> GatewayCredentials {
        let keyFile = configuration.channels.secretKeyFile
        return GatewayCredentials(store: store, keyPath: keyFile.isEmpty ? nil : keyFile, httpClient: httpClient,
                                  threadPool: threadPool, logger: logger)
    }

    public static func makeHTTPClient(group: any EventLoopGroup) -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .shared(group), configuration: OAuth2TokenSource.httpClientConfiguration())
    }

    /// Starts fetching from the published receiving gateways, unless `connectors.fetch` is off.
    func startReceivingGateways(delivery: InboundDelivery, store: MailStore, credentials: GatewayCredentials) {
        guard configuration.connectors.fetch else { return }
        let supervisor = ReceivingGatewaySupervisor(
            delivery: delivery, credentials: credentials,
            load: {
                try store.publishedReceivingGateways().map {
                    ReceivingGateway(id: $0.gatewayID, address: $0.address, settings: $0.settings)
                }
            },
            eventLoopGroup: group, settings: configuration.connectors, maxHeaderSize: configuration.smtp.limits.maxHeaderSize,
            logger: logger)
        receivingGateways = Task { await supervisor.run() }
    }

    /// Stops every fetcher and waits for them.
    func stopReceivingGateways() async {
        receivingGateways?.cancel()
        await receivingGateways?.value
        receivingGateways = nil
    }

    /// The sending gateways for the delivery worker: an envelope sender that is a hosted
    /// address with a published sending gateway is sent through it.
    public static func senderRoutes(store: MailStore, credentials: GatewayCredentials, threadPool: NIOThreadPool) -> SenderRoutes {
        { sender in
            guard let address = try? EmailAddress(sender) else { return nil }
            let settings: SendingGatewaySettings? = try await threadPool.runToCompletion {
                do {
                    return try store.gateway(SendingGatewaySettings.self, of: address)?.published
                } catch StoreError.addressNotFound, StoreError.notAnAddress, StoreError.domainNotHosted {
                    return nil
                }
            }
            guard let settings else { return nil }
            return SenderRoute(endpoint: try await sendingEndpoint(address: address, settings: settings, credentials: credentials),
                               saveToSent: settings.saveToSent)
        }
    }

    /// The submission server of a sending gateway with its credentials ready.
    public static func sendingEndpoint(address: EmailAddress, settings: SendingGatewaySettings,
                                credentials: some SendingCredentialSource) async throws -> SMTPEndpoint {
        sendingEndpoint(settings: settings, credentials: try await credentials.smtpCredentials(address: address, settings: settings))
    }

    /// The submission server of a sending gateway (RFC 6409; implicit TLS on 465, RFC 8314
    /// section 3.3, else STARTTLS on 587, which is then required).
    public static func sendingEndpoint(settings: SendingGatewaySettings, credentials: SMTPCredentials) -> SMTPEndpoint {
        let implicit = settings.tls == .implicit
        return SMTPEndpoint(
            host: settings.host, port: settings.port ?? (implicit ? 465 : 587),
            tls: settings.tls == .none ? .none : .required,
            credentials: credentials, implicitTLS: implicit, trustRootsFile: settings.caFile)
    }
}
