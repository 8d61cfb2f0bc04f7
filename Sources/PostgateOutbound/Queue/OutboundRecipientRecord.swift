import Foundation

/// One recipient of an outbound message and where its delivery stands.
public struct OutboundRecipientRecord: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case queued, deferred, delivered, failed
    }

    public var id: Int64
    public var address: String
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastAttemptAt: Date?
    /// The server's reply (delivered, failed) or the reason of the last temporary failure.
    public var lastReply: String?
}
