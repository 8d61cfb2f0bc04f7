import Foundation

/// A contact-centre agent who logs in over IMAP, as `postgate agent list --json` shows it.
/// The JSON keys are `name`, `displayName`, `addresses`, `queues`, `createdAt`, `email`,
/// `signatureText` and `signatureHTML` (null when not set); the password hash is never shown.
public struct AgentRecord: Sendable, Codable, Equatable {
    /// The login name (lower case).
    public var name: String
    public var displayName: String?
    /// The channel addresses whose shared mailboxes the agent sees (canonical form).
    public var addresses: [String]
    /// The work queues whose shared folders (`Shared/Queues/<queue>`) the agent sees.
    public var queues: [String]
    public var createdAt: Date
    /// The agent's own address, the From of its replies on addresses with personal replies on.
    public var email: String?
    /// The agent's signature, appended to its replies after the address's footer: Mustache
    /// templates over `SignatureValues` (checked when set).
    public var signatureText: String?
    public var signatureHTML: String?

    public init(name: String, displayName: String?, addresses: [String], queues: [String] = [], createdAt: Date,
                email: String? = nil, signatureText: String? = nil, signatureHTML: String? = nil) {
        self.name = name
        self.displayName = displayName
        self.addresses = addresses
        self.queues = queues
        self.createdAt = createdAt
        self.email = email
        self.signatureText = signatureText
        self.signatureHTML = signatureHTML
    }

    enum CodingKeys: String, CodingKey {
        case name, displayName, addresses, queues, createdAt, email, signatureText, signatureHTML
    }

    /// Every key, `null` where nothing is set, so scripts see a stable set.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(addresses, forKey: .addresses)
        try c.encode(queues, forKey: .queues)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(email, forKey: .email)
        try c.encode(signatureText, forKey: .signatureText)
        try c.encode(signatureHTML, forKey: .signatureHTML)
    }
}

/// A change to an agent's profile: each field nil to keep it, `.some(nil)` to clear it.
public struct AgentProfileChange: Sendable, Equatable {
    public var email: String??
    public var signatureText: String??
    public var signatureHTML: String??

    public init(email: String?? = nil, signatureText: String?? = nil, signatureHTML: String?? = nil) {
        self.email = email
        self.signatureText = signatureText
        self.signatureHTML = signatureHTML
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
