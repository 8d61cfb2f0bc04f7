import NIOCore
import NIOTLS

/// The channel handler of an IMAP client connection: a thin shell around
/// `IMAPResponseFramer`. Command pieces written to it go out as they are; the bytes read become
/// `IMAPClientEvent`s; a completed TLS handshake becomes `.tlsEstablished`.
///
/// Timing: from a command until its tagged response, the server has `responseTimeout` for each
/// read; then the channel fails with `IMAPClientError.timeout` and closes. During IDLE the
/// clock stops at the server's continuation and the caller's time runs instead: when it passes,
/// `.idleTimerFired` goes up (RFC 2177 section 3: the client ends IDLE with DONE).
final class IMAPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = IMAPClientEvent
    typealias OutboundIn = IMAPClientCommand
    typealias OutboundOut = ByteBuffer

    private var framer: IMAPResponseFramer
    private var buffer = ConnectorReadBuffer()
    private var clock: ConnectorResponseClock
    private var idleTask: Scheduled<Void>?
    /// A command was sent and its tagged response has not come, or the greeting is due.
    private var awaitingResponse = true
    private var awaitingGreeting = true
    /// The seconds of an IDLE whose continuation has not come yet.
    private var idleSeconds: Double?
    private var failed = false

    init(framer: IMAPResponseFramer = IMAPResponseFramer(), responseTimeout: TimeAmount) {
        self.framer = framer
        self.clock = ConnectorResponseClock(timeout: responseTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armTimeout(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armTimeout(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        buffer.append(unwrapInboundIn(data))
        do {
            while let event = try framer.next(&buffer.bytes) {
                observe(event, context: context)
                context.fireChannelRead(wrapInboundOut(event))
            }
        } catch {
            fail(context: context, error: error)
            return
        }
        buffer.compact()
        // Bytes came; the clock starts again with the next read.
        clock.stop()
    }

    /// The response clock's view of an event.
    private func observe(_ event: IMAPClientEvent, context: ChannelHandlerContext) {
        switch event {
        case .response(.untagged(.status)) where awaitingGreeting:
            awaitingGreeting = false
            awaitingResponse = false
        case .response(.tagged), .streamedResponse(.tagged):
            awaitingResponse = false
            idleSeconds = nil
        case .response(.continuation):
            if let seconds = idleSeconds {
                // The server idles: no response is due until DONE; the caller's time runs.
                idleSeconds = nil
                awaitingResponse = false
                idleTask?.cancel()
                idleTask = context.eventLoop.assumeIsolated().scheduleTask(in: ConnectorTransport.timeAmount(seconds: seconds)) {
                    self.idleTask = nil
                    context.fireChannelRead(self.wrapInboundOut(.idleTimerFired))
                    context.fireChannelReadComplete()
                }
            }
        default:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            // Bytes left from before the handshake were plain text: dropped (RFC 9051 section 6.2.1).
            buffer.clear()
            framer.tlsEstablished()
            context.fireChannelRead(wrapInboundOut(.tlsEstablished))
            // Readers may hold events until the read completes; this one has no read of its own.
            context.fireChannelReadComplete()
            armTimeout(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        if let tag = command.tag, command.startsTLS { framer.expectStartTLS(tag: tag) }
        if case .idle(let seconds) = command.timing { idleSeconds = seconds }
        // A DONE (or any other line) ends the caller's time of an IDLE.
        idleTask?.cancel()
        idleTask = nil
        awaitingResponse = true
        awaitingGreeting = false
        var bytes = context.channel.allocator.buffer(capacity: command.bytes.count)
        bytes.writeBytes(command.bytes)
        context.write(wrapOutboundOut(bytes), promise: promise)
        armTimeout(context: context)
    }

    /// The clock runs while a read is outstanding and a response is due. A consumer that is
    /// not ready (a slow sink for a message) holds the next read back, so the server is not
    /// blamed for that pause.
    func read(context: ChannelHandlerContext) {
        armTimeout(context: context)
        context.read()
    }

    private func fail(context: ChannelHandlerContext, error: any Error) {
        failed = true
        cancelTimers()
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func cancelTimers() {
        clock.stop()
        idleTask?.cancel()
        idleTask = nil
    }

    private func armTimeout(context: ChannelHandlerContext) {
        clock.stop()
        guard !failed, awaitingResponse || framer.discardingUntilTLS else { return }
        let seconds = clock.seconds
        clock.restart(on: context.eventLoop) {
            self.fail(context: context, error: IMAPClientError.timeout("waiting \(seconds) seconds for the server's response"))
        }
    }
}
