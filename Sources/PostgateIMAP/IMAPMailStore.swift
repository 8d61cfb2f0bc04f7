import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateStore

/// The store operations the IMAP server uses, and no others: what `IMAPCommandExecutor`,
/// its responders and `IMAPServerHandler` ask of `MailStore`. The executor is generic over
/// it, so that its behaviour can be tested against a store in memory, and so that the
/// calls of the FETCH loop stay direct (specialised) for `MailStore`.
///
/// Every call may block on files or SQLite: the handler makes them on its thread pool.
public protocol IMAPMailStore: Sendable {
    /// A message being received for APPEND (RFC 9051 section 6.3.12).
    associatedtype Message: IMAPIncomingMessage

    /// Announces changes to mailboxes: a selected mailbox is read again once its version
    /// moved, and IDLE reports changes as they are announced.
    var changes: MailboxChangeFeed { get }

    /// The agent whose name and password these are; nil if they are not an agent's.
    func authenticate(agent name: String, password: String) throws(StoreError) -> AgentIdentity?

    // MARK: Mailboxes (RFC 9051 sections 6.3.3 to 6.3.11)

    /// The mailboxes `agent` sees: its own folders and the shared ones it was granted.
    func visibleMailboxes(agent: AgentIdentity) throws(StoreError) -> [VisibleMailbox]
    func createFolder(agent: AgentIdentity, name: String) throws(StoreError)
    func deleteFolder(agent: AgentIdentity, name: String) throws(StoreError)
    func renameFolder(agent: AgentIdentity, from: String, to: String) throws(StoreError)
    func subscriptions(agent: AgentIdentity) throws(StoreError) -> Set<String>
    func setSubscribed(_ subscribed: Bool, agent: AgentIdentity, name: String) throws(StoreError)

    // MARK: Messages

    /// The mailbox as `agent` sees it; without `details`, only UIDs, flags and mod-sequences.
    func snapshot(_ mailbox: VisibleMailbox, agent: AgentIdentity, details: Bool) throws(StoreError) -> MailboxSnapshot
    /// Takes the mailbox's messages that no session has seen as recent yet for one session
    /// (RFC 3501 section 2.3.2); nil if there are none.
    func claimRecent(in mailbox: VisibleMailbox) throws(StoreError) -> ClosedRange<UInt32>?
    /// The messages with UIDs in `uids`, with size, date and file name.
    func details(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [MessageSummary]
    /// The whole message, or nil if it is gone (expunged by another session meanwhile).
    func content(of message: MessageSummary, in mailbox: VisibleMailbox) throws(StoreError) -> [UInt8]?
    /// The UIDs of the messages whose search text is not in the index yet, ascending.
    func uidsWithoutSearchText(in mailbox: VisibleMailbox) throws(StoreError) -> [UInt32]
    /// Keeps search texts computed from the messages' files.
    func storeSearchTexts(_ texts: [UInt32: MessageSearchText], in mailbox: VisibleMailbox) throws(StoreError)
    /// The UIDs whose search text `field` contains `folded` (case-folded by `IMAPTextSearch.fold`),
    /// and those whose body the index holds only in part, which only their files can answer.
    func searchUIDs(in mailbox: VisibleMailbox, field: MessageSearchText.Field, containing folded: String) throws(StoreError)
        -> (matching: Set<UInt32>, incomplete: Set<UInt32>)
    /// The fetch-cache rows (ENVELOPE, BODYSTRUCTURE, BODY) of the messages with UIDs in `uids`.
    func cachedFetchBatch(
        in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>, items: Set<CachedFetchBatch.Item>
    ) throws(StoreError) -> CachedFetchBatch
    /// Keeps fetch-cache items computed from the messages' files.
    func storeFetchItems(_ items: [UInt32: CachedFetchItems], in mailbox: VisibleMailbox) throws(StoreError)
    /// The kept PREVIEWs (RFC 8970) of the messages with UIDs in `uids`.
    func cachedPreviews(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: String]
    /// Keeps PREVIEWs made from the messages' files.
    func storePreviews(_ previews: [UInt32: String], in mailbox: VisibleMailbox) throws(StoreError)
    /// What the object identifiers (RFC 8474, `ObjectIDs`) of the messages with UIDs in `uids` are made of.
    func objectKeys(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: MessageObjectKeys]
    /// STORE (RFC 9051 section 6.4.6, RFC 7162 section 3.1.3): the messages changed, and the
    /// UIDs left alone because they changed since `unchangedSince`.
    func updateFlags(
        _ mailbox: VisibleMailbox, agent: AgentIdentity, uids: [UInt32], unchangedSince: UInt64?,
        change: (MessageFlags) -> MessageFlags
    ) throws(StoreError) -> (changed: [MessageSummary], modified: [UInt32])
    /// Removes `uids` from the mailbox; returns the UIDs removed.
    func expunge(_ mailbox: VisibleMailbox, uids: [UInt32]) throws(StoreError) -> [UInt32]
    /// COPY (RFC 9051 section 6.4.7): the target's UIDVALIDITY and (source UID, new UID) pairs.
    func copy(
        _ messages: [MessageSummary], from source: VisibleMailbox, to target: VisibleMailbox
    ) throws(StoreError) -> (uidValidity: UInt32, uids: [(UInt32, UInt32)])

    // MARK: APPEND

    /// Starts receiving a message, to be stored by `append` or dropped by its `abort()`.
    func beginMessage() throws(StoreError) -> Message
    /// Stores `message` in `mailbox`; returns once it is durable. A failure drops it.
    func append(
        _ message: Message, to mailbox: VisibleMailbox, flags: MessageFlags, internalDate: Date
    ) throws(StoreError) -> (uidValidity: UInt32, uid: UInt32)
}

/// A message being received for APPEND, piece by piece: then stored
/// (`IMAPMailStore.append`) or dropped. One caller at a time owns it.
public protocol IMAPIncomingMessage: AnyObject {
    /// Octets written so far.
    var size: Int { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError)
    /// Drops the message and what holds it (its spool file). Safe to call twice.
    func abort()
}

extension IncomingMessage: IMAPIncomingMessage {}

extension MailStore: IMAPMailStore {}
