import Foundation
import NIOCore
import NIOPosix
import PostgateDNS
import PostgateOutbound
import Synchronization
import Testing

/// The SMTP client against a small SMTP server on loopback: the message file is opened and
/// read on the thread pool (its guard stops a debug build that does it on the event loop),
/// and a missing file fails the transaction at the data, as a read error does.
@Suite struct SMTPClientTests {
    /// The message data a server received, from any of its connections.
    final class Received: Sendable {
        private let messages = Mutex<[String]>([])

        func append(_ message: String) { messages.withLock { $0.append(message) } }
        var all: [String] { messages.withLock { $0 } }
    }

    /// Answers EHLO, MAIL, RCPT, DATA and QUIT as a server that accepts everything, and
    /// keeps the message data it receives.
    final class FakeServer: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: one instance per connection, used only on its channel's event loop.
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let received: Received
        private var buffered = ""
        private var inData = false

        init(received: Received) {
            self.received = received
        }

        func channelActive(context: ChannelHandlerContext) {
            reply("220 fake.test ESMTP", context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            buffered += String(buffer: unwrapInboundIn(data))
            while true {
                if inData {
                    guard let end = buffered.range(of: "\r\n.\r\n") else { return }
                    received.append(String(buffered[..<end.lowerBound]))
                    buffered = String(buffered[end.upperBound...])
                    inData = false
                    reply("250 2.0.0 queued", context: context)
                } else {
                    guard let end = buffered.range(of: "\r\n") else { return }
                    let line = buffered[..<end.lowerBound].uppercased()
                    buffered = String(buffered[end.upperBound...])
                    switch line.prefix(4) {
                    case "EHLO": reply("250-fake.test\r\n250 8BITMIME", context: context)
                    case "MAIL", "RCPT", "RSET": reply("250 2.1.0 ok", context: context)
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
        }

        private func reply(_ text: String, context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
        }
    }

    final class Fixture: @unchecked Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 2)
        let received = Received()
        let directory = NSTemporaryDirectory() + "/postgate-client-" + UUID().uuidString
        var server: (any Channel)?

        init() async throws {
            pool.start()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let received = self.received
            server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(FakeServer(received: received))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        deinit {
            try? server?.close().wait()
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }

        var client: SMTPClient {
            SMTPClient(configuration: SMTPClientConfiguration(heloName: "gw.test"), group: group, threadPool: pool)
        }

        var endpoint: SMTPEndpoint {
            SMTPEndpoint(host: "127.0.0.1", port: server?.localAddress?.port ?? 0, tls: .none)
        }

        func request(path: String) -> SMTPDeliveryRequest {
            SMTPDeliveryRequest(sender: "support@acme.test", recipients: ["jane@example.test", "joe@example.test"], path: path, size: 0)
        }
    }

    @Test func theMessageFileIsStreamedFromTheThreadPool() async throws {
        let f = try await Fixture()
        let path = f.directory + "/message"
        let body = (1...5000).map { "line \($0)" }.joined(separator: "\r\n")  // several 64 KiB chunks
        try Data(("Subject: hello\r\n\r\n.dot\r\n" + body + "\r\n").utf8).write(to: URL(fileURLWithPath: path))
        let outcomes = await f.client.deliver(f.request(path: path), to: f.endpoint)
        #expect(outcomes == Array(repeating: .delivered(reply: "250 2.0.0 queued"), count: 2))
        #expect(f.received.all == ["Subject: hello\r\n\r\n..dot\r\n" + body])
    }

    @Test func aMissingMessageFileFailsTheTransactionAtTheData() async throws {
        let f = try await Fixture()
        let path = f.directory + "/gone"
        let outcomes = await f.client.deliver(f.request(path: path), to: f.endpoint)
        let reason = "cannot read the queued message \(path): No such file or directory"
        #expect(outcomes == Array(repeating: .temporary(reason: reason), count: 2))
        #expect(f.received.all.isEmpty)
    }

    /// Direct MX delivery asks the stub resolver on the thread pool it is given: a pool
    /// that is not running answers nothing, a running one the resolver's own outcome.
    @Test func mxLookupsRunOnTheGivenThreadPool() async throws {
        let f = try await Fixture()
        // A loopback UDP port with nothing behind it: the query is refused at once.
        let closed = DNSServerAddress(host: "127.0.0.1", port: 9)
        let resolver = DNSResolver(configuration: .init(servers: [closed], timeout: 1, attempts: 1))
        await #expect(throws: NIOThreadPoolError.ThreadPoolInactive.self) {
            try await DNSOutboundResolver(resolver: resolver, threadPool: NIOThreadPool(numberOfThreads: 1)).mx("example.test")
        }
        await #expect(throws: DNSError.self) {
            try await DNSOutboundResolver(resolver: resolver, threadPool: f.pool).mx("example.test")
        }
    }
}
