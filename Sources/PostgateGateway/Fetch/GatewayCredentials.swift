import AsyncHTTPClient
import Foundation
import Logging
import NIOPosix
import NIOSSL
import PostgateBlocking
import PostgateConnectors
import PostgateDirectory
import PostgateMessage
import PostgateOAuth
import PostgateOutbound
import PostgateStore
import Synchronization

/// Opens the gateways' credentials when they connect: decrypts a stored password with the
/// data directory's secret key, or obtains an OAuth 2.0 access token with the stored
/// refresh token (RFC 6749 section 6). One token source per gateway caches its token until
/// shortly before it expires; a refresh token the provider rotates is sealed and stored
/// at once, so a restart uses the new one. The source outlives the gateway's restart by
/// that publication (its settings now hold the stored token), and a failed attempt only
/// forgets the access token it used: the source keeps the newest refresh token.
public final class GatewayCredentials: Sendable {
    let store: MailStore
    let keyPath: String?
    let httpClient: HTTPClient
    let threadPool: NIOThreadPool
    let logger: Logger
    private let sources = Mutex<[String: TokenSourceEntry]>([:])
    /// HTTP clients that also trust a gateway's CA file, by the file's path.
    private let trustingClients = Mutex<[String: HTTPClient]>([:])

    /// A gateway's token source, the settings it was made for, and the access token it last
    /// handed out.
    private struct TokenSourceEntry {
        var settings: OAuthClientSettings
        let source: OAuth2TokenSource
        var lastToken: OAuth2AccessToken?
    }

    /// - Parameter keyPath: the secret key file; nil for `DATA/secret.key`.
    public init(store: MailStore, keyPath: String?, httpClient: HTTPClient, threadPool: NIOThreadPool, logger: Logger) {
        self.store = store
        self.keyPath = keyPath
        self.httpClient = httpClient
        self.threadPool = threadPool
        self.logger = logger
    }

    /// A receiving gateway's credential.
    public func credential(for gateway: ReceivingGateway) async throws -> GatewayCredential {
        let settings = gateway.settings
        return try await credential(key: "receiving \(gateway.address)", address: gateway.address, direction: .receiving,
                                    auth: settings.auth, password: settings.password, oauth: settings.oauth,
                                    defaultScope: settings.kind == .graph ? Self.graphScope(settings.connection) : nil,
                                    caFile: settings.kind == .graph ? settings.caFile : nil)
    }

    /// A Graph sending gateway's access token; `renewing` first drops the one handed out
    /// last (Graph refused it).
    public func graphToken(address: EmailAddress, settings: SendingGatewaySettings, renewing: Bool) async throws -> String {
        let key = "sending \(address)"
        if renewing { await forgetToken(key: key) }
        switch try await credential(key: key, address: address, direction: .sending, auth: settings.auth, password: nil,
                                    oauth: settings.oauth, defaultScope: Self.graphScope(settings.connection), caFile: settings.caFile) {
        case .bearer(let token, _): return token
        case .password: throw FetchError("a Graph gateway authenticates with OAuth 2.0, not a password")
        }
    }

    /// A Graph sending gateway's mailbox, its tokens from this source.
    public func graphMailbox(address: EmailAddress, settings: SendingGatewaySettings) -> GraphMailbox {
        GraphMailbox(client: graphClient(for: settings.connection), user: settings.username, token: { [self] renewing in
            try await graphToken(address: address, settings: settings, renewing: renewing)
        })
    }

    /// The scope asked for with the client credentials grant: every application permission
    /// granted on the Graph resource (`{origin}/.default`).
    static func graphScope(_ connection: GatewayConnectionSettings) -> String {
        guard let url = URLComponents(string: connection.effectiveGraphURL), let scheme = url.scheme, let host = url.host else {
            return "https://graph.microsoft.com/.default"
        }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")/.default"
    }

