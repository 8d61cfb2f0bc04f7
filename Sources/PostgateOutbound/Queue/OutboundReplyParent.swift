/// The stored message an agent's reply answers: what threading the reply needs.
public struct OutboundReplyParent: Sendable, Equatable {
    /// Its Message-ID, as stored (`<…>`).
    public var messageID: String
    /// Its References field, as stored; nil when it has none.
    public var references: String?
    /// The session it belongs to.
    public var sessionID: Int64?
}
