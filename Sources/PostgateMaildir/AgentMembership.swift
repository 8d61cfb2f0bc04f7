import PostgateMessage

/// What an agent can belong to, each shown to the agent as a shared IMAP folder: the
/// mailbox of a channel address (`Shared/<address>`) or an agents' work queue
/// (`Shared/Queues/<queue>`, where routed mail is worked on).
public enum AgentMembership: Sendable, Equatable, CustomStringConvertible {
    case address(EmailAddress)
    case queue(String)

    /// How messages name it: the address, or `queue <name>`.
    public var description: String {
        switch self {
        case .address(let address): address.display
        case .queue(let name): "queue \(name)"
        }
    }
}
