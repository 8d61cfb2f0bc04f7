import PostgateMaildir
import PostgateIndex
/// The fetch cache behind IMAP FETCH ENVELOPE, BODYSTRUCTURE and BODY: items computed
/// once from a message file and kept in the index (`message_cache`), as Dovecot keeps
/// them in `dovecot.index.cache`.
extension MailStore {
    /// The cached `items` of the messages of `mailbox` with UIDs in `uids`, in one query;
    /// messages without a row are missing from it.
    public func cachedFetchBatch(
        in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>, items: Set<CachedFetchBatch.Item> = Set(CachedFetchBatch.Item.allCases)
    ) throws(StoreError) -> CachedFetchBatch {
        try index.cachedFetchBatch(mailboxID: mailbox.mailboxID, uids: uids, items: items)
    }

    /// The cached items of the messages of `mailbox` with UIDs in `uids`, by UID; messages
    /// without a row are missing from the result.
    public func cachedFetchItems(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: CachedFetchItems] {
        let batch = try cachedFetchBatch(in: mailbox, uids: uids)
        return Dictionary(uniqueKeysWithValues: batch.uids.enumerated().map { ($1, batch.items(at: $0)) })
    }

    /// The kept PREVIEWs (RFC 8970) of the messages of `mailbox` with UIDs in `uids`.
    public func cachedPreviews(in mailbox: VisibleMailbox, uids: ClosedRange<UInt32>) throws(StoreError) -> [UInt32: String] {
        try index.cachedPreviews(mailboxID: mailbox.mailboxID, uids: uids)
    }

    /// Keeps PREVIEWs made from the files of `mailbox`, in one transaction.
    public func storePreviews(_ previews: [UInt32: String], in mailbox: VisibleMailbox) throws(StoreError) {
        try index.storePreviews(previews, mailboxID: mailbox.mailboxID)
    }

    /// Keeps items computed from the files of `mailbox`, in one transaction.
    public func storeFetchItems(_ items: [UInt32: CachedFetchItems], in mailbox: VisibleMailbox) throws(StoreError) {
        try index.storeFetchItems(items, mailboxID: mailbox.mailboxID)
    }
}
