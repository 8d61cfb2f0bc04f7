import Foundation
import PostgateMessage
import PostgatePolicy
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateDirectory

/// The channel model in the store: kinds and limits, drafts and publishing, queues,
/// filters and routing, export and import.
@Suite struct ChannelTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let support = try! EmailAddress("support@acme.test")

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    @Test func customDomainKindsAreLimited() throws {
        var limits = ChannelLimits()
        limits.standard = .init(domains: 2, addressesPerDomain: 1)
        try store.addDomain(DomainName("a.test"), kind: .standard, limits: limits)
        try store.addDomain(DomainName("b.test"), kind: .standard, limits: limits)
        #expect(throws: StoreError.self) { try store.addDomain(DomainName("c.test"), kind: .standard, limits: limits) }
        try store.addDomain(DomainName("c.test"), kind: .advanced, limits: limits)
        try store.setRequireVerification(DomainName("a.test"), false)
        try store.addAddress(EmailAddress("x@a.test"), limits: limits)
        #expect(throws: StoreError.self) { try store.addAddress(EmailAddress("y@a.test"), limits: limits) }
        #expect(try store.domains().map(\.kind) == [.standard, .hosted, .standard, .advanced])
    }

    @Test func anAddressOnAnUnverifiedCustomDomainIsEnabledOnlyOnceVerified() throws {
        let brand = try DomainName("brand.test")
        let record = try store.addDomain(brand, kind: .standard)
        #expect(record.requireVerification && record.ownership?.status == "Pending")
        #expect(throws: StoreError.self) { try store.addAddress(EmailAddress("hi@brand.test")) }
        #expect(try store.address(EmailAddress("hi@brand.test")) == nil)
        var disabled = ChannelSettings()
        disabled.enabled = false
        try store.addAddress(EmailAddress("hi@brand.test"), settings: disabled)
        #expect(throws: StoreError.self) { try store.editDraft(of: EmailAddress("hi@brand.test")) { $0.enabled = true } }
        // Ownership verified is not enough: the DKIM record must be too.
        try store.recordOwnershipCheck(brand, status: "Success", reason: nil, at: Date())
        #expect(throws: StoreError.self) { try store.editDraft(of: EmailAddress("hi@brand.test")) { $0.enabled = true } }
        try store.setRequireVerification(brand, false)
        try store.editDraft(of: EmailAddress("hi@brand.test")) { $0.enabled = true }
        // A hosted domain has no ownership record and no rule.
        #expect(try store.domainOwnership(DomainName("acme.test")) == nil)
    }

    @Test func editsWaitForPublish() throws {
        try store.editDraft(of: support) { $0.displayName = "Acme"; $0.maxTo = 10 }
        #expect(try store.address(support)?.displayName == nil)
        #expect(try store.pendingChanges(of: support).map(\.field) == ["displayName", "maxTo"])
        let publication = try store.publish(comment: "rename")
        #expect(publication.addresses.map(\.address) == ["support@acme.test"])
        #expect(try store.address(support)?.displayName == "Acme")
        #expect(try store.address(support)?.settings.maxTo == 10)
        #expect(try store.pendingChanges(of: support).isEmpty)
        #expect(try store.publications().map(\.comment) == ["rename"])
    }

    @Test func aDraftEqualToWhatIsPublishedIsDropped() throws {
        try store.editDraft(of: support) { $0.displayName = "Acme" }
        try store.editDraft(of: support) { $0.displayName = nil }
        #expect(try store.address(support)?.hasDraft == false)
        #expect(throws: StoreError.self) { try store.publish(comment: "nothing") }
    }

    @Test func enablingNeedsADefaultQueue() throws {
        #expect(throws: StoreError.self) { try store.editDraft(of: support) { $0.defaultQueue = nil } }
        try store.editDraft(of: support) { $0.enabled = false; $0.defaultQueue = nil }
        try store.publish(comment: "park")
        #expect(throws: StoreError.self) { try store.setEnabled(support, true) }
        #expect(try store.resolveRecipient(support) == .disabled)
    }

    @Test func recipientCapsSumToAtMostOneHundred() throws {
        #expect(throws: StoreError.self) { try store.editDraft(of: support) { $0.maxTo = 50; $0.maxCc = 50; $0.maxBcc = 1 } }
        try store.editDraft(of: support) { $0.maxTo = 50; $0.maxCc = 50 }
        #expect(try store.settings(of: support).draft?.maxCc == 50)
    }

    @Test func outboundOnlyAddressesReceiveNothing() throws {
        try store.editAndPublish(support, comment: "send only") { $0.usage = .outbound }
        #expect(try store.resolveRecipient(support) == .disabled)
    }

    @Test func aQueueInUseCannotBeRemoved() throws {
        try store.addQueue("billing")
        try store.addFilter(to: support, field: .subject, keyword: "invoice", queue: "billing")
        #expect(throws: StoreError.queueInUse("billing", by: ["support@acme.test"])) { try store.removeQueue("billing") }
        #expect(throws: StoreError.self) { try store.removeQueue("general") }
        #expect(throws: StoreError.self) { try store.addQueue("Billing") }
    }

    @Test func theFirstMatchingFilterRoutes() throws {
        try store.addQueue("billing")
        try store.addQueue("vip")
        try store.addFilter(to: support, field: .subject, keyword: "invoice", queue: "billing")
        let vip = try store.addFilter(to: support, field: .sender, keyword: "vip.example", queue: "vip")
        let target = try fixture.target("support@acme.test")
        func route(_ sender: String, _ subject: String) throws -> String? {
            try store.route(target, facts: RoutingFacts(sender: sender, subject: subject, body: { "" }))?.queue
        }
        #expect(try route("a@vip.example", "Ínvoice 1") == "billing")
        #expect(try route("a@vip.example", "hello") == "vip")
        #expect(try route("a@example.org", "hello") == "general")
        try store.moveFilter(vip.id, of: support, to: 1)
        #expect(try route("a@vip.example", "invoice") == "vip")
    }

    @Test func bodyIsReadOnlyWhenARuleNeedsIt() throws {
        let target = try fixture.target("support@acme.test")
        var reads = 0
        let facts = RoutingFacts(sender: "a@example.org", subject: "x", body: { reads += 1; return "refund please" })
        #expect(try store.route(target, facts: facts)?.queue == "general")
        #expect(reads == 0)
        try store.addQueue("refunds")
        try store.addFilter(to: support, field: .body, keyword: "REFUND", queue: "refunds")
        #expect(try store.route(target, facts: facts)?.queue == "refunds")
        #expect(reads == 1)
    }

    @Test func exportImportRoundTrip() throws {
        try store.addDomain(DomainName("brand.test"), kind: .advanced)
        try store.setRequireVerification(DomainName("brand.test"), false)
        try store.addQueue("billing", description: "money")
        try store.addAddress(EmailAddress("hi@brand.test"), aliases: [EmailAddress("hello@brand.test")])
        try store.editAndPublish(EmailAddress("hi@brand.test"), comment: "x") { $0.templateFooterHTML = "<p>a,\"b\"\r\nc</p>"; $0.defaultQueue = "billing" }
        try store.editDraft(of: support) { $0.sessionMode = .thread }
        try store.addFilter(to: support, field: .body, keyword: "refund, now", queue: "billing")
        try store.addToBlocklist([BlocklistEntry(parsing: "Bob@Bücher.example"), BlocklistEntry(parsing: "@spam.example")], of: support)
        let export = try store.exportChannels()
        #expect(export.blocklist == [.init(address: "support@acme.test", kind: .address, entry: "bob@bücher.example"),
                                     .init(address: "support@acme.test", kind: .domain, entry: "spam.example")])

        let other = try StoreFixture()
        let report = try other.store.importChannels(export)
        #expect(report.addressesAdded.sorted() == ["hi@brand.test", "support@acme.test"])
        #expect(report.blocklistEntriesWritten == 2)
        var again = try other.store.exportChannels()
        again.exportedAt = export.exportedAt
        #expect(again == export)

        let third = try StoreFixture()
        var files: [String: String] = [:]
        for (name, text) in ChannelCSV.tables(of: export) { files[name] = text }
        #expect(files["blocklist.csv"] == "address,kind,entry\r\nsupport@acme.test,address,bob@bücher.example\r\nsupport@acme.test,domain,spam.example\r\n")
        _ = try third.store.importChannels(ChannelCSV.export(from: files))
        var fromCSV = try third.store.exportChannels()
        fromCSV.exportedAt = export.exportedAt
        #expect(fromCSV == export)
        // Importing again replaces the blocklist rather than failing on entries already listed.
        _ = try third.store.importChannels(ChannelCSV.export(from: files))
        #expect(try third.store.blocklist(of: support).count == 2)
    }

    @Test func anExportWithoutBlocklistLeavesBlocklistsAlone() throws {
        try store.addToBlocklist([BlocklistEntry(parsing: "spam.example")], of: support)
        var export = try store.exportChannels()
        export.blocklist = nil
        var files: [String: String] = [:]
        for (name, text) in ChannelCSV.tables(of: export) where name != "blocklist.csv" { files[name] = text }
        #expect(try ChannelCSV.export(from: files).blocklist == nil)
        _ = try store.importChannels(export)
        #expect(try store.blocklist(of: support).map(\.entry) == ["spam.example"])
        export.blocklist = [.init(address: "support@acme.test", kind: .address, entry: "spam.example")]
        #expect(throws: StoreError.self) { try store.importChannels(export) }
        #expect(try store.blocklist(of: support).map(\.entry) == ["spam.example"], "a refused import changed nothing")
    }

    @Test func csvErrorsNameFileAndLine() throws {
        var files: [String: String] = [:]
        for (name, text) in ChannelCSV.tables(of: try store.exportChannels()) { files[name] = text }
        files["domains.csv"] = "name,kind\r\n\"multi\r\nline.test\",hosted\r\nx.test,galactic\r\n"
        #expect(throws: StoreError.invalidSetting("domains.csv line 4: kind must be hosted, standard or advanced")) {
            try ChannelCSV.export(from: files)
        }
        files["domains.csv"] = "name,kind\r\n\"never closed\r\n"
        #expect(throws: StoreError.invalidSetting("domains.csv: line 2: a quoted field is never closed")) {
            try ChannelCSV.export(from: files)
        }
    }

    @Test func aDryRunOrAFailedImportChangesNothing() throws {
        try store.addQueue("billing")
        try store.addFilter(to: support, field: .subject, keyword: "x", queue: "billing")
        var export = try store.exportChannels()
        let other = try StoreFixture()
        _ = try other.store.importChannels(export, dryRun: true)
        #expect(try other.store.domains().isEmpty)
        #expect(other.fixtureHasNoQueueMaildir)
        export.filters[0].queue = "missing"
        #expect(throws: StoreError.self) { try other.store.importChannels(export) }
        #expect(try other.store.domains().isEmpty)
    }
}

extension StoreFixture {
    var fixtureHasNoQueueMaildir: Bool { !FileManager.default.fileExists(atPath: dataPath + "/queues") }
}

/// The nearest-rank percentile the activity report uses for first-response times.
@Suite struct ReportPercentileTests {
    @Test func nearestRank() {
        #expect(MailStore.percentile([], 0.5) == nil)
        #expect(MailStore.percentile([7], 0.9) == 7)
        #expect(MailStore.percentile([1, 2, 3, 4], 0.5) == 2)
        #expect(MailStore.percentile(Array(1...10).map(Double.init), 0.9) == 9)
        #expect(MailStore.percentile(Array(1...10).map(Double.init), 1) == 10)
    }
}
