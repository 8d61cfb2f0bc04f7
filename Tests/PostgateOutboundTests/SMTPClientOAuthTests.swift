import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PostgateGateway
import PostgateOAuth
import PostgateOAuthTesting
import PostgateOutbound
import Synchronization
import Testing

/// The SMTP client authenticating with an OAuth 2.0 access token (RFC 4954 with OAUTHBEARER,
/// RFC 7628, or XOAUTH2) to a submission server on loopback that checks the token with the
/// test authorization server: STARTTLS first, then AUTH, then the message.
@Suite struct SMTPClientOAuthTests {
    /// What the submission server saw.
    final class Seen: Sendable {
        let mechanisms = Mutex<[String]>([])
        let messages = Mutex<[String]>([])
    }

    /// A submission server: STARTTLS, then AUTH with the mechanisms given; a token is valid
    /// when the authorization server finds it active for the user.
    final class SubmissionServer: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: one instance per connection, used only on its channel's event loop.
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let authorization: OAuth2TestServer
        let tls: NIOSSLContext
        let mechanisms: String
        let seen: Seen
        private var buffered = ""
        private var inData = false
        private var tlsActive = false
        private var failingAuth = false

        init(authorization: OAuth2TestServer, tls: NIOSSLContext, mechanisms: String, seen: Seen) {
            self.authorization = authorization
            self.tls = tls
            self.mechanisms = mechanisms
            self.seen = seen
        }

