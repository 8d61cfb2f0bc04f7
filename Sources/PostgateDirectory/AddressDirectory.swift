import Foundation
import PostgateMessage
import PostgateMaildir

/// The directory of hosted domains, addresses and aliases: what the admin commands edit
/// and what SMTP asks for each `RCPT TO`.
///
/// Every change is checked and applied in one transaction, so a refused request changes
/// nothing. A name (`local-part@domain`) is either one address or one alias, never both.
/// `SQLiteDirectory` is the single-node implementation.
package protocol AddressDirectory: Sendable {
    /// The directory generation, bumped by every committed change to the directory
    /// (`SQLiteDatabase.registerDirectoryGenerationSchema`).
    func generation() throws(StoreError) -> Int64
    /// The generation last published by a committed change (`DirectoryGenerationHint`): cheap
    /// to read, and a hint only.
    func generationHint() -> Int64?
    func domains() throws(StoreError) -> [DomainRecord]
    /// Refuses a domain that still has addresses or aliases unless `force`; with `force`
    /// removes them too. Mailboxes stay.
    func removeDomain(_ domain: DomainName, force: Bool) throws(StoreError)

    /// Adds an address and its aliases, reusing the mailbox at `request.mailboxPath` if the
    /// index has one (an address removed and added again keeps its mail and UIDs).
    /// Otherwise calls `createMailbox` with a fresh UIDVALIDITY, inside the transaction (also
    /// for the default queue's mailbox when it is made on first use). Refused past the
    /// domain kind's address limit. The settings are published at once.
    func addAddress(
        _ request: NewAddress,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> AddressRecord
    func addresses(domain: DomainName?) throws(StoreError) -> [AddressRecord]
    /// The address named `address`, or the one it is an alias of; its `messageCount` is 0
    /// unless `countingMessages` (counting walks the mailbox's index entries).
    func address(_ address: EmailAddress, countingMessages: Bool) throws(StoreError) -> AddressRecord?
    /// Removes an address and its aliases; its mailbox stays.
    func removeAddress(_ address: EmailAddress) throws(StoreError)
    /// Where mail for `recipient` goes, matching the canonical local part and domain.
    func resolve(_ recipient: EmailAddress) throws(StoreError) -> RecipientResolution
}

/// An address to add, with everything the directory checks in one go.
package struct NewAddress: Sendable {
    package var address: EmailAddress
    /// Its first settings; `defaultQueue` nil means the default queue.
    package var settings: ChannelSettings
    package var aliases: [EmailAddress]
    package var limits: ChannelLimits
    /// Where its mailbox lives, relative to the data directory.
    package var mailboxPath: String
    /// Refuse it enabled on a custom domain that asks for verification and is not verified.
    /// Off for `postgate import`, which restores a configuration as it was exported.
    package var checksVerification = true

    package init(address: EmailAddress, settings: ChannelSettings, aliases: [EmailAddress], limits: ChannelLimits, mailboxPath: String) {
        self.address = address
        self.settings = settings
        self.aliases = aliases
        self.limits = limits
        self.mailboxPath = mailboxPath
    }
}

/// The IMAP state a new mailbox starts with.
package struct MailboxSeed: Sendable, Equatable {
    package var uidValidity: UInt32
    package var uidNext: UInt32 = 1

    package init(uidValidity: UInt32, uidNext: UInt32 = 1) {
        self.uidValidity = uidValidity
        self.uidNext = uidNext
    }
}

extension EmailAddress {
    /// The local part as the directory stores and matches it (lower case).
    package var canonicalLocalPart: String { localPart.lowercased() }

    /// The canonical address: lower-case local part, A-label domain.
    package var canonicalAddress: EmailAddress { EmailAddress(localPart: canonicalLocalPart, domain: domain) }
}
