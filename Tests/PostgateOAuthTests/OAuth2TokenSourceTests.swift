import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix
import PostgateOAuth
import PostgateOAuthTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The token source against the test authorization server on loopback: the refresh-token
/// grant, the cache, rotation, and each kind of failure. Token lifetimes are measured on a
/// clock the tests advance; nothing waits for time to pass.
@Suite struct OAuth2TokenSourceTests {
    static let refreshToken = "rt-initial"

    /// A clock that moves only when told.
    final class ManualClock: Sendable {
        private let start = ContinuousClock.now
        private let offset = Mutex<Duration>(.zero)

        func advance(by duration: Duration) { offset.withLock { $0 += duration } }
        var now: @Sendable () -> ContinuousClock.Instant { { [self] in start + offset.withLock { $0 } } }
    }

    /// Everything a log handler was given, to check that no secret is in it.
    final class CapturedLog: LogHandler, @unchecked Sendable {
        // @unchecked: the lines are behind a Mutex; the settings are set before use.
        let lines = Mutex<[String]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }

        var text: String { lines.withLock { $0.joined(separator: "\n") } }
    }

    /// A server with one refresh token, a client, a clock; all shut down after `body`.
    static func withServer(_ body: (OAuth2TestServer, HTTPClient, ManualClock) async throws -> Void) async throws {
        let server = try await OAuth2TestServer()
        server.addRefreshToken(refreshToken, username: "alice@example.test", scope: "mail offline")
        // The client's own event loop: other suites running at the same time cannot delay it.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = HTTPClient(eventLoopGroup: group, configuration: OAuth2TokenSource.httpClientConfiguration())
        do {
            try await body(server, client, ManualClock())
        } catch {
            try await client.shutdown()
            try await server.shutdown()
            try await group.shutdownGracefully()
            throw error
        }
        try await client.shutdown()
        try await server.shutdown()
        try await group.shutdownGracefully()
    }

    static func settings(_ server: OAuth2TestServer, secret: String? = nil, _ change: (inout OAuth2Settings) -> Void = { _ in }) -> OAuth2Settings {
        var settings = OAuth2Settings(
            tokenEndpoint: server.tokenURL, clientID: server.clientID, clientSecret: secret ?? server.clientSecret, refreshToken: refreshToken)
        change(&settings)
        return settings
    }

    static func error(_ source: OAuth2TokenSource) async -> OAuth2Error? {
        do {
            _ = try await source.accessToken()
            return nil
        } catch {
            return error
        }
    }

    // MARK: Getting and keeping a token

    @Test func aFreshTokenComesFromTheRefreshTokenGrant() async throws {
        try await Self.withServer { server, client, clock in
            let source = OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now)
            let token = try await source.accessToken()
            #expect(server.introspect(token.value)?.username == "alice@example.test")
            #expect(token.lifetime == .seconds(3600))
            #expect(token.scope == "mail offline")
            let request = try #require(server.lastTokenRequest)
            #expect(request.clientAuthentication == "body")
            #expect(request.form == [
                "grant_type": "refresh_token", "refresh_token": Self.refreshToken,
                "client_id": server.clientID, "client_secret": server.clientSecret,
            ])
        }
    }

    @Test func withoutARefreshTokenTheClientCredentialsGrantIsUsed() async throws {
        try await Self.withServer { server, client, clock in
            let settings = Self.settings(server) { $0.refreshToken = ""; $0.scope = "https://graph.test/.default" }
            let source = OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now)
            let token = try await source.accessToken()
            #expect(server.introspect(token.value)?.username == "app:\(server.clientID)")
            let request = try #require(server.lastTokenRequest)
            #expect(request.form == [
                "grant_type": "client_credentials", "scope": "https://graph.test/.default",
                "client_id": server.clientID, "client_secret": server.clientSecret,
            ])
            // Cached like any other token: no second request.
            _ = try await source.accessToken()
            #expect(server.tokenRequestCount == 1)
        }
    }

    @Test func theClientCanAuthenticateWithHTTPBasic() async throws {
        try await Self.withServer { server, client, clock in
            let settings = Self.settings(server) { $0.clientAuthentication = .httpBasic; $0.scope = "mail" }
            let source = OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now)
            let token = try await source.accessToken()
            #expect(token.scope == "mail")
            let request = try #require(server.lastTokenRequest)
            #expect(request.clientAuthentication == "basic")
            #expect(request.form == ["grant_type": "refresh_token", "refresh_token": Self.refreshToken, "scope": "mail"])
        }
    }

    @Test func aSecretWithReservedCharactersSurvivesBothClientAuthentications() async throws {
        let secret = "s3:cr/et+ &=%ü"
        let server = try await OAuth2TestServer(clientSecret: secret)
        server.addRefreshToken(Self.refreshToken, username: "alice@example.test")
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: OAuth2TokenSource.httpClientConfiguration())
        for method in OAuth2Settings.ClientAuthentication.allCases {
            let settings = Self.settings(server) { $0.clientAuthentication = method }
            let source = OAuth2TokenSource(settings: settings, httpClient: client)
            await #expect(throws: Never.self, "\(method)") { try await source.accessToken() }
        }
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func theTokenIsCachedUntilShortlyBeforeItExpires() async throws {
        try await Self.withServer { server, client, clock in
            server.setAccessTokenLifetime(120)
            let settings = Self.settings(server) { $0.refreshMargin = .seconds(30) }
            let source = OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now)
            let first = try await source.accessToken()
            clock.advance(by: .seconds(89))
            #expect(try await source.accessToken() == first)
            #expect(server.tokenRequestCount == 1)
            clock.advance(by: .seconds(1))
            let second = try await source.accessToken()
            #expect(second != first)
            #expect(server.tokenRequestCount == 2)
            #expect(try await source.accessToken() == second)
            #expect(server.tokenRequestCount == 2)
        }
    }

    @Test func aTinyLifetimeIsRefreshedAtHalfOfIt() async throws {
        try await Self.withServer { server, client, clock in
            server.setAccessTokenLifetime(2)
            let source = OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now)
            let first = try await source.accessToken()
            clock.advance(by: .milliseconds(999))
            #expect(try await source.accessToken() == first)
            clock.advance(by: .milliseconds(1))
            #expect(try await source.accessToken() != first)
            #expect(server.tokenRequestCount == 2)
        }
    }

    @Test func concurrentCallersShareOneRefresh() async throws {
        try await Self.withServer { server, client, clock in
            let source = OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now)
            server.hold()
            let tokens = try await withThrowingTaskGroup(of: OAuth2AccessToken.self) { group in
                for _ in 0..<8 { group.addTask { try await source.accessToken() } }
                try await Self.waitUntil { server.tokenRequestCount == 1 }
                server.release()
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(tokens.count == 8)
            #expect(Set(tokens.map(\.value)).count == 1)
            #expect(server.tokenRequestCount == 1)
        }
    }

    @Test func aRefusedTokenIsForgottenAndReplaced() async throws {
        try await Self.withServer { server, client, clock in
            let source = OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now)
            let first = try await source.accessToken()
            await source.invalidate(OAuth2AccessToken(value: "another", lifetime: nil, scope: nil))
            #expect(try await source.accessToken() == first)
            await source.invalidate(first)
            #expect(try await source.accessToken() != first)
            #expect(server.tokenRequestCount == 2)
        }
    }

    @Test func aRotatedRefreshTokenIsReportedAndUsed() async throws {
        try await Self.withServer { server, client, clock in
            server.setRotatesRefreshTokens(true)
            let reported = Mutex<[String]>([])
            let source = OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now) { token in
                reported.withLock { $0.append(token) }
            }
            _ = try await source.accessToken()
            let rotated = reported.withLock { $0 }
            #expect(rotated.count == 1)
            #expect(server.validRefreshTokens == Set(rotated))
            #expect(await source.currentRefreshToken == rotated.first)

            clock.advance(by: .seconds(3600))
            _ = try await source.accessToken()
            #expect(server.lastTokenRequest?.form["refresh_token"] == rotated.first)
            let twice = reported.withLock { $0 }
            #expect(twice.count == 2)
            #expect(server.validRefreshTokens == [twice[1]])
        }
    }

    @Test func theTenantIsPutIntoTheEndpoint() async throws {
        try await Self.withServer { server, client, clock in
            let settings = Self.settings(server) {
                $0.tokenEndpoint = server.baseURL + "/{tenant}/oauth2/v2.0/token"
                $0.tenant = "contoso.example"
            }
            _ = try await OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now).accessToken()
            #expect(server.lastTokenRequest?.path == "/contoso.example/oauth2/v2.0/token")

            let noTenant = Self.settings(server) { $0.tokenEndpoint = server.baseURL + "/{tenant}/token" }
            let error = await Self.error(OAuth2TokenSource(settings: noTenant, httpClient: client))
            #expect(error == .invalidSettings("the token endpoint \(server.baseURL)/{tenant}/token names a {tenant} but no tenant is set"))
        }
    }

    // MARK: Failures

    @Test func aRevokedRefreshTokenAsksForReauthorization() async throws {
        try await Self.withServer { server, client, clock in
            server.revoke(refreshToken: Self.refreshToken)
            let error = try #require(await Self.error(OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now)))
            #expect(error == .invalidGrant("the refresh token is invalid, expired or revoked"))
            #expect(error.description == "the refresh token was refused (invalid_grant): the refresh token is invalid, expired or revoked — reauthorize the mailbox")
            #expect(error.needsReauthorization)
            #expect(!error.isTemporary)
        }
    }

    @Test func aForcedInvalidGrantCarriesTheServersDescription() async throws {
        try await Self.withServer { server, client, clock in
            server.force(.invalidGrant("AADSTS70008: The refresh token has expired\r\ndue to inactivity."))
            let error = await Self.error(OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now))
            #expect(error == .invalidGrant("AADSTS70008: The refresh token has expired  due to inactivity."))
        }
    }

    @Test func aWrongClientSecretIsInvalidClient() async throws {
        try await Self.withServer { server, client, clock in
            for method in OAuth2Settings.ClientAuthentication.allCases {
                let settings = Self.settings(server, secret: "wrong") { $0.clientAuthentication = method }
                let error = await Self.error(OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now))
                #expect(error == .invalidClient("client authentication failed"), "\(method)")
                #expect(error?.description == "the client id or secret was refused (invalid_client): client authentication failed — check the client registration")
            }
        }
    }

    @Test func aScopeBeyondTheGrantIsRefused() async throws {
        try await Self.withServer { server, client, clock in
            let settings = Self.settings(server) { $0.scope = "mail admin" }
            let error = await Self.error(OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now))
            #expect(error == .refused(error: "invalid_scope", description: "the scope exceeds the grant"))
            #expect(error?.description == "the token endpoint refused the request (invalid_scope): the scope exceeds the grant")
        }
    }

    @Test func aServerErrorIsTemporaryAndNotRemembered() async throws {
        try await Self.withServer { server, client, clock in
            let source = OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now)
            server.force(.serverError)
            let error = try #require(await Self.error(source))
            #expect(error == .unavailable("HTTP 500"))
            #expect(error.description == "token endpoint unavailable: HTTP 500")
            #expect(error.isTemporary)
            server.force(nil)
            _ = try await source.accessToken()
            #expect(server.tokenRequestCount == 2)
        }
    }

    @Test func malformedJSONIsReported() async throws {
        try await Self.withServer { server, client, clock in
            server.force(.malformedJSON)
            let error = await Self.error(OAuth2TokenSource(settings: Self.settings(server), httpClient: client, now: clock.now))
            #expect(error == .malformedResponse("not a JSON object"))
            #expect(error?.description == "malformed token response: not a JSON object")
        }
    }

    @Test func anUnreachableEndpointIsTemporary() async throws {
        try await Self.withServer { _, client, clock in
            // A port bound without listening: connections to it are refused, and no other
            // test can take it meanwhile.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            try #require(fd >= 0 && bound)
            let port = Int(UInt16(bigEndian: address.sin_port))
            let settings = OAuth2Settings(
                tokenEndpoint: "http://127.0.0.1:\(port)/token", clientID: "c", clientSecret: "s", refreshToken: Self.refreshToken)
            let error = try #require(await Self.error(OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now)))
            #expect(error == .unavailable("connection refused by http://127.0.0.1:\(port)/token"))
            #expect(error.isTemporary)
        }
    }

    @Test func anEndpointThatDoesNotAnswerTimesOut() async throws {
        try await Self.withServer { server, client, clock in
            server.hold()
            let settings = Self.settings(server) { $0.requestTimeout = .milliseconds(300) }
            let error = await Self.error(OAuth2TokenSource(settings: settings, httpClient: client, now: clock.now))
            #expect(error == .unavailable("no answer from \(server.tokenURL) within 0.3 s"))
            server.release()
        }
    }

    @Test func neitherSecretsNorTokensAreLoggedOrDescribed() async throws {
        try await Self.withServer { server, client, clock in
            server.setRotatesRefreshTokens(true)
            let log = CapturedLog()
            let logger = Logger(label: "test") { _ in log }
            let settings = Self.settings(server)
            let source = OAuth2TokenSource(settings: settings, httpClient: client, logger: logger, now: clock.now)
            let token = try await source.accessToken()
            let rotated = await source.currentRefreshToken
            server.force(.invalidGrant("no"))
            clock.advance(by: .seconds(7200))
            _ = await Self.error(source)
            let text = log.text + "\(settings)" + "\(token)"
            #expect(text.contains("new refresh token"))
            for secret in [server.clientSecret, Self.refreshToken, rotated, token.value] {
                #expect(!text.contains(secret), "\(secret)")
            }
        }
    }

    /// Awaits `condition` (checked every few milliseconds) for at most a minute: a bound
    /// for a broken condition, generous because the whole suite runs in parallel on a
    /// loaded machine.
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw WaitTimedOut() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    struct WaitTimedOut: Error {}
}
