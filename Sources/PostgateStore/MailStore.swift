import Logging
import PostgateMessage
import PostgateSessions
import PostgateMaildir
import PostgateIndex
import PostgateDirectory
import GRDB

/// The durable store of a Postgate data directory: the directory of hosted domains and
/// addresses, one Maildir per address, and the index of mailboxes and messages.
///
/// All methods are synchronous and may block on disk I/O and `fsync(2)`; the gateway calls
/// them from a thread pool. Several processes (`postgate serve` and the admin commands) may
/// open the same data directory at once: the SQLite index runs in WAL mode, and a change
/// made by one is seen by the next call in another.
public final class MailStore: Sendable {
    package let data: DataDirectory
    /// Channels, agents, policy and DKIM rows.
    package let directory: any Directory
    /// Mailboxes, messages, sessions and the IMAP read models.
    package let index: any MailIndex
    /// Changes to mailboxes made in this process, for IMAP sessions (IDLE, EXISTS, EXPUNGE).
    public let changes = MailboxChangeFeed()
    /// Passwords that passed scrypt lately (off until `setTTL`; `postgate serve` turns it on).
    public let verifiedPasswords = PasswordVerificationCache()
    package let uniqueNames: MaildirUniqueName
    /// Spool files made ahead of need (`beginMessage`).
    package let spoolReserve: SpoolFileReserve
    /// How deliveries make their files and `tmp/` names durable (`data_sync`).
    package let durableSync: DurableSync
    /// Deliveries made durable by their index commit, their files flushed later.
    package let journal: DeliveryJournal
    /// The index file's connections, which the outbound queue of the same process shares
    /// (`OutboundQueue.open(sharing:)`): one writer per process, so its writes queue in
    /// GRDB instead of meeting the store's at SQLite's lock and sleeping in its busy handler.
    package let database: SQLiteDatabase
    /// What the delivery path read from the directory (`directorySnapshot()`).
    package let directoryCache = DirectoryCache()
    package let logger: Logger
    /// Signs and recognises Postgate's reply Message-IDs and body markers (replies, loop protection).
    public let sessionMessageIDs: SessionMessageID

    deinit {
        journal.stop()
    }

    /// The data directory as given to `open`.
    public var dataPath: String { data.root }

    package init(
        data: DataDirectory, directory: any Directory, index: any MailIndex, logger: Logger,
        sessionMessageIDs: SessionMessageID, durableSync: DurableSync, database: SQLiteDatabase
    ) {
        self.durableSync = durableSync
        self.database = database
        self.journal = DeliveryJournal(database: database, sync: durableSync, logger: logger)
        let names = MaildirUniqueName()
        self.uniqueNames = names
        self.spoolReserve = SpoolFileReserve(directory: data.spoolPath, names: names)
        self.data = data
        self.directory = directory
        self.index = index
        self.logger = logger
        self.sessionMessageIDs = sessionMessageIDs
    }

    /// Opens the store in `directory`, creating the directory and its index if missing and
    /// bringing the index schema up to date. `dataSync` says how deliveries make their files
    /// durable (`DurableSync.Mode`).
    ///
    /// A damaged data directory is refused, not started afresh: an index SQLite cannot read,
    /// an empty index file in a directory used before, or a missing `session.key` beside an
    /// index that holds messages. `repairing` (`postgate check --repair`, after
    /// `setAsideUnreadableIndex`) instead fills an empty index with a new schema and makes a
    /// new key, so that `restoreLostMailboxes` can index the Maildirs again.
    /// - Throws: `.dataDirectoryNotWritable` or `.database` naming the path and the reason;
    ///   `.indexUnreadable`, `.indexEmpty`, `.sessionKeyMissing` saying how to repair.
    public static func open(
        directory path: String, logger: Logger? = nil, sessions: SessionSettings = SessionSettings(),
        dataSync: DurableSync.Mode = .filesystem, repairing: Bool = false
    ) throws(StoreError) -> MailStore {
        try open(directory: path, logger: logger, sessions: sessions, dataSync: dataSync, repairing: repairing,
                 flush: FilesystemFlusher.syncFilesystem)
    }

