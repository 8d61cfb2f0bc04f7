import NIOCore
import Synchronization

/// Counts live SMTP sessions in total and per client IP address, so one client (or a
/// flood) cannot take every session a listener has. Shared by all listeners of a process.
public final class SMTPConnectionLimiter: Sendable {
    private struct Counts {
        var total = 0
        var perAddress: [String: Int] = [:]
    }

    public let maxConnections: Int
    public let maxConnectionsPerAddress: Int
    private let counts = Mutex(Counts())

    public init(maxConnections: Int, maxConnectionsPerAddress: Int) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// Takes a place for a session from `address`, or returns the 421 reply that refuses it
    /// (RFC 5321 section 3.8: a server may refuse service with 421 and close).
    public func admit(_ address: String) -> SMTPReply? {
        counts.withLock { counts in
            if counts.total >= maxConnections {
                return SMTPReply(421, "4.3.2", "Too many connections, try again later")
            }
            if counts.perAddress[address, default: 0] >= maxConnectionsPerAddress {
                return SMTPReply(421, "4.7.0", "Too many connections from \(address), try again later")
            }
            counts.total += 1
            counts.perAddress[address, default: 0] += 1
            return nil
        }
    }

    /// Gives back the place of a session that `admit` let in.
    public func release(_ address: String) {
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.perAddress[address, default: 1] - 1
            counts.perAddress[address] = left > 0 ? left : nil
        }
    }

    /// Sessions open now.
    public var activeConnections: Int { counts.withLock { $0.total } }
}

/// Sends one reply and closes: what a refused connection gets instead of a session.
public final class SMTPRefusalHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let reply: SMTPReply

    public init(reply: SMTPReply) {
        self.reply = reply
    }

    public func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        reply.write(to: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
