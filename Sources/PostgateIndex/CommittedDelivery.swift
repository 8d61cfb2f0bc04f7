/// A delivery whose index rows have committed (`MailStore.commitDelivery`): the message is
/// durable, so it may be acknowledged, but its Maildir files are still in `tmp/` until
/// `MailStore.publish` renames them into `new/`.
///
/// Not `Sendable`, as the `IncomingMessage` it holds: the thread that committed it
/// publishes it.
public struct CommittedDelivery {
    /// The stored copies, one per mailbox (none of a mailbox that already held the message).
    public let stored: [StoredMessage]
    package let message: IncomingMessage
    /// Whether the content is in the delivery journal (`DeliveryJournal`).
    package let journalled: Bool

    package init(stored: [StoredMessage], message: IncomingMessage, journalled: Bool) {
        self.stored = stored
        self.message = message
        self.journalled = journalled
    }
}
