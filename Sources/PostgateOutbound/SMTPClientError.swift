/// A failure of an SMTP client session that is not a server reply.
public enum SMTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server sent bytes that are not an SMTP reply (or too many of them).
    case malformedReply(String)

    public var description: String {
        switch self {
        case .malformedReply(let reason): "malformed reply from the server: \(reason)"
        }
    }
}