        func channelActive(context: ChannelHandlerContext) {
            reply("220 submission.test ESMTP", context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            buffered += String(buffer: unwrapInboundIn(data))
            while true {
                if inData {
                    guard let end = buffered.range(of: "\r\n.\r\n") else { return }
                    seen.messages.withLock { $0.append(String(buffered[..<end.lowerBound])) }
                    buffered = String(buffered[end.upperBound...])
                    inData = false
                    reply("250 2.0.0 queued", context: context)
                    continue
                }
                guard let end = buffered.range(of: "\r\n") else { return }
                let line = String(buffered[..<end.lowerBound])
                buffered = String(buffered[end.upperBound...])
                if failingAuth {
                    // The client's answer to the error challenge (RFC 7628 section 3.2.3).
                    failingAuth = false
                    reply("535 5.7.8 Authentication credentials invalid", context: context)
                    continue
                }
                let words = line.split(separator: " ").map(String.init)
                switch words.first?.uppercased() ?? "" {
                case "EHLO":
                    reply(tlsActive ? "250-submission.test\r\n250 AUTH \(mechanisms)" : "250-submission.test\r\n250 STARTTLS", context: context)
                case "STARTTLS":
                    reply("220 2.0.0 go ahead", context: context)
                    try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                    tlsActive = true
                case "AUTH" where words.count == 3 && tlsActive:
                    seen.mechanisms.withLock { $0.append(words[1]) }
                    if let (user, token) = Self.bearer(words[2]), authorization.introspect(token)?.username == user {
                        reply("235 2.7.0 Authentication successful", context: context)
                    } else {
                        failingAuth = true
                        let error = #"{"status":"invalid_token","scope":"mail"}"#
                        reply("334 " + Data(error.utf8).base64EncodedString(), context: context)
                    }
                case "MAIL", "RCPT": reply("250 2.1.0 ok", context: context)
                case "DATA":
                    inData = true
                    reply("354 go ahead", context: context)
                case "QUIT":
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "221 bye\r\n"))).assumeIsolated().whenComplete { _ in
                        context.close(promise: nil)
                    }
                    return
                default: reply("500 5.5.1 what?", context: context)
                }
            }
        }

        /// The user and token of an XOAUTH2 or OAUTHBEARER initial response.
        static func bearer(_ base64: String) -> (String, String)? {
            guard let data = Data(base64Encoded: base64) else { return nil }
            let fields = String(decoding: data, as: UTF8.self).split(separator: "\u{1}").map(String.init)
            var user: String?
            var token: String?
            for field in fields {
                if field.hasPrefix("user=") { user = String(field.dropFirst(5)) }
                if field.hasPrefix("n,a=") { user = String(field.dropFirst(4).dropLast()) }
                if field.hasPrefix("auth=Bearer ") { token = String(field.dropFirst(12)) }
            }
            guard let user, let token else { return nil }
            return (user, token)
        }

        private func reply(_ text: String, context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
        }
    }

    final class Fixture: @unchecked Sendable {
        let group: MultiThreadedEventLoopGroup
        let pool = NIOThreadPool(numberOfThreads: 1)
        let seen: Seen
        let authorization: OAuth2TestServer
        let http: HTTPClient
        let source: OAuth2TokenSource
        let directory = NSTemporaryDirectory() + "/postgate-oauth-smtp-" + UUID().uuidString
        let server: any Channel

        init(mechanisms: String) async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            self.group = group
            let authorization = try await OAuth2TestServer()
            authorization.addRefreshToken("rt-ana", username: "ana@acme.test")
            let http = HTTPClient(eventLoopGroup: group, configuration: OAuth2TokenSource.httpClientConfiguration())
            self.authorization = authorization
            self.http = http
            source = OAuth2TokenSource(
                settings: OAuth2Settings(tokenEndpoint: authorization.tokenURL, clientID: authorization.clientID,
                                         clientSecret: authorization.clientSecret, refreshToken: "rt-ana"),
                httpClient: http)
            let (certificate, key) = try TLSMaterial.makeSelfSigned(hostname: "submission.test")
            let tls = try NIOSSLContext(configuration: TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))))
            let seen = Seen()
            self.seen = seen
            server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            SubmissionServer(authorization: authorization, tls: tls, mechanisms: mechanisms, seen: seen))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            pool.start()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data("Subject: hello\r\n\r\nhi\r\n".utf8).write(to: URL(fileURLWithPath: directory + "/message"))
        }

        func shutdown() async throws {
            try await server.close()
            try await http.shutdown()
            try await authorization.shutdown()
            try await pool.shutdownGracefully()
            try await group.shutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }

        func deliver(_ credentials: SMTPCredentials) async -> [OutboundRecipientOutcome] {
            let client = SMTPClient(configuration: SMTPClientConfiguration(heloName: "gw.test", verifyCertificates: false), group: group, threadPool: pool)
            let endpoint = SMTPEndpoint(host: "127.0.0.1", port: server.localAddress?.port ?? 0, tls: .required, credentials: credentials)
            let request = SMTPDeliveryRequest(sender: "ana@acme.test", recipients: ["joe@example.test"], path: directory + "/message", size: 0)
            return await client.deliver(request, to: endpoint)
        }
    }

    /// A fixture for `body`, shut down afterwards whether or not `body` throws.
    static func withFixture(mechanisms: String, _ body: (Fixture) async throws -> Void) async throws {
        let f = try await Fixture(mechanisms: mechanisms)
        do {
            try await body(f)
        } catch {
            try await f.shutdown()
            throw error
        }
        try await f.shutdown()
    }

    @Test(arguments: ["XOAUTH2", "XOAUTH2 OAUTHBEARER"])
    func aTokenFromTheTokenSourceIsAccepted(mechanisms: String) async throws {
        try await Self.withFixture(mechanisms: mechanisms) { f in
            let token = try await f.source.accessToken()
            let outcomes = await f.deliver(SMTPCredentials(user: "ana@acme.test", bearerToken: token.value))
            #expect(outcomes == [.delivered(reply: "250 2.0.0 queued")])
            #expect(f.seen.mechanisms.withLock { $0 } == [mechanisms.hasSuffix("OAUTHBEARER") ? "OAUTHBEARER" : "XOAUTH2"])
            #expect(f.seen.messages.withLock { $0 } == ["Subject: hello\r\n\r\nhi"])
        }
    }

    @Test func aRevokedTokenIsRefusedWithTheServersErrorAndAFreshOneWorks() async throws {
        try await Self.withFixture(mechanisms: "XOAUTH2") { f in
            let token = try await f.source.accessToken()
            f.authorization.revoke(accessToken: token.value)
            let refused = await f.deliver(SMTPCredentials(user: "ana@acme.test", bearerToken: token.value))
            #expect(refused == [.temporary(reason: "535 5.7.8 Authentication credentials invalid (status invalid_token, scope mail)")])
            #expect(f.seen.messages.withLock { $0 }.isEmpty)

            // The caller drops the refused token; the next one comes from a new refresh.
            await f.source.invalidate(token)
            let fresh = try await f.source.accessToken()
            #expect(await f.deliver(SMTPCredentials(user: "ana@acme.test", bearerToken: fresh.value)) == [.delivered(reply: "250 2.0.0 queued")])
            #expect(f.authorization.tokenRequestCount == 2)
        }
    }
}
