import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// An access token (RFC 6749 section 1.4) of the Bearer type (RFC 6750). Its description
/// leaves the token out.
public struct OAuth2AccessToken: Sendable, Equatable, CustomStringConvertible {
    /// The token itself, for the SASL response or an `Authorization: Bearer` header.
    public let value: String
    /// The lifetime the server gave (`expires_in`, RFC 6749 section 5.1); nil when it gave none.
    public let lifetime: Duration?
    /// The scope granted, when the server named it (RFC 6749 section 5.1).
    public let scope: String?

    public init(value: String, lifetime: Duration?, scope: String?) {
        self.value = value
        self.lifetime = lifetime
        self.scope = scope
    }

    public var description: String {
        "Bearer access token" + (lifetime.map { " valid for \($0.components.seconds) s" } ?? "")
    }
}

/// Hands out access tokens for one authorization, refreshing them with the refresh token
/// (RFC 6749 section 6) over a shared `HTTPClient`.
///
/// A token is kept until `refreshMargin` before it expires; concurrent callers then share
/// one refresh. When the server sends a new refresh token (section 6: it may, and the old one
/// may stop working) the source uses it from then on and calls `onRefreshTokenRotation`
/// before handing out the access token, so the owner can store it. A failed refresh is not
/// remembered: the next call tries again.
///
/// Neither the client secret nor a token is ever logged.
public actor OAuth2TokenSource {
    /// Called with each new refresh token the server issues.
    public typealias RefreshTokenHandler = @Sendable (String) async -> Void

    /// Kept this long when the server gives no `expires_in` (RFC 6749 section 5.1 leaves
    /// the lifetime to the server's documentation).
    public static let assumedLifetime: Duration = .seconds(300)
    /// A token response larger than this is refused.
    public static let maximumResponseSize = 64 * 1024

    public nonisolated let settings: OAuth2Settings
    private let httpClient: HTTPClient
    private let logger: Logger
    private let now: @Sendable () -> ContinuousClock.Instant
    private let onRefreshTokenRotation: RefreshTokenHandler?
    private var refreshToken: String
    private var cached: (token: OAuth2AccessToken, refreshAt: ContinuousClock.Instant)?
    private var inFlight: Task<Result<OAuth2AccessToken, OAuth2Error>, Never>?

    /// - Parameters:
    ///   - httpClient: The process's client (see `httpClientConfiguration`); its owner shuts it down.
    ///   - now: The clock the token lifetimes are measured on; tests pass their own.
    public init(
        settings: OAuth2Settings, httpClient: HTTPClient, logger: Logger = Logger(label: "postgate.oauth2"),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        onRefreshTokenRotation: RefreshTokenHandler? = nil
    ) {
        self.settings = settings
        self.httpClient = httpClient
        self.logger = logger
        self.now = now
        self.onRefreshTokenRotation = onRefreshTokenRotation
        self.refreshToken = settings.refreshToken
    }

    /// The configuration for the process's `HTTPClient` used for token requests: redirects are
    /// not followed (the request carries the client secret and refresh token; RFC 6749
    /// section 3.2 names one endpoint), and a refused connection fails the request at once
    /// instead of being retried until the request's deadline.
    public static func httpClientConfiguration(connectTimeout: Duration = .seconds(10)) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: timeAmount(connectTimeout))
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// The refresh token in use: the configured one, or the newest the server issued.
    public var currentRefreshToken: String { refreshToken }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    public func accessToken() async throws(OAuth2Error) -> OAuth2AccessToken {
        if let cached, now() < cached.refreshAt { return cached.token }
        let task: Task<Result<OAuth2AccessToken, OAuth2Error>, Never>
        if let inFlight {
            task = inFlight
        } else {
            task = Task { await self.refresh() }
            inFlight = task
        }
        return try await task.value.get()
    }

    /// Forgets `token` if it is the cached one: the mail server refused it (RFC 6750 section
    /// 3.1, `invalid_token`; it may have been revoked), so the next call asks for a new one.
    public func invalidate(_ token: OAuth2AccessToken) {
        if cached?.token == token { cached = nil }
    }

    private func refresh() async -> Result<OAuth2AccessToken, OAuth2Error> {
        defer { inFlight = nil }
        let started = now()
        let used = refreshToken
        let response: OAuth2TokenResponse
        do {
            response = try await Self.requestToken(settings: settings, refreshToken: used, httpClient: httpClient, logger: logger)
        } catch {
            logger.warning("cannot refresh the OAuth 2.0 access token", metadata: metadata(["reason": "\(error)"]))
            return .failure(error)
        }
        if let rotated = response.refreshToken, !rotated.isEmpty, rotated != used {
            refreshToken = rotated
            logger.notice("the authorization server issued a new refresh token", metadata: metadata([:]))
            await onRefreshTokenRotation?(rotated)
        }
        let lifetime = response.token.lifetime ?? Self.assumedLifetime
        let early = min(settings.refreshMargin, lifetime / 2)
        cached = (response.token, started + lifetime - early)
        logger.debug("OAuth 2.0 access token refreshed", metadata: metadata(["lifetime": "\(lifetime.components.seconds) s"]))
        return .success(response.token)
    }

    private func metadata(_ extra: Logger.Metadata) -> Logger.Metadata {
        extra.merging(["oauth2.client": "\(settings.clientID)", "oauth2.endpoint": "\(settings.tokenEndpoint)"]) { $1 }
    }

    // MARK: The token request

    /// RFC 6749 section 6: `grant_type=refresh_token`, the refresh token, the scope if set,
    /// and the client's credentials (section 2.3.1), form-encoded (appendix B). Without a
    /// refresh token, the client credentials grant (section 4.4.2): the application acts on
    /// its own behalf, with the permissions an administrator granted it.
    static func makeRequest(settings: OAuth2Settings, refreshToken: String) throws(OAuth2Error) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: try settings.resolvedTokenEndpoint())
        request.method = .POST
        var form = refreshToken.isEmpty ? [("grant_type", "client_credentials")] : [("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        if let scope = settings.scope, !scope.isEmpty { form.append(("scope", scope)) }
        switch settings.clientAuthentication {
        case .httpBasic where !settings.clientSecret.isEmpty:
            // RFC 6749 section 2.3.1: id and secret form-encoded, then Basic (RFC 7617).
            let pair = FormEncoding.component(settings.clientID) + ":" + FormEncoding.component(settings.clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
        case .httpBasic, .requestBody:
            // A public client sends only its id (RFC 6749 section 3.2.1).
            form.append(("client_id", settings.clientID))
            if !settings.clientSecret.isEmpty { form.append(("client_secret", settings.clientSecret)) }
        }
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
        return request
    }

    static func requestToken(
        settings: OAuth2Settings, refreshToken: String, httpClient: HTTPClient, logger: Logger
    ) async throws(OAuth2Error) -> OAuth2TokenResponse {
        let request = try makeRequest(settings: settings, refreshToken: refreshToken)
        let status: Int
        let body: ByteBuffer
        do {
            let response = try await httpClient.execute(request, deadline: .now() + timeAmount(settings.requestTimeout), logger: logger)
            status = Int(response.status.code)
            body = try await response.body.collect(upTo: maximumResponseSize)
        } catch is NIOTooManyBytesError {
            throw .malformedResponse("larger than \(maximumResponseSize / 1024) KiB")
        } catch {
            throw .unavailable(describe(error, settings: settings))
        }
        return try OAuth2TokenResponse.parse(status: status, body: Array(body.readableBytesView))
    }

    /// A transport failure in the operator's words.
    static func describe(_ error: any Error, settings: OAuth2Settings) -> String {
        let endpoint = (try? settings.resolvedTokenEndpoint()) ?? settings.tokenEndpoint
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout:
                return "no answer from \(endpoint) within \(seconds(settings.requestTimeout))"
            case .remoteConnectionClosed:
                return "\(endpoint) closed the connection"
            default:
                return "\(endpoint): \(error)"
            }
        }
        if let error = error as? NIOConnectionError {
            let refused = error.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
            if refused { return "connection refused by \(endpoint)" }
            return "cannot connect to \(endpoint)"
        }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED {
            return "connection refused by \(endpoint)"
        }
        if case .connectTimeout? = error as? ChannelError {
            return "no connection to \(endpoint) within the connect timeout"
        }
        return "\(endpoint): \(error)"
    }

    /// `30 s`, `0.25 s`.
    static func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        guard fraction != 0 else { return "\(whole) s" }
        return String(format: "%g s", Double(whole) + Double(fraction) / 1e18)
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// A successful token response (RFC 6749 section 5.1), or the error of section 5.2.
struct OAuth2TokenResponse: Sendable, Equatable {
    var token: OAuth2AccessToken
    /// A new refresh token (RFC 6749 section 6), if the server issued one.
    var refreshToken: String?

