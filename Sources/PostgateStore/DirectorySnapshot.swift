import PostgateMessage
import PostgatePolicy
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// The directory as the delivery path sees it for one message or one `RCPT`: the same
/// answers as `MailStore`'s own lookups, served from `DirectoryCache` while the directory
/// is unchanged. Take a new snapshot for each message; one kept longer would miss changes.
public struct DirectorySnapshot: Sendable {
    package let store: MailStore
    package let tables: DirectoryCache.Tables

    /// `MailStore.resolveRecipient(_:)`.
    public func resolveRecipient(_ address: EmailAddress) throws(StoreError) -> RecipientResolution {
        try tables.value(\.resolutions, address.canonical) { () throws(StoreError) in
            try store.resolveRecipient(address)
        }
    }

    /// `MailStore.address(_:countingMessages: false)`.
    public func address(_ address: EmailAddress) throws(StoreError) -> AddressRecord? {
        try tables.value(\.addresses, address.canonical) { () throws(StoreError) in
            try store.address(address, countingMessages: false)
        }
    }

    /// True for an address Postgate sends from: a hosted address or alias, or an agent's own
    /// address (personal replies). The agents' addresses are read without the cache: this is
    /// asked only of a message whose Message-ID or token already verified as Postgate's.
    public func isOwnSender(_ address: EmailAddress) throws(StoreError) -> Bool {
        if try self.address(address) != nil { return true }
        return try store.agent(email: address) != nil
    }

    /// `MailStore.blocklistEntry(blocking:for:)`.
    public func blocklistEntry(blocking sender: EmailAddress, for target: MailboxTarget) throws(StoreError) -> BlocklistEntry? {
        let key = DirectoryCache.BlocklistKey(mailboxID: target.mailboxID, sender: sender.canonical)
        return try tables.value(\.blocklist, key) { () throws(StoreError) in
            try store.blocklistEntry(blocking: sender, for: target)
        }
    }

    /// The bot attached to the address of `target`, if any.
    public func bot(of target: MailboxTarget) throws(StoreError) -> BotHoldSettings? {
        try tables.value(\.bots, target.mailboxID) { () throws(StoreError) in
            try store.directory.botHoldSettings(mailboxID: target.mailboxID)
        }
    }

    /// `MailStore.route(_:facts:)`.
    public func route(_ target: MailboxTarget, facts: RoutingFacts) throws(StoreError) -> QueueTarget? {
        let plan = try tables.value(\.routePlans, target.mailboxID) { () throws(StoreError) in
            try store.directory.routePlan(target)
        }
        return plan?.route(facts)
    }

    /// The published sending gateway of `address`; nil when it has none or is no hosted address.
    public func sendingGateway(of address: EmailAddress) throws(StoreError) -> SendingGatewaySettings? {
        try tables.value(\.sendingGateways, address.canonical) { () throws(StoreError) in
            do throws(StoreError) {
                return try store.gateway(SendingGatewaySettings.self, of: address)?.published
            } catch .addressNotFound, .notAnAddress, .domainNotHosted {
                return nil
            }
        }
    }
}

extension MailStore {
    /// A view of the directory for one message: answers from what an earlier message read if
    /// the directory has not changed since (`DirectoryCache`). Blocks: it reads the generation
    /// hint file, and SQLite when the directory changed, so never call it on an event loop.
    public func directorySnapshot() throws(StoreError) -> DirectorySnapshot {
        let hint = directory.generationHint()
        if let tables = directoryCache.tablesIfUnchanged(hint: hint) {
            return DirectorySnapshot(store: self, tables: tables)
        }
        let tables = directoryCache.tables(for: try directory.generation(), hint: hint)
        return DirectorySnapshot(store: self, tables: tables)
    }
}
