import NIOCore
import PostgateListener

extension ConnectionLimiter.Refusal {
    /// The reply refusing a connection from `address` (RFC 5321 section 3.8: a server may
    /// refuse service with 421 and close).
    public func smtpReply(address: String) -> SMTPReply {
        switch self {
        case .total: SMTPReply(421, "4.3.2", "Too many connections, try again later")
        case .perAddress: SMTPReply(421, "4.7.0", "Too many connections from \(address), try again later")
        }
    }
}

extension RefusalHandler {
    /// Sends `reply` and closes.
    public convenience init(reply: SMTPReply) {
        var buffer = ByteBuffer()
        reply.write(to: &buffer)
        self.init(message: buffer)
    }
}