    /// `open`, with the call that flushes the filesystem given (tests make it slow or fail).
    package static func open(
        directory path: String, logger: Logger? = nil, sessions: SessionSettings = SessionSettings(),
        dataSync: DurableSync.Mode = .filesystem, repairing: Bool = false, flush: @escaping @Sendable (Int32) -> Int32?
    ) throws(StoreError) -> MailStore {
        let data = try DataDirectory.prepare(path)
        if !repairing { try data.requireIndexNotEmptied() }
        let database = try SQLiteDatabase(path: data.databasePath)
        let messageIDs = SessionMessageID(key: try sessionKey(data: data, database: database, repairing: repairing))
        return MailStore(
            data: data,
            directory: SQLiteDirectory(database: database),
            index: SQLiteMessageIndex(database: database, sessions: SQLiteSessionIndex(settings: sessions, messageIDs: messageIDs)),
            logger: logger ?? Logger(label: "postgate.store"),
            sessionMessageIDs: messageIDs,
            durableSync: try DurableSync(rootPath: data.root, mode: dataSync, flush: flush),
            database: database
        )
    }

    /// `postgate check --repair` over an index SQLite cannot read (`open` threw
    /// `.indexUnreadable`): renames it to `postgate.sqlite.unreadable-<time>`, kept for
    /// salvage, so that the next `open` starts a new one; returns the new name.
    public static func setAsideUnreadableIndex(directory path: String) throws(StoreError) -> String {
        try DataDirectory.prepare(path).setAsideUnreadableIndex()
    }

    /// The data directory's session key; a missing one is made only while the index holds
    /// no message (a new data directory) or when `repairing`.
    private static func sessionKey(data: DataDirectory, database: SQLiteDatabase, repairing: Bool) throws(StoreError) -> [UInt8] {
        if let key = SessionKeyFile.load(in: data) { return key }
        if !repairing {
            let messages = try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM message") ?? 0 }
            if messages > 0 { throw .sessionKeyMissing(dataDirectory: data.root, messages: messages) }
        }
        return try SessionKeyFile.create(in: data)
    }

    /// Where mail for `address` goes (an SMTP `RCPT TO`): two indexed lookups, no caching,
    /// so an address added by the admin commands is accepted at once.
    public func resolveRecipient(_ address: EmailAddress) throws(StoreError) -> RecipientResolution {
        try directory.resolve(address)
    }

    /// The messages of the mailbox at `mailboxPath` (relative to the data directory), by UID.
    public func messages(mailboxPath: String) throws(StoreError) -> [StoredMessage] {
        guard let mailbox = try index.mailbox(path: mailboxPath) else { throw .mailboxNotFound(path: mailboxPath) }
        return try index.messages(mailboxID: mailbox.id)
    }

    /// The messages delivered to `address` (or the address it is an alias of), by UID.
    public func messages(address: EmailAddress) throws(StoreError) -> [StoredMessage] {
        guard let record = try directory.address(address, countingMessages: false) else { throw .addressNotFound(address) }
        return try messages(mailboxPath: record.mailboxPath)
    }

    /// The UIDVALIDITY and next UID of the mailbox at `mailboxPath`.
    public func mailboxState(mailboxPath: String) throws(StoreError) -> (uidValidity: UInt32, uidNext: UInt32) {
        guard let mailbox = try index.mailbox(path: mailboxPath) else { throw .mailboxNotFound(path: mailboxPath) }
        return (mailbox.uidValidity, mailbox.uidNext)
    }

    /// The absolute (or working-directory relative) path of a mailbox path.
    public func absolutePath(_ mailboxPath: String) -> String {
        data.absolute(mailboxPath)
    }
}
