import Foundation
import PostgateMessage
import PostgateMaildir
import PostgateIndex
import PostgatePolicy

/// The channel model beside the directory of names: domain kinds and limits, queues, the
/// settings of each address with their drafts and publications, and the routing filters.
/// Each call is one transaction; a refused request changes nothing.
package protocol ChannelDirectory: Sendable {
    func addDomain(_ domain: DomainName, kind: DomainKind, limits: ChannelLimits) throws(StoreError) -> DomainRecord
    /// A custom domain's ownership record and status (its token made on first need); nil
    /// for a hosted domain.
    func domainOwnership(_ domain: DomainName) throws(StoreError) -> DomainOwnership?
    func recordOwnershipCheck(_ domain: DomainName, status: String, reason: String?, at date: Date) throws(StoreError)
    func setRequireVerification(_ domain: DomainName, _ require: Bool) throws(StoreError)

    /// Adds or replaces a working calendar (checked first).
    func setCalendar(_ name: String, _ calendar: WorkingCalendar) throws(StoreError) -> CalendarRecord
    func calendars() throws(StoreError) -> [CalendarRecord]
    /// Removes a calendar no address uses.
    func removeCalendar(_ name: String) throws(StoreError)

    func addQueue(
        name: String, description: String?, privateSeen: Bool,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> QueueRecord
    func queues() throws(StoreError) -> [QueueRecord]
    func removeQueue(name: String) throws(StoreError)

    /// The published settings and the draft (if any) of the address `address`.
    func settings(of address: EmailAddress) throws(StoreError) -> (published: ChannelSettings, draft: ChannelSettings?)
    /// Applies `edit` to the draft (or to a copy of the published settings) and saves the
    /// result as the draft, or drops the draft when it equals what is published.
    func editDraft(of address: EmailAddress, _ edit: (inout ChannelSettings) throws(StoreError) -> Void) throws(StoreError) -> ChannelSettings
    func discardDraft(of address: EmailAddress) throws(StoreError)
    /// Makes the drafts of `addresses` (all drafts when nil) live, in one transaction.
    func publish(_ addresses: [EmailAddress]?, comment: String) throws(StoreError) -> Publication
    func publications() throws(StoreError) -> [Publication]

    func addFilter(to address: EmailAddress, field: FilterRule.Field, keyword: String, queue: String, position: Int?) throws(StoreError) -> FilterRule
    func filters(of address: EmailAddress) throws(StoreError) -> [FilterRule]
    func removeFilter(_ id: Int64, of address: EmailAddress) throws(StoreError)
    func moveFilter(_ id: Int64, of address: EmailAddress, to position: Int) throws(StoreError) -> [FilterRule]

    func exportChannels() throws(StoreError) -> ChannelExport
    func importChannels(
        _ export: ChannelExport, limits: ChannelLimits, dryRun: Bool,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> ImportReport

    /// The queue an inbound message for `target` goes to: the first matching filter's, else
    /// the address's default queue.
    func route(_ target: MailboxTarget, facts: RoutingFacts) throws(StoreError) -> QueueTarget?
    /// What `route` decides on, read once: nil when `target` is not (or no longer) an address.
    func routePlan(_ target: MailboxTarget) throws(StoreError) -> RoutePlan?
}

/// A queue mailbox a message is routed to.
public struct QueueTarget: Sendable, Hashable {
    public var queue: String
    public var mailbox: MailboxTarget
}

/// One `postgate publish`: when, the comment, and per address what changed.
/// JSON keys: id, publishedAt, comment, addresses (each: address, changes[field, published, draft]).
public struct Publication: Sendable, Codable, Equatable {
    public struct AddressChanges: Sendable, Codable, Equatable {
        public var address: String
        public var changes: [ChannelSettings.Change]
    }

    public var id: Int64
    public var publishedAt: Date
    public var comment: String
    public var addresses: [AddressChanges]
}
