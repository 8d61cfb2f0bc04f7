/// What `SessionResolver` decided for one message in one channel address.
public enum SessionDecision: Sendable, Equatable {
    /// Add the message to this open session.
    case join(sessionID: Int64, reason: SessionMatchReason)
    /// Start a new session; `previousSessionID` is the customer's expired session it continues.
    case start(previousSessionID: Int64?, reason: SessionMatchReason)

    public var reason: SessionMatchReason {
        switch self {
        case .join(_, let reason), .start(_, let reason): return reason
        }
    }
}
