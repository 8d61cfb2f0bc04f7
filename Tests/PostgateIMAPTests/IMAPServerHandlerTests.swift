import NIOCore
import NIOEmbedded
import NIOPosix
import PostgateListener
import PostgateStore
import Testing
@testable import PostgateIMAP

/// The handler over EmbeddedChannel: framing, continuation requests, refusals.
@Suite struct IMAPServerHandlerTests {
    private func channel(_ fixture: IMAPStoreFixture, pool: NIOThreadPool) throws -> EmbeddedChannel {
        let handler = IMAPServerHandler(
            configuration: IMAPServerConfiguration(hostname: "imap.test", maxLineLength: 1000, maxLiteralSize: 100),
            store: fixture.store, threadPool: pool, tlsContext: nil, implicitTLS: false,
            throttle: LoginThrottle(), clientIP: "127.0.0.1")
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return text
    }

    @Test func greetingCapabilityAndRefusals() throws {
        let fixture = try IMAPStoreFixture()
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { try? pool.syncShutdownGracefully() }
        let channel = try channel(fixture, pool: pool)
        #expect(try output(channel).hasPrefix("* OK [CAPABILITY IMAP4rev1 "))
        try channel.writeInbound(ByteBuffer(string: "a CAPABILITY\r\nb LOGIN alice {13}\r\n"))
        let first = try output(channel)
        #expect(first.contains("LOGINDISABLED") && first.hasSuffix("a OK CAPABILITY completed\r\n+ Ready for literal data\r\n"), "\(first)")
        try channel.writeInbound(ByteBuffer(string: "correct horse\r\n"))
        #expect(try output(channel) == "b NO [PRIVACYREQUIRED] Log in only after STARTTLS\r\n")
        try channel.writeInbound(ByteBuffer(string: "c APPEND INBOX {500}\r\n"))
        #expect(try output(channel) == "c NO Log in first\r\n", "refused before the client sends the message")
        try channel.writeInbound(ByteBuffer(string: "c2 LOGIN {1001}\r\n"))
        #expect(try output(channel) == "c2 NO [TOOBIG] Literal too large\r\n", "an argument literal is bounded as a line is")
        try channel.writeInbound(ByteBuffer(string: "d NOOP " + String(repeating: "x", count: 2000) + "\r\ne NOOP\r\n"))
        #expect(try output(channel) == "d BAD Command line too long\r\ne OK NOOP completed\r\n")
        try channel.writeInbound(ByteBuffer(string: "f LOGOUT\r\n"))
        #expect(try output(channel).hasSuffix("f OK LOGOUT completed\r\n"))
    }

    @Test func nonSynchronizingLiteralTooLargeCloses() throws {
        let fixture = try IMAPStoreFixture()
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { try? pool.syncShutdownGracefully() }
        let channel = try channel(fixture, pool: pool)
        _ = try output(channel)
        try channel.writeInbound(ByteBuffer(string: "a LOGIN {5000+}\r\n"))
        #expect(try output(channel) == "a BAD [TOOBIG] Literal too large\r\n* BYE Literal too large\r\n")
        #expect(!channel.isActive)
    }

    /// Before login only small literals are taken (RFC 7888 LITERAL-), whatever the line
    /// length allows; the greeting says so.
    @Test func literalsBeforeLoginAreSmall() throws {
        let fixture = try IMAPStoreFixture()
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { try? pool.syncShutdownGracefully() }
        let handler = IMAPServerHandler(
            configuration: IMAPServerConfiguration(hostname: "imap.test", allowPlaintextAuth: true),
            store: fixture.store, threadPool: pool, tlsContext: nil, implicitTLS: false,
            throttle: LoginThrottle(), clientIP: "127.0.0.1")
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let greeting = try output(channel)
        #expect(greeting.contains(" LITERAL- ") && !greeting.contains("LITERAL+"), "\(greeting)")
        try channel.writeInbound(ByteBuffer(string: "a LOGIN {4097}\r\n"))
        #expect(try output(channel) == "a NO [TOOBIG] Literal too large\r\n", "no continuation for a literal above the limit")
        try channel.writeInbound(ByteBuffer(string: "b LOGIN {4096}\r\n"))
        #expect(try output(channel) == "+ Ready for literal data\r\n")
    }

    /// An unauthenticated session has `loginTimeout` from its start, commands or not.
    @Test func unauthenticatedSessionClosesAfterTheLoginTimeout() throws {
        let fixture = try IMAPStoreFixture()
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { try? pool.syncShutdownGracefully() }
        let handler = IMAPServerHandler(
            configuration: IMAPServerConfiguration(hostname: "imap.test", loginTimeout: 10),
            store: fixture.store, threadPool: pool, tlsContext: nil, implicitTLS: false,
            throttle: LoginThrottle(), clientIP: "127.0.0.1")
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        _ = try output(channel)
        let loop = channel.eventLoop as! EmbeddedEventLoop
        for tag in 0..<3 {
            loop.advanceTime(by: .seconds(3))
            try channel.writeInbound(ByteBuffer(string: "n\(tag) NOOP\r\n"))
        }
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(2))
        #expect(try output(channel).hasSuffix("* BYE Autologout; idle for too long\r\n"))
        #expect(!channel.isActive)
    }
}
