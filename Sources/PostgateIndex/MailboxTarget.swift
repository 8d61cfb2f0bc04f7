import PostgateMessage

/// Where an accepted recipient's copy of a message goes: one mailbox of the store.
public struct MailboxTarget: Sendable, Hashable {
    /// The mailbox's key in the index.
    public var mailboxID: Int64
    /// The Maildir, relative to the data directory.
    public var mailboxPath: String
    /// The hosted address (never the alias) that owns the mailbox, in canonical form.
    public var address: EmailAddress

    public init(mailboxID: Int64, mailboxPath: String, address: EmailAddress) {
        self.mailboxID = mailboxID
        self.mailboxPath = mailboxPath
        self.address = address
    }
}
