import Foundation

/// One message in one mailbox, as the index holds it.
public struct StoredMessage: Sendable, Codable, Equatable {
    public var mailboxID: Int64
    public var mailboxPath: String
    /// The IMAP UID, unique and ascending within the mailbox (RFC 9051 section 2.3.1.1).
    public var uid: UInt32
    /// The base name in `new/` or `cur/`, without the `:2,` info part.
    public var filename: String
    public var size: Int
    public var internalDate: Date
    /// Maildir flag letters.
    public var flags: String
    public var mailFrom: String
    public var rcptTo: String
    public var headerFrom: String?
    public var headerTo: String?
    public var headerCc: String?
    public var subject: String?
    public var date: String?
    public var messageID: String?
    public var inReplyTo: String?
    public var references: String?
    /// The inbound policy's label (`auto-reply`, `blocked`, `quarantined:<reason>`), nil
    /// for an ordinary message; see `PolicyVerdict.label`.
    public var policy: String? = nil
    /// `high` or `low` as the sender marked it (`MessageImportance`); nil for normal.
    public var importance: String? = nil
    /// The session the message belongs to; nil for messages stored before the index had sessions.
    public var sessionID: Int64?
    /// Which layer put it there (`SessionMatchReason` raw value).
    public var sessionReason: String?
    /// The session it joined had an owner or a queue of its own when it was stored, so the
    /// message is filed further (`MailStore.followSessions`).
    public var sessionPlaced = false
    /// The queue id of the SMTP transaction or fetch that delivered it; nil for a message
    /// APPENDed or copied by IMAP.
    public var queueID: String? = nil

    public init(
        mailboxID: Int64, mailboxPath: String, uid: UInt32, filename: String, size: Int,
        internalDate: Date, flags: String = "", mailFrom: String, rcptTo: String,
        headerFrom: String? = nil, headerTo: String? = nil, headerCc: String? = nil,
        subject: String? = nil, date: String? = nil, messageID: String? = nil,
        inReplyTo: String? = nil, references: String? = nil, sessionID: Int64? = nil, sessionReason: String? = nil
    ) {
        self.mailboxID = mailboxID
        self.mailboxPath = mailboxPath
        self.uid = uid
        self.filename = filename
        self.size = size
        self.internalDate = internalDate
        self.flags = flags
        self.mailFrom = mailFrom
        self.rcptTo = rcptTo
        self.headerFrom = headerFrom
        self.headerTo = headerTo
        self.headerCc = headerCc
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.sessionID = sessionID
        self.sessionReason = sessionReason
    }
}
