import NIOCore

/// What a refused connection gets instead of a session: one message (an SMTP 421, an
/// IMAP BYE), then the connection is closed, at the latest after `sendTimeout` if the
/// client does not read it. Input is ignored.
public final class RefusalHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let message: ByteBuffer
    private let sendTimeout: TimeAmount
    private var refused = false

    public init(message: ByteBuffer, sendTimeout: TimeAmount = .seconds(10)) {
        self.message = message
        self.sendTimeout = sendTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        refuse(context: context)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        context.writeAndFlush(wrapOutboundOut(message)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: sendTimeout) {
            context.close(promise: nil)
        }
    }
}
