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
import Synchronization

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
    ///
    /// The published settings come from the directory snapshot (kept while the directory
    /// generation stays the same; publishing, a reload's edit or a rotated refresh token moves
    /// it), and a password route is kept for as long as its gateway's settings are the same:
    /// no SQLite read, key-file read or decryption per message. A token route asks its token
    /// source, which keeps the access token until shortly before it expires.
    public static func senderRoutes(store: MailStore, credentials: GatewayCredentials, threadPool: NIOThreadPool) -> SenderRoutes {
        let resolved = SenderRouteCache()
        return { sender in
            guard let address = try? EmailAddress(sender) else { return nil }
            let settings = try await threadPool.runToCompletion { try store.directorySnapshot().sendingGateway(of: address) }
            guard let settings else {
                resolved.forget(address.canonical)
                return nil
            }
            if let route = resolved.route(address.canonical, settings: settings) { return route }
            if settings.kind == .graph {
                // Tokens come from the token source at each request; the route stays.
                let route = SenderRoute(submitter: GraphMessageSubmitter(
                    mailbox: credentials.graphMailbox(address: address, settings: settings), threadPool: threadPool))
                resolved.keep(route, for: address.canonical, settings: settings)
                return route
            }
            let route = SenderRoute(endpoint: try await sendingEndpoint(address: address, settings: settings, credentials: credentials),
                                    saveToSent: settings.saveToSent)
            if settings.auth == .password { resolved.keep(route, for: address.canonical, settings: settings) }
            return route
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

/// The resolved password routes of the sending gateways, each with the settings it was made
/// from; one entry per address that has a sending gateway.
final class SenderRouteCache: Sendable {
    private let routes = Mutex<[String: (settings: SendingGatewaySettings, route: SenderRoute)]>([:])

    func route(_ address: String, settings: SendingGatewaySettings) -> SenderRoute? {
        routes.withLock { routes in
            guard let entry = routes[address] else { return nil }
            guard entry.settings == settings else {
                routes[address] = nil
                return nil
            }
            return entry.route
        }
    }

    func keep(_ route: SenderRoute, for address: String, settings: SendingGatewaySettings) {
        routes.withLock { $0[address] = (settings, route) }
    }

    func forget(_ address: String) {
        _ = routes.withLock { $0.removeValue(forKey: address) }
    }
}
