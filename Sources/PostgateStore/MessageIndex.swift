/// The index of mailboxes and messages: what IMAP and the admin tools query instead of
/// reading Maildirs, and the record of which deliveries were acknowledged.
///
/// `SQLiteMessageIndex` is the single-node implementation; a shared (PostgreSQL) one can
/// implement the same requirements without touching the protocol code.
protocol MessageIndex: Sendable {
    /// Allocates the next UID of each message's mailbox and inserts all rows in one
    /// transaction: either every message is acknowledged or none is. Each message's
    /// `uid` and `filename` are filled in from `uniqueName` and the allocated UID.
    func insert(_ messages: [PendingMessage]) throws(StoreError) -> [StoredMessage]

    /// The committed file name of the message delivered to `mailboxID` under
    /// `uniqueName`, or nil if no such delivery was committed.
    func committedFilename(mailboxID: Int64, uniqueName: String) throws(StoreError) -> String?

    /// Every mailbox.
    func mailboxes() throws(StoreError) -> [MailboxState]

    /// The mailbox stored at `path` (relative to the data directory).
    func mailbox(path: String) throws(StoreError) -> MailboxState?

    /// The messages of a mailbox in UID order.
    func messages(mailboxID: Int64) throws(StoreError) -> [StoredMessage]

    /// Re-inserts messages found in a Maildir with their existing UIDs (missing ones
    /// only), sets the mailbox's UIDVALIDITY and raises its UIDNEXT above every UID.
    /// Returns how many rows were added.
    func restore(_ messages: [StoredMessage], mailboxID: Int64, uidValidity: UInt32) throws(StoreError) -> Int
}

/// A message being acknowledged: a row without its UID yet.
struct PendingMessage: Sendable {
    /// The row to insert; `uid` and `filename` are assigned by the index.
    var message: StoredMessage
    /// The Maildir unique name the file was delivered under in `tmp/`.
    var uniqueName: String
}

/// A mailbox's IMAP state (RFC 9051 section 2.3.1.1).
struct MailboxState: Sendable, Equatable {
    var id: Int64
    var path: String
    var uidValidity: UInt32
    var uidNext: UInt32
}
