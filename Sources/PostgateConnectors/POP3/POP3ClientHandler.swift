import NIOCore
import NIOTLS

/// The channel handler of a POP3 client connection: a thin shell around
/// `POP3ResponseFramer`. Commands written to it go out as lines and register the kind of
/// their response; the bytes read become `POP3ResponseEvent`s; a completed TLS handshake
/// becomes `.tlsEstablished`. While a response is due, the server has `responseTimeout`
/// seconds for each read; then the channel fails with `POP3Error.timeout` and closes.
final class POP3ClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = POP3ResponseEvent
    typealias OutboundIn = POP3Command
    typealias OutboundOut = ByteBuffer

    private var framer: POP3ResponseFramer
    private var buffer = ConnectorReadBuffer()
    private var clock: ConnectorResponseClock
    private var failed = false

    init(framer: POP3ResponseFramer = POP3ResponseFramer(), responseTimeout: TimeAmount) {
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
        clock.stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        buffer.append(unwrapInboundIn(data))
        do {
            while let event = try framer.next(&buffer.bytes) {
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            // Bytes left from before the handshake were plain text: dropped (RFC 2595 section 4).
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
        framer.expect(command.response)
        var line = context.channel.allocator.buffer(capacity: command.line.utf8.count + 2)
        line.writeString(command.line)
        line.writeStaticString("\r\n")
        context.write(wrapOutboundOut(line), promise: promise)
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
        clock.stop()
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func armTimeout(context: ChannelHandlerContext) {
        clock.stop()
        guard !failed, framer.isAwaitingResponse else { return }
        let seconds = clock.seconds
        clock.restart(on: context.eventLoop) {
            self.fail(context: context, error: POP3Error.timeout("no response from the server within \(seconds) seconds"))
        }
    }
}
