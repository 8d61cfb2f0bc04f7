import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgateDirectory
import PostgateGateway
import PostgateMessage
import PostgateOutbound
import Synchronization
import Testing

/// `SendingGatewayProbe` against a submission server on loopback (STARTTLS, then AUTH PLAIN
/// checking the user and password): each step with the server's reply, the failed step last,
/// and the test message sent by normal delivery.
@Suite struct SendingGatewayProbeTests {
    final class Seen: Sendable {
        let commands = Mutex<[String]>([])
        let messages = Mutex<[String]>([])
    }

    /// STARTTLS (RFC 3207), AUTH PLAIN (RFC 4616) for `user`/`password`, MAIL/RCPT/DATA, QUIT.
    final class SubmissionServer: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: one instance per connection, used only on its channel's event loop.
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        static let user = "support@customer.example"
        static let password = "submission pass"

        let tls: NIOSSLContext
        let seen: Seen
        private var buffered = ""
        private var inData = false
        private var tlsActive = false

        init(tls: NIOSSLContext, seen: Seen) {
            self.tls = tls
            self.seen = seen
        }

        func channelActive(context: ChannelHandlerContext) {
            reply("220 submission.test ESMTP ready", context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            buffered += String(buffer: unwrapInboundIn(data))
            while true {
                if inData {
                    guard let end = buffered.range(of: "\r\n.\r\n") else { return }
                    seen.messages.withLock { $0.append(String(buffered[..<end.lowerBound])) }
                    buffered = String(buffered[end.upperBound...])
                    inData = false
                    reply("250 2.0.0 queued as T1", context: context)
                    continue
                }
                guard let end = buffered.range(of: "\r\n") else { return }
                let line = String(buffered[..<end.lowerBound])
                buffered = String(buffered[end.upperBound...])
                let words = line.split(separator: " ").map(String.init)
                let verb = words.first?.uppercased() ?? ""
                seen.commands.withLock { $0.append(verb) }
                switch verb {
                case "EHLO":
                    reply(tlsActive ? "250-submission.test\r\n250 AUTH PLAIN LOGIN" : "250-submission.test\r\n250 STARTTLS", context: context)
                case "STARTTLS":
                    reply("220 2.0.0 go ahead", context: context)
                    try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                    tlsActive = true
                case "AUTH" where words.count == 3 && words[1] == "PLAIN" && tlsActive:
                    let expected = Data("\0\(Self.user)\0\(Self.password)".utf8).base64EncodedString()
                    reply(words[2] == expected ? "235 2.7.0 Authentication successful" : "535 5.7.8 Authentication credentials invalid", context: context)
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

        private func reply(_ text: String, context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
        }
    }

    /// A stored password, or an error opening it.
    struct Credentials: SendingCredentialSource {
        var password: String?

        func smtpCredentials(address: EmailAddress, settings: SendingGatewaySettings) async throws -> SMTPCredentials {
            guard let password else { throw Unreadable() }
            return SMTPCredentials(user: settings.username, password: password)
        }
    }

    struct Unreadable: Error, CustomStringConvertible {
        var description: String { "the secret key cannot open the stored password" }
    }

    final class Fixture: @unchecked Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        let seen = Seen()
        let server: any Channel

        init() async throws {
            let (certificate, key) = try TLSMaterial.makeSelfSigned(hostname: "submission.test")
            let tls = try NIOSSLContext(configuration: TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))))
            let seen = seen
            server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SubmissionServer(tls: tls, seen: seen))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            pool.start()
        }

        func shutdown() async throws {
            try await server.close()
            try await pool.shutdownGracefully()
            try await group.shutdownGracefully()
        }

        func probe(password: String?, sendTo: String? = nil, port: Int? = nil) async throws -> [GatewayProbeStep] {
            var settings = SendingGatewaySettings()
            settings.host = "127.0.0.1"
            settings.port = port ?? server.localAddress?.port
            settings.tls = .starttls
            settings.username = SubmissionServer.user
            settings.connectionTimeoutMS = 10_000
            let probe = SendingGatewayProbe(
                address: try EmailAddress("support@acme.test"), settings: settings, credentials: Credentials(password: password),
                clientConfiguration: SMTPClientConfiguration(heloName: "gw.test", verifyCertificates: false),
                eventLoopGroup: group, threadPool: pool, sendTo: try sendTo.map { try EmailAddress($0) },
                logger: Logger(label: "test"))
            return await probe.run()
        }
    }

    static func withFixture(_ body: (Fixture) async throws -> Void) async throws {
        let f = try await Fixture()
        do {
            try await body(f)
        } catch {
            try await f.shutdown()
            throw error
        }
        try await f.shutdown()
    }

    @Test func everyStepSucceedsAndNothingIsSent() async throws {
        try await Self.withFixture { f in
            let steps = try await f.probe(password: SubmissionServer.password)
            #expect(steps.map(\.step) == ["open stored password", "connect", "ehlo", "starttls", "ehlo", "authenticate"])
            #expect(steps.allSatisfy { $0.ok }, "\(steps)")
            #expect(steps[1].detail.contains("220 submission.test ESMTP ready"))
            #expect(steps[3].detail.contains("220 2.0.0 go ahead"))
            #expect(steps[5].detail.contains("235 2.7.0") && steps[5].detail.contains(SubmissionServer.user))
            #expect(!f.seen.commands.withLock { $0 }.contains("MAIL"))
            #expect(f.seen.commands.withLock { $0 }.last == "QUIT")
        }
    }

    @Test func aWrongPasswordFailsAuthenticateWithTheServersReply() async throws {
        try await Self.withFixture { f in
            let steps = try await f.probe(password: "wrong", sendTo: "jane@example.test")
            #expect(steps.last?.step == "authenticate")
            #expect(steps.last?.ok == false)
            #expect(steps.last?.detail == "535 5.7.8 Authentication credentials invalid")
            #expect(steps.dropLast().allSatisfy { $0.ok })
            #expect(f.seen.messages.withLock { $0 }.isEmpty, "no test message after a failed step")
        }
    }

    @Test func theTestMessageGoesByNormalDelivery() async throws {
        try await Self.withFixture { f in
            let steps = try await f.probe(password: SubmissionServer.password, sendTo: "jane@example.test")
            #expect(steps.last?.step == "send test message")
            #expect(steps.last?.ok == true)
            #expect(steps.last?.detail.contains("250 2.0.0 queued as T1") == true)
            let messages = f.seen.messages.withLock { $0 }
            #expect(messages.count == 1)
            let message = messages.first ?? ""
            #expect(message.contains("From: <support@acme.test>\r\n"))
            #expect(message.contains("To: <jane@example.test>\r\n"))
            #expect(message.contains("Subject: Postgate connection test\r\n"))
            #expect(message.contains("\r\nDate: ") && message.contains("\r\nMessage-ID: <"))
        }
    }

    @Test func anUnopenablePasswordStopsBeforeConnecting() async throws {
        try await Self.withFixture { f in
            let steps = try await f.probe(password: nil)
            #expect(steps.map(\.step) == ["open stored password"])
            #expect(steps.first?.ok == false)
            #expect(steps.first?.detail.contains("cannot open the stored password") == true)
            #expect(f.seen.commands.withLock { $0 }.isEmpty)
        }
    }

    @Test func aRefusedConnectionFailsConnect() async throws {
        try await Self.withFixture { f in
            let steps = try await f.probe(password: SubmissionServer.password, port: 1)
            #expect(steps.map(\.step) == ["open stored password", "connect"])
            #expect(steps.last?.ok == false)
        }
    }
}
