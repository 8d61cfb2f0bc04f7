import Foundation

/// A contact-centre agent who logs in over IMAP, as `postgate agent list --json` shows it.
/// The JSON keys are `name`, `displayName`, `addresses`, `queues` and `createdAt`; the password hash
/// is never shown.
public struct AgentRecord: Sendable, Codable, Equatable {
    /// The login name (lower case).
    public var name: String
    public var displayName: String?
    /// The channel addresses whose shared mailboxes the agent sees (canonical form).
    public var addresses: [String]
    /// The work queues whose shared folders (`Shared/Queues/<queue>`) the agent sees.
    public var queues: [String]
    public var createdAt: Date

    public init(name: String, displayName: String?, addresses: [String], queues: [String] = [], createdAt: Date) {
        self.name = name
        self.displayName = displayName
        self.addresses = addresses
        self.queues = queues
        self.createdAt = createdAt
    }
}

/// The identity of a logged-in agent, kept by an IMAP session.
public struct AgentIdentity: Sendable, Equatable {
    public var id: Int64
    public var name: String

    public init(id: Int64, name: String) {
        self.id = id
        self.name = name
    }
}
