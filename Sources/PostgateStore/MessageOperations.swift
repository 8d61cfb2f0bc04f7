/// Index changes behind IMAP's message commands: reading a mailbox as an agent sees it,
/// changing flags, removing rows, adding copies. Files are handled by `MailStore`.
/// `SQLiteMessageOperations` is the single-node implementation.
protocol MessageOperations: Sendable {
    /// The mailbox with every message, `\Seen` taken per agent where the mailbox keeps it private.
    func snapshot(mailboxID: Int64, agentID: Int64) throws(StoreError) -> MailboxSnapshot
    /// Applies `change` to the flags of each message in `uids` (missing ones are skipped)
    /// in one transaction; returns the messages before and after.
    func updateFlags(
        mailboxID: Int64, agentID: Int64, uids: [UInt32], change: (MessageFlags) -> MessageFlags
    ) throws(StoreError) -> [(before: MessageSummary, after: MessageSummary)]
    /// Removes the rows of `uids`; returns the removed messages.
    func deleteMessages(mailboxID: Int64, uids: [UInt32]) throws(StoreError) -> [MessageSummary]
    /// Inserts copies (new UIDs allocated in the target) in one transaction; returns the
    /// new rows in the order given.
    func insertCopies(
        _ sources: [MessageSummary], from mailboxID: Int64, to target: MailboxState, uniqueNames: [String]
    ) throws(StoreError) -> [StoredMessage]
    /// Sets the keywords of one message (after APPEND).
    func setKeywords(_ keywords: String, mailboxID: Int64, uid: UInt32) throws(StoreError)
    /// Keeps `\Seen` per agent (true) or shared (false) in a mailbox.
    func setPrivateSeen(_ enabled: Bool, mailboxID: Int64) throws(StoreError)
}
