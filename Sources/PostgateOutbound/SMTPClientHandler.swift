import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import PostgateStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The channel handler of one outbound SMTP session: a thin shell that feeds the replies
/// framed by `SMTPReplyDecoder` into `SMTPClientStateMachine` and carries out its actions
/// (writing commands, starting TLS, streaming the message file, timing out).
///
/// The message file is opened on the thread pool while the session starts (`message`), and
/// read in 64 KiB chunks there; the next chunk is read only once the previous one is
/// written, so memory stays bounded for any size. No file call runs on the event loop.
final class SMTPClientHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPClientReply
    typealias OutboundOut = ByteBuffer

    private static let chunkSize = 65_536

    private var stateMachine: SMTPClientStateMachine
    private let timeouts: SMTPClientTimeouts
    private let tlsContext: NIOSSLContext?
    private let result: EventLoopPromise<SMTPSessionResult>
    /// The message file, being opened on the thread pool; its owner (`SMTPClient`) closes it.
    /// nil for a probe, which sends no message.
    private let message: EventLoopFuture<QueuedMessageFile>?
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private var timeoutTask: Scheduled<Void>?
    private var encoder = SMTPDataEncoder()
    private var closed = false

    init(
        stateMachine: SMTPClientStateMachine, timeouts: SMTPClientTimeouts, tlsContext: NIOSSLContext?,
        message: EventLoopFuture<QueuedMessageFile>?, threadPool: NIOThreadPool,
        result: EventLoopPromise<SMTPSessionResult>, logger: Logger
    ) {
        self.stateMachine = stateMachine
        self.timeouts = timeouts
        self.tlsContext = tlsContext
        self.message = message
        self.threadPool = threadPool
        self.result = result
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleTimeout(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        timeoutTask?.cancel()
        perform(stateMachine.connectionClosed("closed by the server"), context: context)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        logger.trace("S: \(reply)")
        perform(stateMachine.receive(reply), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            perform(stateMachine.tlsEstablished(), context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let actions = stateMachine.stage == .tlsHandshake
            ? stateMachine.tlsFailed("\(error)")
            : stateMachine.connectionClosed("\(error)")
        perform(actions, context: context)
        context.close(promise: nil)
    }

    // MARK: Actions

    /// Consecutive command lines go out in one write (a PIPELINING group, RFC 2920).
    private func perform(_ actions: [SMTPClientStateMachine.Action], context: ChannelHandlerContext) {
        var lines = ByteBuffer()
        for action in actions {
            if case .send(let line) = action {
                // AUTH and every SASL response carry a credential.
                logger.trace("C: \(stateMachine.stage == .auth ? "AUTH …" : line)")
                lines.writeString(line + "\r\n")
                continue
            }
            if lines.readableBytes > 0 {
                context.writeAndFlush(wrapOutboundOut(lines), promise: nil)
                lines.clear()
            }
            switch action {
            case .send:
                break
            case .startTLS:
                startTLS(context: context)
            case .sendMessage:
                sendMessage(context: context)
            case .finish(let outcomes):
                result.succeed(SMTPSessionResult(outcomes: outcomes, steps: stateMachine.steps))
            case .close:
                closed = true
                context.close(promise: nil)
            }
        }
        if lines.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(lines), promise: nil) }
        scheduleTimeout(context: context)
    }

    private func startTLS(context: ChannelHandlerContext) {
        guard let tlsContext else {
            perform(stateMachine.tlsFailed("no TLS configuration"), context: context)
            return
        }
        let host = stateMachine.endpoint.host
        let serverName = host.isIPAddress ? nil : host
        do {
            let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName)
            try context.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            perform(stateMachine.tlsFailed("\(error)"), context: context)
        }
    }

    // MARK: The message (RFC 5321 section 4.5.2)

    private func sendMessage(context: ChannelHandlerContext) {
        guard let message else {
            perform(stateMachine.localFailure("no message to send"), context: context)
            return
        }
        message.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            guard !self.closed else { return }
            switch result {
            case .failure(let error):
                let path = self.stateMachine.request.path
                self.perform(self.stateMachine.localFailure("cannot read the queued message \(path): \(error)"), context: context)
            case .success(let file):
                self.streamNextChunk(file, context: context)
            }
        }
    }

    private func streamNextChunk(_ file: QueuedMessageFile, context: ChannelHandlerContext) {
        threadPool.runIfActive(eventLoop: context.eventLoop) {
            try file.read(maximum: Self.chunkSize)
        }.assumeIsolated().whenComplete { result in
            guard !self.closed else { return }
            switch result {
            case .failure(let error):
                self.perform(self.stateMachine.localFailure("cannot read the queued message: \(error)"), context: context)
            case .success(let bytes):
                self.writeChunk(bytes, from: file, context: context)
            }
        }
    }

    private func writeChunk(_ bytes: [UInt8], from file: QueuedMessageFile, context: ChannelHandlerContext) {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 16 + 8)
        let last = bytes.isEmpty
        if last {
            encoder.finish(into: &output)
        } else {
            encoder.encode(bytes, into: &output)
        }
        scheduleTimeout(context: context, seconds: last ? timeouts.dataTermination : timeouts.dataBlock)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: output))).assumeIsolated().whenSuccess {
            if !last && !self.closed { self.streamNextChunk(file, context: context) }
        }
    }

    // MARK: Timeouts (RFC 5321 section 4.5.3.2)

    private func scheduleTimeout(context: ChannelHandlerContext, seconds: Double? = nil) {
        timeoutTask?.cancel()
        guard !closed, let limit = seconds ?? timeout(for: stateMachine.stage) else { return }
        timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(limit * 1000))) {
            guard !self.closed else { return }
            self.perform(self.stateMachine.timedOut(), context: context)
            self.closed = true
            context.close(promise: nil)
        }
    }

    private func timeout(for stage: SMTPClientStateMachine.Stage) -> Double? {
        switch stage {
        case .greeting: timeouts.greeting
        case .dataInitiation: timeouts.dataInitiation
        case .dataTermination: nil // set per chunk by writeChunk
        case .done: nil
        default: timeouts.command
        }
    }
}

/// What one session found: the outcome per recipient (none for a probe) and the set-up steps.
struct SMTPSessionResult: Sendable {
    var outcomes: [OutboundRecipientOutcome]
    var steps: [SMTPProbeStep]
}

extension String {
    /// True for an IPv4 or IPv6 literal (no TLS server name is sent for those, RFC 6066).
    var isIPAddress: Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, self, &v4) == 1 || inet_pton(AF_INET6, self, &v6) == 1
    }
}
