import Foundation

/// Recipients of one outbound message that failed and whose sender has not been told yet:
/// what a delivery status notification (RFC 3464) is made from.
public struct OutboundFailureReport: Sendable, Equatable {
    public var messageID: Int64
    /// The queued message file (kept until the notification is stored; its header is quoted).
    public var path: String
    /// The envelope sender to notify; empty for `<>` (never notified, RFC 3461 section 6.2).
    public var sender: String
    /// When the message was queued (the DSN's Arrival-Date).
    public var createdAt: Date
    /// The failed recipients, each with its attempts and the last reply.
    public var recipients: [OutboundRecipientRecord]
    /// The agent who sent it (its INBOX gets the notification); nil when unknown.
    public var agent: String? = nil
}