    /// A sending gateway's SMTP credentials.
    public func smtpCredentials(address: EmailAddress, settings: SendingGatewaySettings) async throws -> SMTPCredentials {
        switch try await credential(key: "sending \(address)", address: address, direction: .sending,
                                    auth: settings.auth, password: settings.password, oauth: settings.oauth) {
        case .password(let password): return SMTPCredentials(user: settings.username, password: password)
        case .bearer(let token, _): return SMTPCredentials(user: settings.username, bearerToken: token)
        }
    }

    /// The HTTP client for a gateway's Graph and token requests: the process's client, or
    /// one that also trusts the gateway's CA file (a private CA), made once per file.
    public func httpClient(trusting caFile: String?) -> HTTPClient {
        guard let caFile, !caFile.isEmpty else { return httpClient }
        let shared = httpClient
        return trustingClients.withLock { clients in
            if let known = clients[caFile] { return known }
            var configuration = OAuth2TokenSource.httpClientConfiguration()
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.file(caFile)]
            configuration.tlsConfiguration = tls
            let client = HTTPClient(eventLoopGroupProvider: .shared(shared.eventLoopGroup), configuration: configuration)
            clients[caFile] = client
            return client
        }
    }

    /// Shuts down the clients made for CA files (the process's client is its owner's).
    public func shutdown() async {
        let clients = trustingClients.withLock { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in clients { try? await client.shutdown() }
    }

    /// After a failed attempt: the access token used may be the reason (revoked before its
    /// expiry; RFC 6750 section 3.1 `invalid_token`), so the next attempt asks for a new one.
    /// The source stays, with the newest refresh token the server issued (RFC 6749 section 6).
    public func attemptFailed(_ gateway: ReceivingGateway) async {
        await forgetToken(key: "receiving \(gateway.address)")
    }

    private func forgetToken(key: String) async {
        let entry = sources.withLock { sources -> TokenSourceEntry? in
            defer { sources[key]?.lastToken = nil }
            return sources[key]
        }
        if let entry, let token = entry.lastToken { await entry.source.invalidate(token) }
    }

    private func credential(key: String, address: EmailAddress, direction: GatewayDirection, auth: GatewayAuthentication,
                            password: SealedSecret?, oauth: OAuthClientSettings?, defaultScope: String? = nil, caFile: String? = nil) async throws -> GatewayCredential {
        switch auth {
        case .password:
            guard let password else { throw FetchError("no password is stored for the \(direction.rawValue) gateway of \(address)") }
            let box = try await secretBox()
            return .password(try box.open(password))
        case .oauth2:
            guard let oauth else { throw FetchError("no OAuth 2.0 settings are stored for the \(direction.rawValue) gateway of \(address)") }
            let source = try await tokenSource(key: key, address: address, direction: direction, oauth: oauth, defaultScope: defaultScope,
                                               httpClient: httpClient(trusting: caFile))
            do {
                let token = try await source.accessToken()
                sources.withLock { if $0[key]?.source === source { $0[key]?.lastToken = token } }
                return .bearer(token.value, oauth.mechanism)
            } catch where error.isTemporary {
                throw FetchError(error.description + " (temporary: the next attempt asks again)")
            } catch {
                throw FetchError(error.description)
            }
        }
    }

    private func secretBox() async throws -> SecretBox {
        let (store, keyPath) = (self.store, self.keyPath)
        return try await threadPool.runToCompletion {
            BlockingWork.assertAllowedHere("reading the secret key")
            return try store.secretBox(keyPath: keyPath, create: false)
        }
    }

    private func tokenSource(key: String, address: EmailAddress, direction: GatewayDirection,
                             oauth: OAuthClientSettings, defaultScope: String?, httpClient: HTTPClient) async throws -> OAuth2TokenSource {
        if let known = sources.withLock({ $0[key] }), known.settings == oauth { return known.source }
        let box = try await secretBox()
        // Without a refresh token, a Graph gateway uses the client credentials grant (RFC 6749
        // section 4.4), for the application permissions an administrator consented to.
        guard oauth.refreshToken != nil || (defaultScope != nil && oauth.clientSecret != nil) else {
            throw FetchError("no refresh token is stored for the \(direction.rawValue) gateway of \(address): set one with --oauth-refresh-token-file")
        }
        let refresh = try oauth.refreshToken.map(box.open) ?? ""
        let settings = OAuth2Settings(
            tokenEndpoint: oauth.tokenEndpoint, clientID: oauth.clientID, clientSecret: try oauth.clientSecret.map(box.open) ?? "",
            scope: oauth.scope ?? (refresh.isEmpty ? defaultScope : nil), tenant: oauth.tenant, refreshToken: refresh)
        let (store, threadPool, logger) = (self.store, self.threadPool, self.logger)
        let source = OAuth2TokenSource(settings: settings, httpClient: httpClient, logger: logger, onRefreshTokenRotation: { [weak self] rotated in
            // RFC 6749 section 6: the old refresh token may stop working; keep the new one.
            do {
                let sealed = try box.seal(rotated)
                try await threadPool.runToCompletion {
                    BlockingWork.assertAllowedHere("storing a rotated refresh token")
                    try store.replaceRefreshToken(of: address, direction: direction, with: sealed)
                }
                // The published settings now hold the sealed token: the gateway restarted
                // with them finds this source (which has the token) instead of a new one
                // asking again, and rotating again.
                self?.sources.withLock { sources in
                    if sources[key]?.source.settings == settings { sources[key]?.settings.refreshToken = sealed }
                }
                logger.notice("stored the rotated refresh token", metadata: ["gateway": "\(address)", "direction": "\(direction.rawValue)"])
            } catch {
                logger.error("cannot store the rotated refresh token", metadata: ["gateway": "\(address)", "error": "\(error)"])
            }
        })
        sources.withLock { $0[key] = TokenSourceEntry(settings: oauth, source: source) }
        return source
    }
}

