import Foundation
import PostgateMessage

/// A hosted address with its published settings, aliases and the mailbox its mail is
/// delivered to.
///
/// The JSON form (`postgate address list --json`) has the keys `email`, `displayName`,
/// `channelName`, `enabled`, `aliases`, `usage`, `defaultQueue`, `domainKind`, `hasDraft`, `settings` (every
/// published setting, see `ChannelSettings`), `mailboxPath`, `messageCount` and `createdAt`.
public struct AddressRecord: Sendable, Codable, Equatable {
    /// The canonical address: lower-case local part, A-label domain.
    public var email: String
    /// The published (live) settings; a pending draft is not applied here.
    public var settings: ChannelSettings
    /// Whether edits wait for `postgate publish`.
    public var hasDraft: Bool
    public var domainKind: DomainKind
    /// The Maildir, relative to the data directory (`maildir/acme.test/support`).
    public var mailboxPath: String
    public var messageCount: Int
    public var createdAt: Date

    public var displayName: String? { settings.displayName }
    /// A disabled address keeps its mailbox but SMTP refuses mail for it.
    public var enabled: Bool { settings.enabled }
    /// Canonical forms of the other addresses delivering to the same mailbox.
    public var aliases: [String] { settings.aliases }

    public init(
        email: String, settings: ChannelSettings, hasDraft: Bool, domainKind: DomainKind,
        mailboxPath: String, messageCount: Int, createdAt: Date
    ) {
        self.email = email
        self.settings = settings
        self.hasDraft = hasDraft
        self.domainKind = domainKind
        self.mailboxPath = mailboxPath
        self.messageCount = messageCount
        self.createdAt = createdAt
    }

    package enum CodingKeys: String, CodingKey {
        case email, displayName, channelName, enabled, aliases, usage, defaultQueue, domainKind, hasDraft, settings
        case mailboxPath, messageCount, createdAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        email = try c.decode(String.self, forKey: .email)
        settings = try c.decode(ChannelSettings.self, forKey: .settings)
        hasDraft = try c.decode(Bool.self, forKey: .hasDraft)
        domainKind = try c.decode(DomainKind.self, forKey: .domainKind)
        mailboxPath = try c.decode(String.self, forKey: .mailboxPath)
        messageCount = try c.decode(Int.self, forKey: .messageCount)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
    }

    /// Writes every key, absent values as `null`, so scripts see a stable set of keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(email, forKey: .email)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(settings.channelName, forKey: .channelName)
        try c.encode(enabled, forKey: .enabled)
        try c.encode(aliases, forKey: .aliases)
        try c.encode(settings.usage, forKey: .usage)
        try c.encode(settings.defaultQueue, forKey: .defaultQueue)
        try c.encode(domainKind, forKey: .domainKind)
        try c.encode(hasDraft, forKey: .hasDraft)
        try c.encode(settings, forKey: .settings)
        try c.encode(mailboxPath, forKey: .mailboxPath)
        try c.encode(messageCount, forKey: .messageCount)
        try c.encode(createdAt, forKey: .createdAt)
    }
}
