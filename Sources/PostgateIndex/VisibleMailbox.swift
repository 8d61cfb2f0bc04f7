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
}
