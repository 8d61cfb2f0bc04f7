import NIOCore
import PostgateListener

extension ConnectionLimiter.Refusal {
    /// The greeting refusing a connection from `address` (RFC 9051 section 7.1.5: BYE
    /// instead of the greeting when the server will not take the connection).
    public func imapGreeting(address: String) -> ByteBuffer {
        switch self {
        case .total: ByteBuffer(string: "* BYE [UNAVAILABLE] Too many connections, try again later\r\n")
        case .perAddress: ByteBuffer(string: "* BYE [UNAVAILABLE] Too many connections from \(address), try again later\r\n")
        }
    }
}
