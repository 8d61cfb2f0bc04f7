/// The stored sessions of ONE channel address, as the resolver queries them. The store
/// implements it inside the delivery transaction; tests implement it in memory.
public protocol SessionLookup {
    /// The session with this id, if it belongs to the address.
    func session(id: Int64) throws -> SessionCandidate?
    /// Sessions holding a message whose Message-ID is one of `messageIDs`, in the order of
    /// `messageIDs` (the first id's session first), without repeats.
    func sessions(containingMessageIDs messageIDs: [String]) throws -> [SessionCandidate]
    /// Sessions holding a message with this Outlook Thread-Index root, newest first.
    func sessions(threadIndexRoot: String) throws -> [SessionCandidate]
    /// The customer's most recent session on the address, open or closed.
    func latestSession(customer: String) throws -> SessionCandidate?
}
