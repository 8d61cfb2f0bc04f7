import Foundation
import PostgateMessage
import PostgatePolicy
import Testing
@testable import PostgateStore
@testable import PostgateIndex
@testable import PostgateDirectory

/// `DirectorySnapshot`: the delivery path's cached view of the directory gives the same
/// answers as the store, and a committed change, from this store or from another process's
/// (another `MailStore` on the same data directory), reaches the next snapshot.
@Suite struct DirectoryCacheTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let support = try! EmailAddress("support@acme.test")
    let customer = try! EmailAddress("jane@example.org")

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    /// A second store on the same data directory, as `postgate address …` would open.
    func otherProcess() throws -> MailStore { try MailStore.open(directory: fixture.dataPath) }

    @Test func snapshotsAnswerAsTheStoreDoes() throws {
        let snapshot = try store.directorySnapshot()
        let unknown = try EmailAddress("nobody@acme.test")
        #expect(try snapshot.resolveRecipient(support) == store.resolveRecipient(support))
        #expect(try snapshot.resolveRecipient(unknown) == .unknownUser)
        #expect(try snapshot.address(support)?.email == "support@acme.test")
        #expect(try snapshot.address(unknown) == nil)
    }

    @Test func unchangedDirectoryKeepsItsAnswersAndAChangeDropsThem() throws {
        let first = try store.directorySnapshot()
        _ = try first.resolveRecipient(support)
        #expect(try store.directorySnapshot().tables === first.tables)
        try otherProcess().setEnabled(support, false)
        let second = try store.directorySnapshot()
        #expect(second.tables !== first.tables)
        #expect(try second.resolveRecipient(support) == .disabled)
    }

    @Test func anAddressAddedElsewhereIsAcceptedByTheNextSnapshot() throws {
        let sales = try EmailAddress("sales@acme.test")
        #expect(try store.directorySnapshot().resolveRecipient(sales) == .unknownUser)
        try otherProcess().addAddress(sales)
        guard case .accept = try store.directorySnapshot().resolveRecipient(sales) else {
            Issue.record("sales@acme.test not accepted after it was added")
            return
        }
    }

    @Test func blocklistAndFilterChangesReachTheNextSnapshot() throws {
        let target = try fixture.target("support@acme.test")
        let facts = RoutingFacts(sender: customer.description, subject: "invoice 7", body: { "" })
        #expect(try store.directorySnapshot().blocklistEntry(blocking: customer, for: target) == nil)
        #expect(try store.directorySnapshot().route(target, facts: facts)?.queue == "general")
        let other = try otherProcess()
        try other.addToBlocklist([BlocklistEntry(domain: DomainName("example.org"))], of: support)
        try other.addQueue("billing")
        try other.addFilter(to: support, field: .subject, keyword: "invoice", queue: "billing")
        let snapshot = try store.directorySnapshot()
        #expect(try snapshot.blocklistEntry(blocking: customer, for: target)?.value == "example.org")
        #expect(try snapshot.route(target, facts: facts)?.queue == "billing")
    }

    @Test func publishedSettingsReachTheNextSnapshot() throws {
        _ = try store.directorySnapshot().address(support)
        try otherProcess().editAndPublish(support, comment: "rename") { $0.displayName = "Acme Support" }
        #expect(try store.directorySnapshot().address(support)?.displayName == "Acme Support")
    }

    @Test func tablesStayBounded() throws {
        let snapshot = try store.directorySnapshot()
        for i in 0...DirectoryCache.maximumEntries {
            _ = try snapshot.resolveRecipient(EmailAddress("made-up-\(i)@acme.test"))
        }
        #expect(try snapshot.resolveRecipient(support) == store.resolveRecipient(support))
        #expect(snapshot.tables.count(\.resolutions) <= DirectoryCache.maximumEntries)
    }

    @Test func aCommittedDirectoryChangePublishesItsGeneration() throws {
        let hint = DirectoryGenerationHint(databasePath: fixture.dataPath + "/postgate.sqlite")
        let before = try #require(hint.read())
        // A delivery changes no directory table, so it publishes nothing.
        try fixture.deliver(Array("From: jane@example.org\r\nSubject: hi\r\n\r\nhello\r\n".utf8), to: ["support@acme.test"])
        #expect(hint.read() == before)
        try otherProcess().setEnabled(support, false)
        let after = try #require(hint.read())
        #expect(after > before)
        #expect(try store.directory.generation() == after)
    }

    /// The reader keeps the file open once it exists; rewrites in place are seen through it.
    @Test func aHintIsReadOnceTheFileExistsAndFollowsRewrites() {
        let path = fixture.dataPath + "/other.sqlite"
        let reader = DirectoryGenerationHint(databasePath: path)
        #expect(reader.read() == nil)
        let writer = DirectoryGenerationHint(databasePath: path)
        writer.publish(7)
        #expect(reader.read() == 7)
        writer.publish(8)
        #expect(reader.read() == 8)
    }

    /// A writer that died between its commit and its hint: the kept tables are used for at
    /// most `recheckInterval`, then the generation is read from SQLite again.
    @Test func withoutAHintTheGenerationIsReadAgainAfterTheInterval() throws {
        let cache = DirectoryCache()
        let start = ContinuousClock.now
        let first = cache.tables(for: 5, hint: 5, now: start)
        #expect(cache.tablesIfUnchanged(hint: 5, now: start + .milliseconds(500)) === first)
        #expect(cache.tablesIfUnchanged(hint: 6, now: start + .milliseconds(500)) == nil)
        #expect(cache.tablesIfUnchanged(hint: 5, now: start + DirectoryCache.recheckInterval) == nil)
        #expect(cache.tables(for: 6, hint: 5, now: start + .seconds(2)) !== first)
        #expect(cache.tables(for: 4, hint: 5, now: start + .seconds(2)).generation == 4)
        #expect(cache.tablesIfUnchanged(hint: 5, now: start + .seconds(2))?.generation == 6)
    }
}
