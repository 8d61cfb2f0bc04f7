import NIOCore
import NIOEmbedded
import NIOSSL
import PostgateGateway
import PostgateListener
import PostgateMessage
import Testing
@testable import PostgateSMTP

/// The channel handler driven through `EmbeddedChannel`: real bytes in, real replies out,
/// with a delegate that keeps messages in memory.
@Suite struct SMTPServerHandlerTests {
    final class MemoryWriter: SMTPMessageWriter, @unchecked Sendable {
        let eventLoop: any EventLoop
        var bytes = ByteBuffer()
        var committedHeader: MessageHeader?
        var aborted = false
        /// When set, each write returns this future (backpressure).
        var gate: EventLoopPromise<Void>?

        init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

        func write(_ chunk: ByteBuffer) -> EventLoopFuture<Void>? {
            var chunk = chunk
            bytes.writeBuffer(&chunk)
            return gate?.futureResult
        }

        func commit(header: MessageHeader) -> EventLoopFuture<String> {
            committedHeader = header
            return eventLoop.makeSucceededFuture("Q1")
        }

        func abort() { aborted = true }
    }

    final class MemoryDelegate: SMTPServerDelegate, @unchecked Sendable {
        var writers: [MemoryWriter] = []
        var gate: EventLoopPromise<Void>?
        /// When set, recipients are answered only once this completes (a slow lookup).
        var recipientGate: EventLoopPromise<Void>?

        func verifyRecipient(_ recipient: EmailAddress, in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<RecipientVerdict> {
            let ok = recipient.domain.ascii == "hosted.test" && recipient.localPart == "b"
            let verdict: RecipientVerdict = ok ? .accept : .reject(SMTPReply(550, "5.1.1", "unknown"))
            guard let recipientGate else { return eventLoop.makeSucceededFuture(verdict) }
            return recipientGate.futureResult.map { verdict }
        }

        func openMessage(for transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<any SMTPMessageWriter> {
            let writer = MemoryWriter(eventLoop: eventLoop)
            writer.gate = gate
            writers.append(writer)
            return eventLoop.makeSucceededFuture(writer)
        }
    }

    struct Harness {
        let channel: EmbeddedChannel
        let delegate: MemoryDelegate

        init(tls: Bool = false, metrics: SMTPMetrics = .disabled, configure: (inout SMTPServerConfiguration) -> Void = { _ in }) throws {
            var configuration = SMTPServerConfiguration(hostname: "mx.test")
            configure(&configuration)
            delegate = MemoryDelegate()
            let context = tls ? try Self.serverTLSContext() : nil
            let handler = SMTPServerHandler(configuration: configuration, delegate: delegate, tlsContext: context,
                                            session: SMTPSessionInfo(remoteAddress: "192.0.2.1"), metrics: metrics)
            channel = EmbeddedChannel(handler: handler)
            try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 4000)).wait()
        }

