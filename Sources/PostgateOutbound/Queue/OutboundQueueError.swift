import PostgateAutoReply
import PostgateMaildir
/// Why an outbound queue operation failed, in one line an administrator can act on.
public enum OutboundQueueError: Error, Sendable, Equatable, CustomStringConvertible {
    case store(StoreError)
    case noRecipients
    case messageNotFound(Int64)
    /// An auto-reply the limits no longer allow (another was queued meanwhile).
    case autoReplyHeld(AutoReplySkip)

    public var description: String {
        switch self {
        case .store(let error): error.description
        case .noRecipients: "a queued message needs at least one recipient"
        case .messageNotFound(let id): "there is no outbound message \(id); see `postgate outbound list`"
        case .autoReplyHeld(let reason): "auto-reply not queued: \(reason)"
        }
    }
}
