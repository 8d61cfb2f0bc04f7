import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PostgateOAuth
import Synchronization

/// An OAuth 2.0 authorization server for tests, on a free loopback port: a token endpoint
/// for the refresh-token grant (RFC 6749 section 6) with client authentication in the body
/// or by HTTP Basic (section 2.3.1), and a token introspection endpoint (RFC 7662) that a
/// mail server can check the access tokens against.
///
/// Tests register refresh tokens, set the access-token lifetime, turn on refresh-token
/// rotation, make the token endpoint answer `invalid_grant` or 500, hold its answers back,
/// revoke or expire tokens, and read the request counts.
public final class OAuth2TestServer: Sendable {
    /// An answer the token endpoint gives instead of checking the request.
    public enum ForcedAnswer: Sendable, Equatable {
        /// 400 `invalid_grant` with this description (RFC 6749 section 5.2).
        case invalidGrant(String)
        /// 500 with an HTML body.
        case serverError
        /// 200 with a body that is not JSON.
        case malformedJSON
    }

    /// What the server saw of the last token request.
    public struct TokenRequest: Sendable, Equatable {
        public var path: String
        /// `basic` or `body`.
        public var clientAuthentication: String
        public var form: [String: String]
    }

    private struct Grant: Sendable {
        var username: String
        var scope: String
        var clientID: String
    }

    private struct IssuedToken: Sendable {
        var username: String
        var scope: String
        var clientID: String
        var expires: Date
        var revoked = false
    }

    private struct State: Sendable {
        var refreshTokens: [String: Grant] = [:]
        var accessTokens: [String: IssuedToken] = [:]
        var lifetime = 3600
        var rotateRefreshTokens = false
        var forced: ForcedAnswer?
        var tokenRequests = 0
        var introspections = 0
        var lastTokenRequest: TokenRequest?
        var holding = false
        var held: [@Sendable () -> Void] = []
        var serial = 0
    }

    public let clientID: String
    public let clientSecret: String
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(State())
    private let channel: any Channel
    /// The port the server listens on, at 127.0.0.1.
    public let port: Int

    /// Starts the server with one registered client.
    public init(clientID: String = "postgate-test", clientSecret: String = "client-secret-1") async throws {
        self.clientID = clientID
        self.clientSecret = clientSecret
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let box = Box()
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(HTTPHandler(server: box))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        port = channel.localAddress?.port ?? 0
        box.server.withLock { $0 = self }
    }

