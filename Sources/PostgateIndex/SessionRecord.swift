import Foundation

/// A session as the admin commands show it (`postgate session list/show --json`).
///
/// JSON keys: `id`, `address`, `customer`, `status` (`open` | `closed`), `mode`, `subject`,
/// `startedAt`, `lastActivityAt`, `expiresAt`, `previousSessionId`, `messageCount`,
/// `participants`, `owner` (the agent who owns it), `queue` (where a transfer moved it; null:
/// where the filters route it), `awaitingSince` (the first customer message no agent has
/// answered yet). Scripts and the end-to-end tests rely on them.
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
    public var owner: String?
    public var queue: String?
    public var awaitingSince: Date?

    public var isOpen: Bool { status == "open" }

    public init(id: Int64, address: String, customer: String, status: String, mode: String, subject: String?,
                startedAt: Date, lastActivityAt: Date, expiresAt: Date, previousSessionId: Int64?,
                messageCount: Int, participants: [String], owner: String? = nil, queue: String? = nil, awaitingSince: Date? = nil) {
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
        self.owner = owner
        self.queue = queue
        self.awaitingSince = awaitingSince
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
        try container.encode(owner, forKey: .owner)
        try container.encode(queue, forKey: .queue)
        try container.encode(awaitingSince, forKey: .awaitingSince)
    }
}

/// One change in who works a session or where (`postgate session show`): `owner` (an
/// agent's first reply made it theirs), `assigned`, `transferred`, `closed`, `handed-over`
/// (a bot gave it to people, with its note for the agents).
///
/// JSON keys: `at`, `kind`, `actor` (the agent, `cli`, `token:NAME`, `last-agent`,
/// `no-reply`, `idle-timeout`, `bot`), `agent`, `fromQueue`, `toQueue`, `detail`; null where absent.
public struct SessionEventRecord: Sendable, Codable, Equatable {
    public var at: Date
    public var kind: String
    public var actor: String
    public var agent: String?
    public var fromQueue: String?
    public var toQueue: String?
    public var detail: String?

    public init(at: Date, kind: String, actor: String, agent: String? = nil, fromQueue: String? = nil, toQueue: String? = nil,
                detail: String? = nil) {
        self.at = at
        self.kind = kind
        self.actor = actor
        self.agent = agent
        self.fromQueue = fromQueue
        self.toQueue = toQueue
        self.detail = detail
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(at, forKey: .at)
        try container.encode(kind, forKey: .kind)
        try container.encode(actor, forKey: .actor)
        try container.encode(agent, forKey: .agent)
        try container.encode(fromQueue, forKey: .fromQueue)
        try container.encode(toQueue, forKey: .toQueue)
        try container.encode(detail, forKey: .detail)
    }
}
