import Foundation
import PostgateMessage
import PostgateSessions

/// A hosted address with its aliases and the mailbox its mail is delivered to.
///
/// The JSON form (`postgate address list --json`) has the keys `email`, `displayName`,
/// `enabled`, `aliases`, `mailboxPath`, `messageCount`, `createdAt` and `sessionMode`; scripts rely on them.
public struct AddressRecord: Sendable, Codable, Equatable {
    /// The canonical address: lower-case local part, A-label domain.
    public var email: String
    public var displayName: String?
    /// A disabled address keeps its mailbox but SMTP refuses mail for it.
    public var enabled: Bool
    /// Canonical forms of the other addresses delivering to the same mailbox.
    public var aliases: [String]
    /// The Maildir, relative to the data directory (`maildir/acme.test/support`).
    public var mailboxPath: String
    public var messageCount: Int
    public var createdAt: Date
    /// How inbound mail is grouped into sessions (issue 4).
    public var sessionMode: SessionMode

    public init(
        email: String, displayName: String?, enabled: Bool, aliases: [String],
        mailboxPath: String, messageCount: Int, createdAt: Date, sessionMode: SessionMode = .channel
    ) {
        self.email = email
        self.displayName = displayName
        self.enabled = enabled
        self.aliases = aliases
        self.mailboxPath = mailboxPath
        self.messageCount = messageCount
        self.createdAt = createdAt
        self.sessionMode = sessionMode
    }

    enum CodingKeys: String, CodingKey {
        case email, displayName, enabled, aliases, mailboxPath, messageCount, createdAt, sessionMode
    }

    /// Writes every key, `displayName` as `null` when there is none, so scripts see a
    /// stable set of keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(email, forKey: .email)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(aliases, forKey: .aliases)
        try container.encode(mailboxPath, forKey: .mailboxPath)
        try container.encode(messageCount, forKey: .messageCount)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(sessionMode, forKey: .sessionMode)
    }
}