    /// Stops listening and shuts the event loop down.
    public func shutdown() async throws {
        release()
        try? await channel.close()
        try await group.shutdownGracefully()
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var tokenURL: String { baseURL + "/token" }
    public var introspectionURL: String { baseURL + "/introspect" }

    // MARK: Control

    /// Registers a refresh token granted by `username` for `scope`.
    public func addRefreshToken(_ token: String, username: String, scope: String = "mail") {
        state.withLock { $0.refreshTokens[token] = Grant(username: username, scope: scope, clientID: clientID) }
    }

    /// The lifetime of the access tokens issued from now on, in seconds (`expires_in`).
    public func setAccessTokenLifetime(_ seconds: Int) {
        state.withLock { $0.lifetime = seconds }
    }

    /// From now on each refresh issues a new refresh token and retires the one used (RFC 6749
    /// section 6).
    public func setRotatesRefreshTokens(_ rotate: Bool) {
        state.withLock { $0.rotateRefreshTokens = rotate }
    }

    /// Makes the token endpoint give `answer` to every request; nil for normal answers.
    public func force(_ answer: ForcedAnswer?) {
        state.withLock { $0.forced = answer }
    }

    /// Token requests are received and counted but not answered until `release()`.
    public func hold() {
        state.withLock { $0.holding = true }
    }

    /// Answers the held token requests and stops holding.
    public func release() {
        let held = state.withLock { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        held.forEach { $0() }
    }

    /// Revokes an access token: introspection answers `active: false` for it.
    public func revoke(accessToken: String) {
        state.withLock { $0.accessTokens[accessToken]?.revoked = true }
    }

    /// Revokes a refresh token: refreshing with it gets `invalid_grant`.
    public func revoke(refreshToken: String) {
        state.withLock { _ = $0.refreshTokens.removeValue(forKey: refreshToken) }
    }

    /// Makes every access token issued so far expired, as if its lifetime had passed.
    public func expireAccessTokens() {
        state.withLock { state in
            for key in state.accessTokens.keys { state.accessTokens[key]?.expires = Date(timeIntervalSinceNow: -60) }
        }
    }

    /// The token requests received (answered or not).
    public var tokenRequestCount: Int { state.withLock { $0.tokenRequests } }
    public var introspectionCount: Int { state.withLock { $0.introspections } }
    public var lastTokenRequest: TokenRequest? { state.withLock { $0.lastTokenRequest } }
    /// The refresh tokens that work now.
    public var validRefreshTokens: Set<String> { state.withLock { Set($0.refreshTokens.keys) } }

    /// The user and scope of an access token that is active now; nil for an unknown, revoked
    /// or expired one. For a mail server fake in the same process.
    public func introspect(_ accessToken: String) -> (username: String, scope: String)? {
        state.withLock { state in
            guard let token = state.accessTokens[accessToken], !token.revoked, token.expires > Date() else { return nil }
            return (token.username, token.scope)
        }
    }

    // MARK: Endpoints

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body: String
    }

    fileprivate func handle(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: String, answer: @escaping @Sendable (Response) -> Void) {
        let path = String(uri.split(separator: "?", maxSplits: 1).first ?? "")
        if path.hasSuffix("/introspect") {
            answer(introspection(method: method, headers: headers, body: body))
            return
        }
        guard path.hasSuffix("/token") else {
            answer(Response(status: .notFound, body: "not found"))
            return
        }
        let response = token(path: path, method: method, headers: headers, body: body)
        let deferred: Bool = state.withLock { state in
            guard state.holding else { return false }
            state.held.append { answer(response) }
            return true
        }
        if !deferred { answer(response) }
    }

    private static func json(_ status: HTTPResponseStatus, _ object: [String: Any], headers: [(String, String)] = []) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        // RFC 6749 section 5.1: token responses are not cached.
        return Response(status: status, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")] + headers,
                        body: String(decoding: data, as: UTF8.self))
    }

    private static func error(_ code: String, _ description: String, status: HTTPResponseStatus = .badRequest, headers: [(String, String)] = []) -> Response {
        json(status, ["error": code, "error_description": description], headers: headers)
    }

