import Foundation
import PostgateSessions
import PostgateMaildir

/// The index of mailboxes and messages: what IMAP and the admin tools query instead of
/// reading Maildirs, and the record of which deliveries were acknowledged.
///
/// `SQLiteMessageIndex` is the single-node implementation; a shared (PostgreSQL) one can
/// implement the same requirements without touching the protocol code.
package protocol MessageIndex: Sendable {
    /// Allocates the next UID of each message's mailbox and inserts all rows in one
    /// transaction: either every message is acknowledged or none is. Each message's
    /// `uid` and `filename` are filled in from `uniqueName` and the allocated UID, and its
    /// session assigned. A message the mailbox already holds (a duplicate) is left out of
    /// the result and not inserted. All messages share one file (`uniqueName`), made
    /// durable as `durability` says: its journalled content is inserted with the rows
    /// (`DeliveryJournal`), or its flush awaited last in the transaction, whose failure
    /// rolls the transaction back. A fetched message's `checkpoint` is recorded in the same
    /// transaction (`FetchLedger`), as stored or, when every mailbox held it, as a duplicate.
    func insert(_ messages: [PendingMessage], durability: MessageDurability, checkpoint: FetchCheckpoint?) throws(StoreError) -> [StoredMessage]

    /// The committed file name of the message delivered to `mailboxID` under
    /// `uniqueName`, or nil if no such delivery was committed.
    func committedFilename(mailboxID: Int64, uniqueName: String) throws(StoreError) -> String?

    /// What is wrong with the index's own storage (corruption, broken references), one
    /// line each; empty when it checks out. Read-only.
    func integrityProblems() throws(StoreError) -> [String]

    /// Every mailbox.
    func mailboxes() throws(StoreError) -> [MailboxState]

    /// The mailbox stored at `path` (relative to the data directory).
    func mailbox(path: String) throws(StoreError) -> MailboxState?

    /// The messages of a mailbox in UID order.
    func messages(mailboxID: Int64) throws(StoreError) -> [StoredMessage]
    /// One message of a mailbox by UID, or nil.
    func message(mailboxID: Int64, uid: UInt32) throws(StoreError) -> StoredMessage?

    /// Re-inserts messages found in a Maildir with their existing UIDs (missing ones
    /// only), sets the mailbox's UIDVALIDITY and raises its UIDNEXT above every UID.
    /// Returns how many rows were added.
    func restore(_ messages: [StoredMessage], mailboxID: Int64, uidValidity: UInt32) throws(StoreError) -> Int

    /// Sessions, newest activity first: of the address whose mailbox is `mailboxPath` when
    /// given, only those open at `now` with `openOnly`; status computed at `now`.
    /// Sessions by last activity, newest first; with `page`, at most `page.limit` of them
    /// by id, newest first, older than `page.beforeID` when given.
    func sessions(mailboxPath: String?, openOnly: Bool, now: Date, page: (beforeID: Int64?, limit: Int)?) throws(StoreError) -> [SessionRecord]

    /// One session and its messages in arrival order; nil if there is no such session.
    func session(id: Int64, now: Date) throws(StoreError) -> (SessionRecord, [StoredMessage])?

    /// The sum of the sizes of every message copy in the index.
    func messageBytes() throws(StoreError) -> Int64

    /// Every copy a delivery stored under `queueID` (`message.queue_id`), in mailbox order.
    func messages(queueID: String) throws(StoreError) -> [StoredMessage]
    /// Every copy in any mailbox whose Message-ID field is one of `messageIDs` (exact
    /// values), oldest first.
    func messages(messageIDs: [String]) throws(StoreError) -> [StoredMessage]
}

/// A message being acknowledged: a row without its UID yet.
package struct PendingMessage: Sendable {
    /// The row to insert; `uid` and `filename` are assigned by the index.
    package var message: StoredMessage
    /// The Maildir unique name the file was delivered under in `tmp/`.
    package var uniqueName: String
    /// What the message says about its thread; nil: no session is assigned (recovery).
    package var threadFacts: SessionHeaderFacts? = nil
    /// SHA-256 of the body, hex, for duplicate detection.
    package var contentDigest: String? = nil
    /// Whether a message the mailbox already holds is left out: true for SMTP delivery and
    /// fetching (a retried transfer), false for IMAP APPEND, which always stores (RFC 9051
    /// section 6.3.12: drafts saved again under one Message-ID, mailbox migrations).
    package var dropsDuplicate = true
    /// Held for the address's bot: a `bot_turn` row is written with the message.
    package var botHold: BotHold?

    package init(message: StoredMessage, uniqueName: String, threadFacts: SessionHeaderFacts? = nil, contentDigest: String? = nil) {
        self.message = message
        self.uniqueName = uniqueName
        self.threadFacts = threadFacts
        self.contentDigest = contentDigest
    }
}

/// A mailbox's IMAP state (RFC 9051 section 2.3.1.1).
package struct MailboxState: Sendable, Equatable {
    package var id: Int64
    package var path: String
    package var uidValidity: UInt32
    package var uidNext: UInt32

    package init(id: Int64, path: String, uidValidity: UInt32, uidNext: UInt32) {
        self.id = id
        self.path = path
        self.uidValidity = uidValidity
        self.uidNext = uidNext
    }
}

extension MessageIndex {
    /// `insert(_:durability:)` of messages whose file is durable already.
    package func insert(_ messages: [PendingMessage]) throws(StoreError) -> [StoredMessage] {
        try insert(messages, durability: .durable, checkpoint: nil)
    }
}