    static func parse(status: Int, body: [UInt8]) throws(OAuth2Error) -> OAuth2TokenResponse {
        if status >= 500 || status == 429 { throw .unavailable("HTTP \(status)") }
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        guard status == 200 else {
            // RFC 6749 section 5.2: 400, or 401 for a failed client authentication.
            guard (400...499).contains(status), let object, let code = object["error"] as? String else {
                throw .unexpectedStatus(status)
            }
            let text = OAuth2Error.oneLine(object["error_description"] as? String ?? "")
            switch code {
            case "invalid_grant": throw .invalidGrant(text)
            case "invalid_client": throw .invalidClient(text)
            default: throw .refused(error: OAuth2Error.oneLine(code), description: text)
            }
        }
        guard let object else { throw .malformedResponse("not a JSON object") }
        guard let value = object["access_token"] as? String, !value.isEmpty else {
            throw .malformedResponse("no access_token")
        }
        // RFC 6749 section 7.1 and RFC 6750 section 4: the type is "Bearer", in any case.
        guard let type = object["token_type"] as? String else { throw .malformedResponse("no token_type") }
        guard type.lowercased() == "bearer" else {
            throw .malformedResponse("token_type \(OAuth2Error.oneLine(type)) is not Bearer")
        }
        // RFC 6749 section 5.1: a number of seconds; some servers send it as a string.
        let lifetime: Duration?
        switch object["expires_in"] {
        case nil, is NSNull:
            lifetime = nil
        case let number as NSNumber where number.doubleValue > 0 && number.doubleValue < 1e9:
            lifetime = .milliseconds(Int64(number.doubleValue * 1000))
        case let text as String:
            guard let seconds = Int(text), seconds > 0, seconds < 1_000_000_000 else {
                throw .malformedResponse("expires_in is not a positive number of seconds")
            }
            lifetime = .seconds(seconds)
        default:
            throw .malformedResponse("expires_in is not a positive number of seconds")
        }
        let refreshToken: String?
        switch object["refresh_token"] {
        case nil, is NSNull: refreshToken = nil
        case let text as String: refreshToken = text
        default: throw .malformedResponse("refresh_token is not a string")
        }
        return OAuth2TokenResponse(
            token: OAuth2AccessToken(value: value, lifetime: lifetime, scope: object["scope"] as? String),
            refreshToken: refreshToken)
    }
}
