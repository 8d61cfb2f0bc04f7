import PostgateMaildir
/// Index changes behind IMAP's message commands: reading a mailbox as an agent sees it,
/// changing flags, removing rows, adding copies. Files are handled by `MailStore`.
/// `SQLiteMessageIndex` is the single-node implementation.
package protocol MessageOperations: Sendable {
    /// The mailbox with every message, `\Seen` taken per agent where the mailbox keeps it
    /// private; without `details`, no sizes, dates or file names (`MessageSummary.hasDetails`).
    func snapshot(mailboxID: Int64, agentID: Int64, details: Bool) throws(StoreError) -> MailboxSnapshot
    /// The messages whose UIDs are in `uids`, with their details (flags as stored, without a private `\Seen`).
    func details(mailboxID: Int64, uids: ClosedRange<UInt32>) throws(StoreError) -> [MessageSummary]
    /// Applies `change` to the flags of each message in `uids` (missing ones are skipped)
    /// in one transaction, except to those whose mod-sequence is above `unchangedSince`;
    /// the changed messages get one new mod-sequence.
    func updateFlags(
        mailboxID: Int64, agentID: Int64, uids: [UInt32], unchangedSince: UInt64?, change: (MessageFlags) -> MessageFlags
    ) throws(StoreError) -> FlagUpdate
    /// Removes the rows of `uids`; returns the removed messages.
    func deleteMessages(mailboxID: Int64, uids: [UInt32]) throws(StoreError) -> [MessageSummary]
    /// Inserts copies (new UIDs allocated in the target) in one transaction; returns the
    /// new rows in the order given. With `keepingQueueID` (Postgate filing a delivered
    /// message further: a bot's queue, a transfer, an owner's folder) the copies keep the
    /// delivery's queue id; an agent's COPY makes a new message and keeps none.
    func insertCopies(
        _ sources: [MessageSummary], from mailboxID: Int64, to target: MailboxState, uniqueNames: [String], keepingQueueID: Bool
    ) throws(StoreError) -> [StoredMessage]
    /// Sets the keywords of one message (after APPEND).
    func setKeywords(_ keywords: String, mailboxID: Int64, uid: UInt32) throws(StoreError)
    /// The UIDs whose search text has no row yet, ascending.
    func uidsWithoutSearchText(mailboxID: Int64) throws(StoreError) -> [UInt32]
    /// Keeps search texts computed from the files, in one transaction; UIDs gone meanwhile are skipped.
    func storeSearchTexts(_ texts: [UInt32: MessageSearchText], mailboxID: Int64) throws(StoreError)
    /// The UIDs whose search text `field` contains `folded` (already case-folded), and
    /// those whose body the index holds only in part (`MessageSearchText.complete`).
    func searchUIDs(mailboxID: Int64, field: MessageSearchText.Field, containing folded: String) throws(StoreError)
        -> (matching: Set<UInt32>, incomplete: Set<UInt32>)
    /// Keeps `\Seen` per agent (true) or shared (false) in a mailbox.
    func setPrivateSeen(_ enabled: Bool, mailboxID: Int64) throws(StoreError)
    /// Takes the messages no session has seen as recent yet for the caller's session
    /// (RFC 3501 section 2.3.2): their UIDs, or nil if there are none. Each UID is
    /// handed out once.
    func claimRecent(mailboxID: Int64) throws(StoreError) -> ClosedRange<UInt32>?
    /// Drops what is kept in memory about a mailbox that was removed.
    func forgetMailbox(_ mailboxID: Int64)
    /// The cached FETCH `items` of the messages whose UIDs are in `uids`, in one query.
    func cachedFetchBatch(mailboxID: Int64, uids: ClosedRange<UInt32>, items: Set<CachedFetchBatch.Item>) throws(StoreError) -> CachedFetchBatch
    /// Keeps FETCH items computed from the files, in one transaction; UIDs gone meanwhile are skipped.
    func storeFetchItems(_ items: [UInt32: CachedFetchItems], mailboxID: Int64) throws(StoreError)
    /// The kept PREVIEWs (RFC 8970) of the messages whose UIDs are in `uids`.
    func cachedPreviews(mailboxID: Int64, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: String]
    /// Keeps PREVIEWs made from the files, in one transaction; UIDs gone meanwhile are skipped.
    func storePreviews(_ previews: [UInt32: String], mailboxID: Int64) throws(StoreError)
    /// What the object identifiers (RFC 8474) of the messages whose UIDs are in `uids` are made of.
    func objectKeys(mailboxID: Int64, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: MessageObjectKeys]
}
