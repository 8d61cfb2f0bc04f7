/// A reply whose recipients are all settled and at least one has it: its copy goes into
/// the sender address's mailbox, the session's thread (where the agents see it).
public struct OutboundThreadCopy: Sendable, Equatable {
    public var messageID: Int64
    /// The queued message file (kept until the copy is stored).
    public var path: String
    /// The channel address that sent it.
    public var sender: String
    /// The agent who sent it (its Sent folder gets a copy); nil when unknown.
    public var agent: String? = nil
    /// The session it belongs to (the address mailbox gets a copy); nil when none.
    public var sessionID: Int64? = nil
}
