import PostgateMaildir
/// Why an outbound queue operation failed, in one line an administrator can act on.
public enum OutboundQueueError: Error, Sendable, Equatable, CustomStringConvertible {
    case store(StoreError)
    case noRecipients
    case messageNotFound(Int64)

    public var description: String {
        switch self {
        case .store(let error): error.description
        case .noRecipients: "a queued message needs at least one recipient"
        case .messageNotFound(let id): "there is no outbound message \(id); see `postgate outbound list`"
        }
    }
}
