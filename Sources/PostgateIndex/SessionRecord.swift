import Foundation

/// A session as the admin commands show it (`postgate session list/show --json`).
///
/// JSON keys: `id`, `address`, `customer`, `status` (`open` | `closed`), `mode`, `subject`,
/// `startedAt`, `lastActivityAt`, `expiresAt`, `previousSessionId`, `messageCount`,
/// `participants`. Scripts and the end-to-end tests rely on them.
public struct SessionRecord: Sendable, Codable, Equatable {
    public var id: Int64
    /// The channel address (canonical).
    public var address: String
    public var customer: String
    public var status: String
    public var mode: String
    public var subject: String?
    public var startedAt: Date
    public var lastActivityAt: Date
    public var expiresAt: Date
    public var previousSessionId: Int64?
    public var messageCount: Int
    /// Everyone recorded in the session, the customer first.
    public var participants: [String]

    public var isOpen: Bool { status == "open" }

    public init(id: Int64, address: String, customer: String, status: String, mode: String, subject: String?,
                startedAt: Date, lastActivityAt: Date, expiresAt: Date, previousSessionId: Int64?,
                messageCount: Int, participants: [String]) {
        self.id = id
        self.address = address
        self.customer = customer
        self.status = status
        self.mode = mode
        self.subject = subject
        self.startedAt = startedAt
        self.lastActivityAt = lastActivityAt
        self.expiresAt = expiresAt
        self.previousSessionId = previousSessionId
        self.messageCount = messageCount
        self.participants = participants
    }

    /// Writes every key, nulls included, so scripts see a stable set of keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(address, forKey: .address)
        try container.encode(customer, forKey: .customer)
        try container.encode(status, forKey: .status)
        try container.encode(mode, forKey: .mode)
        try container.encode(subject, forKey: .subject)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(lastActivityAt, forKey: .lastActivityAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(previousSessionId, forKey: .previousSessionId)
        try container.encode(messageCount, forKey: .messageCount)
        try container.encode(participants, forKey: .participants)
    }
}
