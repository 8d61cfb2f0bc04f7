import Foundation
import PostgatePolicy
import PostgateMessage
import PostgateMaildir
import PostgateDirectory

/// The administration of hosted domains and addresses (`postgate domain …`, `postgate address …`).
/// Each call is one transaction: a refused request changes nothing.
extension MailStore {
    /// Hosts `domain` as a domain of `kind`. Its U-label and A-label forms name the same domain.
    /// - Throws: `.domainAlreadyHosted`, `.limitReached` past the kind's domain limit.
    @discardableResult
    public func addDomain(_ domain: DomainName, kind: DomainKind = .hosted, limits: ChannelLimits = ChannelLimits()) throws(StoreError) -> DomainRecord {
        try directory.addDomain(domain, kind: kind, limits: limits)
    }

    /// A custom domain's ownership record and status; nil for a hosted domain.
    public func domainOwnership(_ domain: DomainName) throws(StoreError) -> DomainOwnership? {
        try directory.domainOwnership(domain)
    }

    public func recordOwnershipCheck(_ domain: DomainName, status: String, reason: String?, at date: Date) throws(StoreError) {
        try directory.recordOwnershipCheck(domain, status: status, reason: reason, at: date)
    }

    /// Whether addresses on `domain` may be enabled only once it and its DKIM record are verified.
    public func setRequireVerification(_ domain: DomainName, _ require: Bool) throws(StoreError) {
        try directory.setRequireVerification(domain, require)
    }

    /// Adds or replaces a working calendar.
    @discardableResult
    public func setCalendar(_ name: String, _ calendar: WorkingCalendar) throws(StoreError) -> CalendarRecord {
        try directory.setCalendar(name, calendar)
    }

    public func calendars() throws(StoreError) -> [CalendarRecord] {
        try directory.calendars()
    }

    public func removeCalendar(_ name: String) throws(StoreError) {
        try directory.removeCalendar(name)
    }

    /// The calendar an address works by: its own, else the one named `default`; nil when
    /// there is neither (the address is always in working hours).
    public func workingCalendar(of address: EmailAddress) throws(StoreError) -> CalendarRecord? {
        guard let record = try self.address(address, countingMessages: false) else { throw .addressNotFound(address) }
        let name = (record.settings.calendar ?? CalendarRecord.defaultName).lowercased()
        return try calendars().first { $0.name.lowercased() == name }
    }

    /// The hosted domains with their address counts, by canonical name.
    public func domains() throws(StoreError) -> [DomainRecord] {
        try directory.domains()
    }

    /// Stops hosting `domain`. Refused while it has addresses or aliases unless `force`,
    /// which removes them as well. Maildirs and their messages are kept.
    /// - Throws: `.domainNotHosted`, `.domainNotEmpty`.
    public func removeDomain(_ domain: DomainName, force: Bool = false) throws(StoreError) {
        try directory.removeDomain(domain, force: force)
    }

    /// Hosts `address` with a Maildir of its own, and `aliases` that deliver to it. Its first
    /// `settings` are live at once (later edits are drafts); `settings.defaultQueue` nil means
    /// the default queue `general`, created on first use.
    ///
    /// All names must be in hosted domains and unused (as address or alias); nothing is
    /// added unless everything is. An address that was removed gets its old mailbox back,
    /// with its messages, UIDVALIDITY and UIDs.
    /// - Throws: `.domainNotHosted`, `.addressInUse`, `.addressGivenTwice`, `.limitReached`,
    ///   `.queueNotFound`, `.invalidSetting`, or I/O errors creating the Maildir.
    @discardableResult
    public func addAddress(
        _ address: EmailAddress, settings: ChannelSettings = ChannelSettings(), aliases: [EmailAddress] = [],
        limits: ChannelLimits = ChannelLimits()
    ) throws(StoreError) -> AddressRecord {
        let path = DataDirectory.mailboxPath(for: address)
        let request = NewAddress(address: address, settings: settings, aliases: aliases, limits: limits, mailboxPath: path)
        return try directory.addAddress(request) { (path, proposed) throws(StoreError) in
            try createMailbox(at: path, proposedUIDValidity: proposed)
        }
    }

    /// The hosted addresses, all or those of one domain, by domain and local part.
    /// - Throws: `.domainNotHosted` if `domain` is given and not hosted.
    public func addresses(domain: DomainName? = nil) throws(StoreError) -> [AddressRecord] {
        try directory.addresses(domain: domain)
    }

    /// The hosted address `address`, or the address it is an alias of; nil if neither.
    /// The delivery path passes `countingMessages: false`: counting a mailbox's messages
    /// costs time in proportion to its size, and only the admin commands show the count.
    public func address(_ address: EmailAddress, countingMessages: Bool = true) throws(StoreError) -> AddressRecord? {
        try directory.address(address, countingMessages: countingMessages)
    }

    /// Stops hosting `address` and its aliases. Its Maildir and messages are kept.
    /// - Throws: `.addressNotFound`, `.notAnAddress` for an alias.
    public func removeAddress(_ address: EmailAddress) throws(StoreError) {
        try directory.removeAddress(address)
    }

    /// Creates the Maildir of a new mailbox row. A Maildir already on disk (its index row
    /// lost) keeps its UIDVALIDITY, and UIDs continue above those in its file names.
    package func createMailbox(at path: String, proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed {
        let maildir = data.maildir(path)
        try maildir.create()
        if let existing = maildir.readUIDValidity() {
            let highest = try maildir.messageFiles().compactMap { MaildirFileName(parsing: $0.name)?.uid }.max() ?? 0
            logger.notice("reusing Maildir found on disk", metadata: ["path": "\(path)", "uidvalidity": "\(existing)"])
            return MailboxSeed(uidValidity: existing, uidNext: highest + 1)
        }
        try maildir.writeUIDValidity(proposedUIDValidity)
        return MailboxSeed(uidValidity: proposedUIDValidity)
    }
}
