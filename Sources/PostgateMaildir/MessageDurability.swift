/// How a new message file becomes durable before the index rows that name it commit
/// (`MailStore.deliver`, `MailStore.append`): the rule is that a committed row never names
/// a message that a crash could lose.
package enum MessageDurability: Sendable {
    /// The content goes into the delivery journal in the index transaction, so the commit
    /// itself makes it durable; the file is flushed later (`DeliveryJournal`).
    case journal([UInt8])
    /// A flush of the file and its `tmp/` names was started; the commit waits for it.
    case flush(PendingDurableSync)

    /// Nothing to wait for (rows of files already durable: recovery, tests).
    package static var durable: MessageDurability { .flush(.finished(nil)) }

    /// The content to journal with the rows, if any.
    package var journalContent: [UInt8]? {
        if case .journal(let content) = self { return content }
        return nil
    }

    /// Runs last in the index transaction: returns once the file is durable (at once for
    /// a journalled one), or throws the flush's failure, which rolls the transaction back.
    package func awaitBeforeCommit() throws(StoreError) {
        if case .flush(let pending) = self { try pending.wait() }
    }
}
