import Foundation

/// A stored session as the resolver sees it: who it belongs to and whether it is still open.
public struct SessionCandidate: Sendable, Equatable {
    public var id: Int64
    /// The customer's canonical address.
    public var customer: String
    /// Canonical addresses of everyone else recorded in the session (Cc'd colleagues…).
    public var participants: Set<String>
    /// When it expires without a customer reply; nil for a session already closed.
    public var expiresAt: Date?

    public init(id: Int64, customer: String, participants: Set<String> = [], expiresAt: Date?) {
        self.id = id
        self.customer = customer
        self.participants = participants
        self.expiresAt = expiresAt
    }

    public func isOpen(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt > now
    }

    /// True when `address` may continue this session: the customer or a recorded participant.
    /// Guards against wrong merges (a newsletter's replies share one In-Reply-To).
    public func admits(_ address: String) -> Bool {
        address == customer || participants.contains(address)
    }
}
