import PostgateMessage
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// The channel model: queues, drafts and publishing of address settings, and filters
/// (`postgate queue …`, `address set|diff`, `publish`, `filter …`). Each call is one
/// transaction; a refused request changes nothing. A running gateway reads the directory
/// for every message, so a publish takes effect without a restart.
extension MailStore {
    /// Adds an agents' work queue with a shared Maildir of its own (`DATA/queues/<name>`).
    /// - Throws: `.invalidSetting` for a bad name, `.queueExists`.
    @discardableResult
    public func addQueue(_ name: String, description: String? = nil, privateSeen: Bool = false) throws(StoreError) -> QueueRecord {
        try directory.addQueue(name: name, description: description, privateSeen: privateSeen) { (path, proposed) throws(StoreError) in
            try createMailbox(at: path, proposedUIDValidity: proposed)
        }
    }

    public func queues() throws(StoreError) -> [QueueRecord] {
        try directory.queues()
    }

    /// Removes a queue that no address uses (as default, in a draft or in a filter). Its
    /// Maildir and messages are kept.
    public func removeQueue(_ name: String) throws(StoreError) {
        try directory.removeQueue(name: name)
    }

    /// The published settings of `address` and its pending draft, if any.
    public func settings(of address: EmailAddress) throws(StoreError) -> (published: ChannelSettings, draft: ChannelSettings?) {
        try directory.settings(of: address)
    }

    /// Edits the draft of `address` (started from the published settings). The draft is
    /// checked as a whole, so an edit that would break a rule is refused and changes nothing.
    /// - Returns: the draft as saved (equal to the published settings when nothing is pending).
    @discardableResult
    public func editDraft(of address: EmailAddress, _ edit: (inout ChannelSettings) throws(StoreError) -> Void) throws(StoreError) -> ChannelSettings {
        try directory.editDraft(of: address, edit)
    }

    /// What `postgate publish` would change for `address`: one entry per differing field.
    public func pendingChanges(of address: EmailAddress) throws(StoreError) -> [ChannelSettings.Change] {
        let (published, draft) = try directory.settings(of: address)
        return draft?.changes(from: published) ?? []
    }

    public func discardDraft(of address: EmailAddress) throws(StoreError) {
        try directory.discardDraft(of: address)
    }

    /// Makes the drafts of `addresses` (every draft when nil) live, all or none, and records
    /// the publication with `comment`.
    /// - Throws: `.invalidSetting` when there is nothing to publish or a draft no longer fits
    ///   (its queue was removed, an alias was taken meanwhile).
    @discardableResult
    public func publish(_ addresses: [EmailAddress]? = nil, comment: String) throws(StoreError) -> Publication {
        try directory.publish(addresses, comment: comment)
    }

    public func publications() throws(StoreError) -> [Publication] {
        try directory.publications()
    }

    /// Adds a routing rule to `address` at `position` (1 first; nil appends).
    @discardableResult
    public func addFilter(to address: EmailAddress, field: FilterRule.Field, keyword: String, queue: String, position: Int? = nil) throws(StoreError) -> FilterRule {
        try directory.addFilter(to: address, field: field, keyword: keyword, queue: queue, position: position)
    }

    public func filters(of address: EmailAddress) throws(StoreError) -> [FilterRule] {
        try directory.filters(of: address)
    }

    public func removeFilter(_ id: Int64, of address: EmailAddress) throws(StoreError) {
        try directory.removeFilter(id, of: address)
    }

    @discardableResult
    public func moveFilter(_ id: Int64, of address: EmailAddress, to position: Int) throws(StoreError) -> [FilterRule] {
        try directory.moveFilter(id, of: address, to: position)
    }

    /// The queue a message delivered to `target` is routed to (first matching filter, else
    /// the default queue), or nil when the address has none.
    public func route(_ target: MailboxTarget, facts: RoutingFacts) throws(StoreError) -> QueueTarget? {
        try directory.route(target, facts: facts)
    }
}

extension MailStore {
    /// The channel configuration (`postgate export`): no passwords, keys or messages.
    public func exportChannels() throws(StoreError) -> ChannelExport {
        try directory.exportChannels()
    }

    /// Reads a channel export back (`postgate import`), all or nothing; `dryRun` checks every
    /// rule and changes nothing.
    public func importChannels(_ export: ChannelExport, limits: ChannelLimits = ChannelLimits(), dryRun: Bool = false) throws(StoreError) -> ImportReport {
        try directory.importChannels(export, limits: limits, dryRun: dryRun) { (path, proposed) throws(StoreError) in
            // A dry run is rolled back: it must not leave Maildirs behind either.
            dryRun ? MailboxSeed(uidValidity: proposed) : try createMailbox(at: path, proposedUIDValidity: proposed)
        }
    }
}

/// Edits published at once: what a script or test means by "disable this address now".
/// Each is a draft edit plus a publication recorded with a comment naming the change.
extension MailStore {
    /// Enables or disables `address` now; SMTP refuses mail for a disabled address and its aliases.
    @discardableResult
    public func setEnabled(_ address: EmailAddress, _ enabled: Bool) throws(StoreError) -> AddressRecord {
        try editAndPublish(address, comment: enabled ? "enable" : "disable") { $0.enabled = enabled }
    }

    /// Sets (or, with nil, clears) the display name used on replies from `address`, now.
    @discardableResult
    public func setDisplayName(_ address: EmailAddress, _ displayName: String?) throws(StoreError) -> AddressRecord {
        try editAndPublish(address, comment: "display name") { $0.displayName = displayName }
    }

    /// Adds `alias` as another name for `address`, now.
    /// - Throws: `.addressNotFound`, `.domainNotHosted`, `.addressInUse`.
    @discardableResult
    public func addAlias(_ alias: EmailAddress, to address: EmailAddress) throws(StoreError) -> AddressRecord {
        try editAndPublish(address, comment: "alias \(alias) added") { (settings) throws(StoreError) in
            let name = alias.canonicalAddress.description
            guard !settings.aliases.contains(name) else { throw .addressInUse(alias, as: .alias(of: address.canonicalAddress)) }
            settings.aliases.append(name)
        }
    }

    /// Removes `alias` from `address`, now.
    /// - Throws: `.addressNotFound`, `.aliasNotFound`.
    @discardableResult
    public func removeAlias(_ alias: EmailAddress, from address: EmailAddress) throws(StoreError) -> AddressRecord {
        try editAndPublish(address, comment: "alias \(alias) removed") { (settings) throws(StoreError) in
            guard let index = settings.aliases.firstIndex(of: alias.canonicalAddress.description) else {
                throw .aliasNotFound(alias, of: address)
            }
            settings.aliases.remove(at: index)
        }
    }

    /// Applies `edit` to the draft of `address` and publishes that draft.
    @discardableResult
    public func editAndPublish(
        _ address: EmailAddress, comment: String, _ edit: (inout ChannelSettings) throws(StoreError) -> Void
    ) throws(StoreError) -> AddressRecord {
        try editDraft(of: address, edit)
        if try !pendingChanges(of: address).isEmpty {
            try publish([address], comment: comment)
        }
        guard let record = try self.address(address) else { throw .addressNotFound(address) }
        return record
    }
}