    /// RFC 6749 sections 2.3.1, 5.1, 5.2 and 6.
    private func token(path: String, method: HTTPMethod, headers: HTTPHeaders, body: String) -> Response {
        let form = FormEncoding.decode(body).map { Dictionary($0, uniquingKeysWith: { first, _ in first }) }
        let basic = headers.first(name: "Authorization").flatMap(Self.basicCredentials)
        return state.withLock { state in
            state.tokenRequests += 1
            state.lastTokenRequest = TokenRequest(path: path, clientAuthentication: basic == nil ? "body" : "basic", form: form ?? [:])
            switch state.forced {
            case .invalidGrant(let text)?: return Self.error("invalid_grant", text)
            case .serverError?: return Response(status: .internalServerError, headers: [("Content-Type", "text/html")], body: "<h1>down</h1>")
            case .malformedJSON?: return Response(status: .ok, headers: [("Content-Type", "application/json")], body: "{\"access_token\": ")
            case nil: break
            }
            guard method == .POST else { return Self.error("invalid_request", "the token endpoint takes POST") }
            guard headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true, let form else {
                return Self.error("invalid_request", "the body must be application/x-www-form-urlencoded")
            }
            // RFC 6749 section 2.3: one authentication method per request.
            if basic != nil && form["client_secret"] != nil {
                return Self.error("invalid_request", "the client authenticated twice")
            }
            let presented = basic ?? (form["client_id"] ?? "", form["client_secret"] ?? "")
            guard presented.0 == clientID, presented.1 == clientSecret else {
                let challenge: [(String, String)] = basic == nil ? [] : [("WWW-Authenticate", "Basic realm=\"token\"")]
                return Self.error("invalid_client", "client authentication failed", status: .unauthorized, headers: challenge)
            }
            if form["grant_type"] == "client_credentials" {
                // RFC 6749 section 4.4.3: an access token for the client itself, no refresh token.
                state.serial += 1
                let accessToken = "at-\(state.serial)-\(UUID().uuidString)"
                let scope = form["scope"] ?? ""
                state.accessTokens[accessToken] = IssuedToken(
                    username: "app:\(clientID)", scope: scope, clientID: clientID,
                    expires: Date(timeIntervalSinceNow: TimeInterval(state.lifetime)))
                return Self.json(.ok, ["access_token": accessToken, "token_type": "Bearer", "expires_in": state.lifetime, "scope": scope])
            }
            guard form["grant_type"] == "refresh_token" else {
                return Self.error("unsupported_grant_type", "only refresh_token and client_credentials are supported")
            }
            guard let used = form["refresh_token"], let grant = state.refreshTokens[used], grant.clientID == clientID else {
                return Self.error("invalid_grant", "the refresh token is invalid, expired or revoked")
            }
            // RFC 6749 section 6: the scope asked for must be within the original grant.
            let granted = Set(grant.scope.split(separator: " "))
            if let asked = form["scope"], !Set(asked.split(separator: " ")).isSubset(of: granted) {
                return Self.error("invalid_scope", "the scope exceeds the grant")
            }
            state.serial += 1
            let accessToken = "at-\(state.serial)-\(UUID().uuidString)"
            state.accessTokens[accessToken] = IssuedToken(
                username: grant.username, scope: form["scope"] ?? grant.scope, clientID: grant.clientID,
                expires: Date(timeIntervalSinceNow: TimeInterval(state.lifetime)))
            var object: [String: Any] = [
                "access_token": accessToken, "token_type": "Bearer", "expires_in": state.lifetime, "scope": form["scope"] ?? grant.scope,
            ]
            if state.rotateRefreshTokens {
                let next = "rt-\(state.serial)-\(UUID().uuidString)"
                state.refreshTokens[used] = nil
                state.refreshTokens[next] = grant
                object["refresh_token"] = next
            }
            return Self.json(.ok, object)
        }
    }

    /// RFC 7662 sections 2.1 and 2.2: `token=...` in a form body; the answer is
    /// `{"active": false}` for anything not usable now.
    private func introspection(method: HTTPMethod, headers: HTTPHeaders, body: String) -> Response {
        let form = FormEncoding.decode(body).map { Dictionary($0, uniquingKeysWith: { first, _ in first }) }
        return state.withLock { state in
            state.introspections += 1
            guard method == .POST, let token = form?["token"] else { return Self.error("invalid_request", "POST token=...") }
            guard let issued = state.accessTokens[token], !issued.revoked, issued.expires > Date() else {
                return Self.json(.ok, ["active": false])
            }
            return Self.json(.ok, [
                "active": true, "username": issued.username, "scope": issued.scope, "client_id": issued.clientID,
                "token_type": "Bearer", "exp": Int(issued.expires.timeIntervalSince1970),
            ])
        }
    }

    /// RFC 6749 section 2.3.1: Basic credentials are the form-encoded id and secret.
    private static func basicCredentials(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1])), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":"),
              let pairs = FormEncoding.decode("u=\(text[..<colon])&p=\(text[text.index(after: colon)...])"),
              pairs.count == 2
        else { return nil }
        return (pairs[0].1, pairs[1].1)
    }
}

/// The server, set once it is made, for the connection handlers.
private final class Box: Sendable {
    let server = Mutex<OAuth2TestServer?>(nil)
}

/// One HTTP/1.1 connection: collects each request and writes the server's answer.
private final class HTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: one instance per connection, used only on its channel's event loop.
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: Box
    private var head: HTTPRequestHead?
    private var body = ""

    init(server: Box) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            guard let head, let server = server.server.withLock({ $0 }) else { return }
            self.head = nil
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            server.handle(method: head.method, uri: head.uri, headers: head.headers, body: body) { response in
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.write(response, keepAlive: head.isKeepAlive, context: context)
                }
            }
        }
    }

    private func write(_ response: OAuth2TestServer.Response, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
