import NIOCore
import NIOTLS

/// Closes a connection whose TLS handshake is not done in time (as Postfix's
/// `smtpd_starttls_timeout`): a client that opens TLS, by implicit TLS (RFC 8314) or
/// STARTTLS (RFC 3207, RFC 9051 section 6.2.1), and then sends nothing must not hold a
/// session slot.
///
/// Goes right after the TLS handler, which announces the end of the handshake with
/// `TLSUserEvent.handshakeCompleted`; the deadline starts when this handler is added to an
/// active channel, or when the channel becomes active. It removes itself once the
/// handshake is done.
public final class TLSHandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var done = false

    public init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        arm(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            done = true
            deadline?.cancel()
            deadline = nil
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func arm(context: ChannelHandlerContext) {
        guard deadline == nil, !done else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }
}
