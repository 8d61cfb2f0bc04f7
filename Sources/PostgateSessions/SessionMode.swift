/// How an address groups its inbound mail into sessions.
/// Thread-based sessions are only available with channel-based sessions on, so `thread`
/// means both. The address setting (`postgate address set --session-mode`).
public enum SessionMode: String, Sendable, Codable, CaseIterable {
    /// One session per customer and channel address: all mail from the customer to the
    /// address continues the open session.
    case channel
    /// Channel-based, and a new thread (no Message-ID, References, marker or Thread-Index
    /// match) starts a new session even from the same customer.
    case thread
}
