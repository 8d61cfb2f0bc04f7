/// What one delivery attempt did for one recipient (RFC 5321 section 4.2.1 reply classes).
public enum OutboundRecipientOutcome: Sendable, Equatable {
    /// The server took responsibility (250 after the data): never send to it again.
    case delivered(reply: String)
    /// A 4xx reply, a connection failure or a timeout: try again later.
    case temporary(reason: String)
    /// A 5xx reply: fail at once, keeping the reply for the delivery status notification.
    case permanent(reason: String)

    /// The reply or reason, as kept in `last_reply`.
    public var text: String {
        switch self {
        case .delivered(let text), .temporary(let text), .permanent(let text): text
        }
    }
}
