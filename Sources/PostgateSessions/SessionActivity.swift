/// Whether a message counts as the customer's activity in a session, from the inbound
/// policy's verdict (`message.policy`).
///
/// Only a customer's ordinary message starts a session or keeps one open (the idle
/// timeout, `sessions.idle_timeout`, runs from the last one). Flagged mail (auto-replies, blocked
/// senders) and the returning copy of Postgate's own reply are filed in the session they
/// belong to, if any, but never start or extend one.
public enum SessionActivity: Sendable, Equatable {
    /// An ordinary message: joins or starts a session and extends it.
    case customer
    /// Kept for audit (an auto-reply, a blocked sender): joins an open session it matches,
    /// else has none; never starts or extends one.
    case flagged
    /// The copy of a reply Postgate sent in `sessionID` (its signed Message-ID verified and
    /// its From a hosted address) that came back, e.g. through the Bcc to the contact
    /// centre being forwarded to the channel address (loop protection): filed in that
    /// session, never a new interaction.
    case ownReply(sessionID: Int64)
}
