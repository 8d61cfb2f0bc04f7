/// The stored message an agent's reply answers: what threading the reply needs.
public struct OutboundReplyParent: Sendable, Equatable {
    /// Its Message-ID, as stored (`<…>`); empty when it has none (the reply then names no
    /// In-Reply-To).
    public var messageID: String
    /// Its References field, as stored; nil when it has none.
    public var references: String?
    /// The session it belongs to.
    public var sessionID: Int64?

    public init(messageID: String, references: String?, sessionID: Int64?) {
        self.messageID = messageID
        self.references = references
        self.sessionID = sessionID
    }
}
