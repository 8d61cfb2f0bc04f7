/// Why a message joined a session, strongest evidence first. Recorded with the message so
/// an agent (and a test) can see which layer matched.
public enum SessionMatchReason: String, Sendable, Codable, Equatable {
    /// In-Reply-To or References held a Message-ID Postgate signed for this session.
    case signedMessageID = "signed-message-id"
    /// The body carried the hidden marker of a Postgate reply (for relays that rewrite Message-ID).
    case bodyMarker = "body-marker"
    /// In-Reply-To or References named a message already stored in the session.
    case references
    /// Outlook's Thread-Index (MS-OXOMSG section 2.2.1.3) had the root of a message in the session.
    case threadIndex = "thread-index"
    /// Channel mode: the customer's open session on this address.
    case channel
    /// A new session: no thread match (or thread mode and a new thread).
    case newThread = "new-thread"
    /// A new session because the matched one had expired.
    case expired
}
