import AsyncHTTPClient
import Foundation
import NIOPosix
import PostgateOAuth
import PostgateOAuthTesting
import Testing
@testable import PostgateConnectors

/// POP3 AUTH with an OAuth 2.0 token end to end: the token source refreshes a token at the
/// test authorization server, the POP3 client sends it with XOAUTH2 or OAUTHBEARER, and a
/// private Dovecot checks it at the same server's introspection endpoint (RFC 7662).
@Suite(.enabled(if: DovecotServer.isPOP3Installed, "Dovecot's pop3d is not installed (apt-get install dovecot-pop3d)"))
struct POP3OAuthDovecotTests {
    static let message = [
        DovecotServer.Message(name: "1700000001.M1P1.pop3test:2,", content: Array("From: a@example.com\r\nSubject: hello\r\n\r\nHello\r\n".utf8)),
    ]

    /// The authorization server, a token source for the Dovecot user, and Dovecot; all
    /// stopped after `body`.
    static func withServers(_ body: (OAuth2TestServer, OAuth2TokenSource, DovecotServer) async throws -> Void) async throws {
        let authorization = try await OAuth2TestServer()
        authorization.addRefreshToken("rt-alice", username: DovecotServer.user)
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: OAuth2TokenSource.httpClientConfiguration())
        let source = OAuth2TokenSource(
            settings: OAuth2Settings(tokenEndpoint: authorization.tokenURL, clientID: authorization.clientID,
                                     clientSecret: authorization.clientSecret, refreshToken: "rt-alice"),
            httpClient: http)
        var failure: (any Error)?
        do {
            let dovecot = try DovecotServer(messages: message, oauth2IntrospectionURL: authorization.introspectionURL)
            do { try await body(authorization, source, dovecot) } catch { failure = error }
            if failure != nil { Issue.record("Dovecot's log: \(dovecot.log.suffix(3000))") }
            dovecot.stop()
        } catch {
            failure = failure ?? error
        }
        try await http.shutdown()
        try await authorization.shutdown()
        if let failure { throw failure }
    }

    static func client(_ server: DovecotServer) -> POP3Client {
        POP3Client(configuration: POP3Configuration(
            host: "127.0.0.1", port: server.pop3sPort, tls: .implicit, caCertificateFile: server.certificate, connectTimeout: 30, responseTimeout: 60))
    }

    static func credentials(_ mechanism: OAuthSASLMechanism, _ token: OAuth2AccessToken) -> POP3Credentials {
        switch mechanism {
        case .xoauth2: .xoauth2(user: DovecotServer.user, token: token.value)
        case .oauthBearer: .oauthBearer(user: DovecotServer.user, token: token.value)
        }
    }

    @Test(arguments: OAuthSASLMechanism.allCases)
    func aTokenFromTheTokenSourceLogsIn(mechanism: OAuthSASLMechanism) async throws {
        try await Self.withServers { authorization, source, dovecot in
            let token = try await source.accessToken()
            try await Self.client(dovecot).connect { session in
                #expect(session.capabilities?["SASL"]?.contains(mechanism.name) == true)
                try await session.authenticate(Self.credentials(mechanism, token))
                #expect(try await session.stat().count == 1)
                try await session.quit()
            }
            #expect(authorization.introspectionCount >= 1)
        }
    }

    /// Dovecot's refusal of a token its oauth2 passdb found inactive.
    static let refusal: [OAuthSASLMechanism: String] = [
        .xoauth2: "[AUTH] Authentication failed. (status 401, scope mail)",
        .oauthBearer: "[AUTH] Authentication failed. (status invalid_token)",
    ]

    @Test(arguments: OAuthSASLMechanism.allCases)
    func aRevokedTokenIsRefusedAndAFreshOneWorks(mechanism: OAuthSASLMechanism) async throws {
        try await Self.withServers { authorization, source, dovecot in
            let token = try await source.accessToken()
            authorization.revoke(accessToken: token.value)
            try await Self.client(dovecot).connect { session in
                // Dovecot's error challenge (RFC 7628 section 3.2.2) is part of the reason.
                await #expect(throws: POP3Error.authenticationFailed(Self.refusal[mechanism] ?? "")) {
                    try await session.authenticate(Self.credentials(mechanism, token))
                }
                // The session stays in the AUTHORIZATION state (RFC 5034 section 4): a new
                // token from the source, after the refused one is dropped, logs in.
                await source.invalidate(token)
                let fresh = try await source.accessToken()
                #expect(fresh != token)
                try await session.authenticate(Self.credentials(mechanism, fresh))
                #expect(try await session.stat().count == 1)
                try await session.quit()
            }
        }
    }

    @Test func anExpiredTokenIsRefused() async throws {
        try await Self.withServers { authorization, source, dovecot in
            let token = try await source.accessToken()
            authorization.expireAccessTokens()
            try await Self.client(dovecot).connect { session in
                let error = await #expect(throws: POP3Error.self) { try await session.authenticate(Self.credentials(.xoauth2, token)) }
                #expect(error?.description == "authentication failed: [AUTH] Authentication failed. (status 401, scope mail)")
            }
        }
    }
}
