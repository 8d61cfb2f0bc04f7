import PostgateMessage
import PostgatePolicy
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// The blocklists of the receiving addresses (`postgate blocklist …`) and the lookup the
/// inbound policy makes for every message. An alias names its address's blocklist.
extension MailStore {
    /// The blocklist of `address`; with `containing`, only matching entries (search).
    /// - Throws: `.addressNotFound`.
    public func blocklist(of address: EmailAddress, containing: String? = nil) throws(StoreError) -> [BlocklistRecord] {
        try directory.blocklist(of: owner(of: address), containing: containing)
    }

    /// The canonical values already on `address`'s blocklist (to find duplicates in an import).
    public func blocklistValues(of address: EmailAddress) throws(StoreError) -> Set<String> {
        try directory.blocklistValues(of: owner(of: address))
    }

    /// Adds `entries` to `address`'s blocklist, all in one transaction: if one is already
    /// listed, none is added.
    /// - Throws: `.addressNotFound`, `.blocklistEntryExists`.
    @discardableResult
    public func addToBlocklist(_ entries: [BlocklistEntry], of address: EmailAddress) throws(StoreError) -> [BlocklistRecord] {
        try directory.addToBlocklist(entries, of: owner(of: address))
    }

    /// Removes `entry` from `address`'s blocklist.
    /// - Throws: `.addressNotFound`, `.blocklistEntryNotFound`.
    public func removeFromBlocklist(_ entry: BlocklistEntry, of address: EmailAddress) throws(StoreError) {
        try directory.removeFromBlocklist(entry, of: owner(of: address))
    }

    /// Changes one entry of `address`'s blocklist in place.
    /// - Throws: `.addressNotFound`, `.blocklistEntryNotFound`, `.blocklistEntryExists`.
    @discardableResult
    public func replaceInBlocklist(_ entry: BlocklistEntry, with new: BlocklistEntry, of address: EmailAddress) throws(StoreError) -> BlocklistRecord {
        try directory.replaceInBlocklist(entry, with: new, of: owner(of: address))
    }

    /// The entry of `target`'s blocklist that blocks `sender`, if any (the address itself,
    /// or its domain or a parent domain).
    public func blocklistEntry(blocking sender: EmailAddress, for target: MailboxTarget) throws(StoreError) -> BlocklistEntry? {
        try directory.blocklistEntry(mailboxID: target.mailboxID, keys: BlocklistEntry.keys(matching: sender))
    }

    /// The hosted address `address` names (itself or, for an alias, its owner).
    private func owner(of address: EmailAddress) throws(StoreError) -> EmailAddress {
        guard let record = try directory.address(address, countingMessages: false) else { throw .addressNotFound(address) }
        do { return try EmailAddress(record.email) } catch {
            throw .database(path: data.databasePath, reason: "stored address '\(record.email)' is invalid: \(error)")
        }
    }
}
