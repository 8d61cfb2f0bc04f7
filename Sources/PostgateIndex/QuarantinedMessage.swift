import Foundation
import PostgatePolicy

/// A message the inbound policy held back for one receiving address, waiting in that
/// address's quarantine Maildir for an administrator to release or delete it.
///
/// The JSON form (`postgate quarantine list --json`) has the keys `id`, `address`,
/// `reason`, `receivedAt`, `mailFrom`, `from`, `to`, `subject`, `size`, `mailboxPath` and
/// `filename`.
public struct QuarantinedMessage: Sendable, Equatable, Encodable {
    /// The message row's id: what `postgate quarantine show|release|delete` take.
    public var id: Int64
    /// The receiving address (canonical).
    public var address: String
    /// The reason code, e.g. `sender-domain-not-allowed` or `not-a-recipient`.
    public var reason: String
    /// The address's own mailbox, where a release delivers the message.
    public var addressMailbox: MailboxTarget
    /// The row in the quarantine mailbox.
    public var message: StoredMessage

    package init(id: Int64, address: String, reason: String, addressMailbox: MailboxTarget, message: StoredMessage) {
        self.id = id
        self.address = address
        self.reason = reason
        self.addressMailbox = addressMailbox
        self.message = message
    }

    package enum CodingKeys: String, CodingKey {
        case id, address, reason, receivedAt, mailFrom, from, to, subject, size, mailboxPath, filename
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(address, forKey: .address)
        try container.encode(reason, forKey: .reason)
        try container.encode(message.internalDate, forKey: .receivedAt)
        try container.encode(message.mailFrom, forKey: .mailFrom)
        try container.encode(message.headerFrom, forKey: .from)
        try container.encode(message.headerTo, forKey: .to)
        try container.encode(message.subject, forKey: .subject)
        try container.encode(message.size, forKey: .size)
        try container.encode(message.mailboxPath, forKey: .mailboxPath)
        try container.encode(message.filename, forKey: .filename)
    }
}