extension GatewayCredentials: GatewayCredentialSource {}
extension GatewayCredentials: SendingCredentialSource {}

/// Where a sending gateway's SMTP credentials come from.
public protocol SendingCredentialSource: Sendable {
    func smtpCredentials(address: EmailAddress, settings: SendingGatewaySettings) async throws -> SMTPCredentials
    /// A Graph sending gateway's access token; `renewing` drops the one handed out last.
    func graphToken(address: EmailAddress, settings: SendingGatewaySettings, renewing: Bool) async throws -> String
    func graphMailbox(address: EmailAddress, settings: SendingGatewaySettings) throws -> GraphMailbox
}

extension SendingCredentialSource {
    /// A source without Graph: every Graph gateway fails with this.
    public func graphToken(address: EmailAddress, settings: SendingGatewaySettings, renewing: Bool) async throws -> String {
        throw FetchError("no Graph credentials for \(address)")
    }

    public func graphMailbox(address: EmailAddress, settings: SendingGatewaySettings) throws -> GraphMailbox {
        throw FetchError("no Graph credentials for \(address)")
    }
}

/// Where a fetcher's credentials come from.
extension GatewayCredentialSource {
    /// The Graph client of a gateway's connection: its base URL, its CA file, and a request
    /// timeout of its connection timeout (at least a minute).
    func graphClient(for connection: GatewayConnectionSettings) -> GraphClient {
        GraphClient(baseURL: connection.effectiveGraphURL, httpClient: httpClient(trusting: connection.caFile),
                    requestTimeout: .milliseconds(max(connection.connectionTimeoutMS, 60_000)))
    }
}

public protocol GatewayCredentialSource: Sendable {
    func credential(for gateway: ReceivingGateway) async throws -> GatewayCredential
    /// The HTTP client for Graph requests, trusting `caFile` as well where given.
    func httpClient(trusting caFile: String?) -> HTTPClient
    /// A pass failed: a cached token may be stale.
    func attemptFailed(_ gateway: ReceivingGateway) async
}