        /// A server TLS context with a fresh self-signed certificate for mx.test.
        static func serverTLSContext() throws -> NIOSSLContext {
            let (cert, key) = try TLSMaterial.makeSelfSigned(hostname: "mx.test")
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(cert.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem)))
            return try NIOSSLContext(configuration: configuration)
        }

        func send(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        /// Every reply line written so far.
        func replies() throws -> [String] {
            try Self.lines { try channel.readOutbound(as: ByteBuffer.self) }
        }

        /// The three-digit codes of the last lines of each reply written so far.
        func codes() throws -> [String] {
            try Self.finalLines(replies()).map { String($0.prefix(3)) }
        }

        /// The CRLF-separated lines of every buffer `next` yields until it yields nil.
        static func lines(_ next: () throws -> ByteBuffer?) rethrows -> [String] {
            var text = ""
            while var buffer = try next() {
                text += buffer.readString(length: buffer.readableBytes) ?? ""
            }
            return text.split(separator: "\r\n").map(String.init)
        }

        /// The last line of each reply (`250 …`, not `250-…`).
        static func finalLines(_ lines: [String]) -> [String] {
            lines.filter { $0.count >= 4 && $0.dropFirst(3).first == " " }
        }
    }

    @Test func greetingThenFullTransaction() throws {
        let h = try Harness()
        #expect(try h.codes() == ["220"])
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        #expect(try h.codes() == ["250", "250", "250", "354"])
        try h.send("Subject: hello\r\nMessage-ID: <m1@c.test>\r\n\r\n..dot\r\nbody\r\n.\r\n")
        #expect(try h.codes() == ["250"])
        let writer = try #require(h.delegate.writers.first)
        #expect(String(buffer: writer.bytes) == "Subject: hello\r\nMessage-ID: <m1@c.test>\r\n\r\n.dot\r\nbody\r\n")
        #expect(writer.committedHeader?["subject"] == "hello")
        #expect(writer.committedHeader?["message-id"] == "<m1@c.test>")
    }

    @Test func pipelinedRepliesComeInOrder() throws {
        let h = try Harness()
        _ = try h.replies()
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<x@hosted.test>\r\nRCPT TO:<b@hosted.test>\r\nRSET\r\nNOOP\r\n")
        #expect(try h.codes() == ["250", "250", "550", "250", "250", "250"])
    }

    /// Records what each flush sends: the bytes written since the one before.
    final class FlushRecorder: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var pending = ""
        var flushed: [String] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            pending += String(buffer: unwrapOutboundIn(data))
            context.write(data, promise: promise)
        }

        func flush(context: ChannelHandlerContext) {
            if !pending.isEmpty { flushed.append(pending) }
            pending = ""
            context.flush()
        }
    }

    /// RFC 2920 section 3.2: the replies to commands pipelined in one packet and answered at
    /// once leave in one write; but a reply is never held back while the server waits.
    @Test func pipelinedRepliesLeaveInOneWriteUnlessTheServerWaits() throws {
        let h = try Harness()
        let recorder = FlushRecorder()
        try h.channel.pipeline.syncOperations.addHandler(recorder, position: .first)
        try h.send("EHLO c.test\r\n")
        try h.send("MAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        #expect(recorder.flushed.count == 2)
        #expect(recorder.flushed.last?.hasPrefix("250 2.1.0") == true)
        #expect(recorder.flushed.last?.contains("354 ") == true)
        try h.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        recorder.flushed.removeAll()

        let gate = h.channel.eventLoop.makePromise(of: Void.self)
        h.delegate.recipientGate = gate
        try h.send("MAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        #expect(recorder.flushed.map { String($0.prefix(3)) } == ["250"], "MAIL's reply goes out while RCPT waits")
        gate.succeed()
        #expect(recorder.flushed.count == 2)
        #expect(recorder.flushed.last?.hasPrefix("250 2.1.5") == true)
        #expect(recorder.flushed.last?.contains("354 ") == true)
    }

    @Test func smugglingIsRefusedAndSessionClosed() throws {
        let h = try Harness()
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        _ = try h.replies()
        try h.send("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\nsmuggled\r\n.\r\n")
        #expect(try h.codes() == ["554"])
        #expect(!h.channel.isActive)
        #expect(h.delegate.writers.count == 1)
        #expect(h.delegate.writers[0].aborted)
        #expect(h.delegate.writers[0].committedHeader == nil)
    }

    @Test func oversizedMessageIsRefusedAfterItsEnd() throws {
        let h = try Harness { $0.maxMessageSize = 50 }
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        _ = try h.replies()
        try h.send("Subject: x\r\n\r\n" + String(repeating: "y", count: 100) + "\r\n.\r\nNOOP\r\n")
        #expect(try h.codes() == ["552", "250"])
        #expect(h.delegate.writers[0].aborted)
        #expect(h.delegate.writers[0].committedHeader == nil)
    }

    @Test func tooLongCommandLine() throws {
        let h = try Harness()
        _ = try h.replies()
        try h.send(String(repeating: "A", count: 3000) + "\r\nNOOP\r\n")
        #expect(try h.codes() == ["500", "250"])
    }

    @Test func backpressureStopsFramesUntilTheWriterIsReady() throws {
        let h = try Harness()
        let gate = h.channel.eventLoop.makePromise(of: Void.self)
        h.delegate.gate = gate
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        _ = try h.replies()
        try h.send("Subject: x\r\n\r\nfirst\r\n")
        try h.send("second\r\n.\r\n")
        #expect(try h.codes().isEmpty)
        // The first chunk (the header section) was taken; the writer holds back the rest.
        #expect(String(buffer: h.delegate.writers[0].bytes) == "Subject: x\r\n\r\n")
        h.delegate.writers[0].gate = nil
        gate.succeed(())
        #expect(try h.codes() == ["250"])
        #expect(String(buffer: h.delegate.writers[0].bytes) == "Subject: x\r\n\r\nfirst\r\nsecond\r\n")
    }

    @Test func commandTimeoutCloses() throws {
        let h = try Harness { $0.commandTimeout = 10 }
        _ = try h.replies()
        (h.channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .seconds(11))
        #expect(try h.replies().last?.hasPrefix("421 4.4.2") == true)
        #expect(!h.channel.isActive)
    }

    /// RFC 5321 section 4.5.3.2: a command line must arrive whole within the command
    /// timeout; bytes trickling in do not restart it.
    @Test func commandLineTrickledByteByByteTimesOut() throws {
        let h = try Harness { $0.commandTimeout = 10 }
        _ = try h.replies()
        let loop = h.channel.eventLoop as! EmbeddedEventLoop
        for byte in "NOOP and more".utf8 where h.channel.isActive {
            try h.send(String(UnicodeScalar(byte)))
            loop.advanceTime(by: .seconds(1))
        }
        #expect(try h.replies().last?.hasPrefix("421 4.4.2") == true)
        #expect(!h.channel.isActive)
    }

    /// Each whole command starts a new deadline.
    @Test func wholeCommandsKeepTheSessionOpen() throws {
        let h = try Harness { $0.commandTimeout = 10 }
        _ = try h.replies()
        let loop = h.channel.eventLoop as! EmbeddedEventLoop
        for _ in 0..<5 {
            loop.advanceTime(by: .seconds(8))
            try h.send("NOOP\r\n")
        }
        #expect(try h.codes() == ["250", "250", "250", "250", "250"])
        #expect(h.channel.isActive)
    }

    /// Message data must come at `minDataRate` on average past `dataTimeout`.
    @Test func messageDataBelowTheMinimumRateTimesOut() throws {
        let h = try Harness {
            $0.dataTimeout = 10
            $0.minDataRate = 100
        }
        _ = try h.replies()
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        #expect(try h.codes().last == "354")
        let loop = h.channel.eventLoop as! EmbeddedEventLoop
        // 100 octets a second (the minimum) for 30 seconds: still open.
        for _ in 0..<30 {
            try h.send(String(repeating: "x", count: 98) + "\r\n")
            loop.advanceTime(by: .seconds(1))
        }
        #expect(h.channel.isActive)
        // Then 10 octets a second: the deadline (10 s + one second per 100 octets) passes.
        for _ in 0..<60 where h.channel.isActive {
            try h.send("xxxxxxxx\r\n")
            loop.advanceTime(by: .seconds(1))
        }
        #expect(try h.replies().last?.hasPrefix("421 4.4.2") == true)
        #expect(!h.channel.isActive)
    }

    @Test func startTLSDropsPipelinedCommands() throws {
        let h = try Harness(tls: true)
        _ = try h.replies()
        try h.send("EHLO c.test\r\n")
        #expect(try h.replies().contains("250 STARTTLS"))
        try h.send("STARTTLS\r\nMAIL FROM:<evil@c.test>\r\nNOOP\r\n")
        let replies = try h.replies()
        #expect(replies == ["220 2.0.0 Ready to start TLS"])
        // The TLS handler now sits first in the pipeline and waits for a ClientHello.
        #expect((try? h.channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil)
    }

    @Test func quiesceClosesIdleSession() throws {
        let h = try Harness()
        _ = try h.replies()
        h.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try h.replies() == ["421 4.3.2 mx.test Service shutting down, try again later"])
        #expect(!h.channel.isActive)
    }

    @Test func limiterRefusalsAre421() {
        #expect(ConnectionLimiter.Refusal.perAddress.smtpReply(address: "a").code == 421)
        #expect(ConnectionLimiter.Refusal.total.smtpReply(address: "a").enhancedCode == "4.3.2")
    }
}
