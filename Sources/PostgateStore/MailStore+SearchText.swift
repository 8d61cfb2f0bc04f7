import PostgateMaildir
import PostgateIndex

/// The decoded search text behind IMAP SEARCH (`message_search`): computed once from a
/// message file by the IMAP server and kept in the index.
extension MailStore {
    /// The UIDs of the messages of `mailbox` whose search text is not in the index yet.
    public func uidsWithoutSearchText(in mailbox: VisibleMailbox) throws(StoreError) -> [UInt32] {
        try index.uidsWithoutSearchText(mailboxID: mailbox.mailboxID)
    }

    /// Keeps search texts computed from the files of `mailbox`, in one transaction.
    public func storeSearchTexts(_ texts: [UInt32: MessageSearchText], in mailbox: VisibleMailbox) throws(StoreError) {
        try index.storeSearchTexts(texts, mailboxID: mailbox.mailboxID)
    }

    /// The UIDs whose search text `field` contains `folded`, and those whose body the index
    /// holds only in part.
    public func searchUIDs(in mailbox: VisibleMailbox, field: MessageSearchText.Field, containing folded: String) throws(StoreError)
        -> (matching: Set<UInt32>, incomplete: Set<UInt32>) {
        try index.searchUIDs(mailboxID: mailbox.mailboxID, field: field, containing: folded)
    }
}
