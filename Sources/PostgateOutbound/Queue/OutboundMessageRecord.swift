import Foundation

/// A message in the outbound queue with its recipients, as `postgate outbound list|show`
/// print it (the JSON keys are a contract for scripts).
public struct OutboundMessageRecord: Sendable, Codable, Equatable {
    public var id: Int64
    /// The file under `DATA/outbound/` (removed once no recipient is left to try).
    public var filename: String
    /// The envelope sender; empty for the null reverse-path `<>`.
    public var sender: String
    public var size: Int
    public var createdAt: Date
    public var expiresAt: Date
    public var recipients: [OutboundRecipientRecord]
    /// For an auto-reply (RFC 3834), its kind: `in` or `out` (working hours); absent for
    /// an agent's reply.
    public var autoReply: String?
    /// The session a reply belongs to; absent for a message queued outside any session.
    public var sessionId: Int64? = nil

    /// `pending` while a recipient is queued or deferred, else `done`.
    public var state: String {
        recipients.contains { $0.state == .queued || $0.state == .deferred } ? "pending" : "done"
    }
}
