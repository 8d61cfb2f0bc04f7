/// One mailbox as an agent sees it over IMAP: a personal folder or a shared mailbox.
public struct VisibleMailbox: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The agent's own folder (INBOX, Drafts, Sent, Trash or one the agent made).
        case personal
        /// The mailbox of a channel address or a work queue the agent belongs to.
        case shared
    }

    /// The IMAP name, `/`-separated (`INBOX`, `Drafts`, `Shared/support@acme.test`,
    /// `Shared/Queues/general`).
    public var name: String
    public var kind: Kind
    public var mailboxID: Int64
    /// The Maildir, relative to the data directory.
    public var path: String
    /// The SPECIAL-USE attribute (RFC 6154), `\Drafts`, `\Sent`, `\Trash`, if any.
    public var specialUse: String?
    /// `\Seen` is kept per agent instead of shared (Dovecot's private flags).
    public var privateSeen: Bool
    /// Agents may read it but not change it (the standard responses): SELECT opens it as
    /// EXAMINE does, and nothing is appended, copied or moved into it.
    public var readOnly = false

    public init(name: String, kind: Kind, mailboxID: Int64, path: String, specialUse: String?, privateSeen: Bool) {
        self.name = name
        self.kind = kind
        self.mailboxID = mailboxID
        self.path = path
        self.specialUse = specialUse
        self.privateSeen = privateSeen
    }

    /// Where shared mailboxes appear: the shared namespace prefix (RFC 2342).
    public static let sharedPrefix = "Shared/"
    /// Where work queues appear below `sharedPrefix`; queue names have no `@`, so they
    /// never meet an address's folder.
    public static let queuePrefix = "Queues/"
    /// The standard responses below `sharedPrefix`: those for everyone, and below it those
    /// of each queue the agent belongs to.
    public static let responsesName = "Responses"
}
