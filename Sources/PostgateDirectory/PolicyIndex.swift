import PostgateMessage
import PostgatePolicy
import PostgateMaildir
import PostgateIndex

/// What the inbound policy keeps in the index: each address's blocklist, and the
/// quarantine mailboxes with the messages held in them.
///
/// Addresses are the hosted addresses themselves (not aliases); `SQLiteDirectory` is the
/// single-node implementation.
package protocol PolicyIndex: Sendable {
    /// The entries of `address`'s blocklist, by entry; with `containing`, only those whose
    /// canonical or displayed form contains it (case-insensitive).
    func blocklist(of address: EmailAddress, containing: String?) throws(StoreError) -> [BlocklistRecord]

    /// The canonical values of every entry of `address`'s blocklist.
    func blocklistValues(of address: EmailAddress) throws(StoreError) -> Set<String>

    /// Adds `entries` in one transaction: all of them or, if one is already listed, none.
    func addToBlocklist(_ entries: [BlocklistEntry], of address: EmailAddress) throws(StoreError) -> [BlocklistRecord]

    /// Removes one entry.
    func removeFromBlocklist(_ entry: BlocklistEntry, of address: EmailAddress) throws(StoreError)

    /// Replaces one entry by another in place (its creation time stays).
    func replaceInBlocklist(_ entry: BlocklistEntry, with new: BlocklistEntry, of address: EmailAddress) throws(StoreError) -> BlocklistRecord

    /// The entry of the blocklist of the address owning `mailboxID` whose value is one of
    /// `keys`, if any: one indexed lookup per delivery.
    func blocklistEntry(mailboxID: Int64, keys: [String]) throws(StoreError) -> BlocklistEntry?

    /// The quarantine mailbox of `target`'s mailbox at `path`, created (row and, through
    /// `createMailbox`, Maildir) on first use.
    func quarantineMailbox(
        for target: MailboxTarget, path: String,
        createMailbox: (_ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> MailboxTarget

    /// The quarantined messages, all or those of one address mailbox, oldest first.
    func quarantined(addressMailboxID: Int64?) throws(StoreError) -> [QuarantinedMessage]
    /// The messages the inbound policy gave `label` in the addresses' own mailboxes (all, or
    /// the one of `addressMailboxID`), newest first, at most `limit`.
    func labelled(_ label: String, addressMailboxID: Int64?, limit: Int) throws(StoreError) -> [StoredMessage]

    /// One quarantined message.
    func quarantined(id: Int64) throws(StoreError) -> QuarantinedMessage?

    /// Removes a quarantined message's row.
    func removeQuarantined(id: Int64) throws(StoreError)
}
