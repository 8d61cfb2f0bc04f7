/// What `MailStore.recover()` found and did after an unclean stop.
public struct RecoveryReport: Sendable, Equatable {
    /// Files left in `spool/` by messages that were being received.
    public var spoolFilesRemoved: Int = 0
    /// Files in a Maildir's `tmp/` whose index row was committed: moved into `new/`.
    public var messagesCompleted: Int = 0
    /// Files in a Maildir's `tmp/` that were never acknowledged: removed.
    public var tmpFilesRemoved: Int = 0
    /// Files of journalled messages (`DeliveryJournal`) written again from the journal,
    /// one per mailbox copy, since a crash may have lost or cut them.
    public var filesRewritten: Int = 0

    public init(spoolFilesRemoved: Int = 0, messagesCompleted: Int = 0, tmpFilesRemoved: Int = 0, filesRewritten: Int = 0) {
        self.spoolFilesRemoved = spoolFilesRemoved
        self.messagesCompleted = messagesCompleted
        self.tmpFilesRemoved = tmpFilesRemoved
        self.filesRewritten = filesRewritten
    }
}
