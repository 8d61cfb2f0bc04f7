import Foundation
import GRDB
import Testing
@testable import PostgateStore

/// SELECT's summaries are kept while the mailbox's version (UIDVALIDITY, UIDNEXT,
/// HIGHESTMODSEQ, private `\Seen`) reads the same, and read again after any change.
@Suite struct MailboxSummaryCacheTests {
    let fixture: StoreFixture
    let mailboxID: Int64

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
        mailboxID = try fixture.deliver(sampleMessage(), to: ["support@acme.test"])[0].mailboxID
    }

    var operations: SQLiteMessageOperations { fixture.store.messageOperations as! SQLiteMessageOperations }

    func select(agent: Int64 = 1, in operations: SQLiteMessageOperations? = nil) throws -> [MessageSummary] {
        try (operations ?? self.operations).snapshot(mailboxID: mailboxID, agentID: agent, details: false).messages
    }

    func seen(_ uid: UInt32, agent: Int64 = 1, via operations: SQLiteMessageOperations? = nil) throws {
        _ = try (operations ?? self.operations).updateFlags(
            mailboxID: mailboxID, agentID: agent, uids: [uid], unchangedSince: nil) { $0.union(MessageFlags(letters: "S")) }
    }

    @Test func anUnchangedMailboxIsServedFromTheCache() throws {
        #expect(try select().map(\.uid) == [1])
        #expect(operations.selectCache.count == 1)
        // A change behind the store's back that does not raise HIGHESTMODSEQ is not seen:
        // the cached answer was used. (Every real change raises it; see the next tests.)
        try DatabaseQueue(path: fixture.dataPath + "/postgate.sqlite").write { db in
            try db.execute(sql: "UPDATE message SET flags = 'F' WHERE mailbox_id = ?", arguments: [mailboxID])
        }
        #expect(try select()[0].flags.isSeen == false)
        #expect(try select()[0].fileLetters == "")
    }

    @Test func deliveriesFlagChangesAndExpungesAreSeen() throws {
        #expect(try select().count == 1)
        try fixture.deliver(sampleMessage(subject: "second"), to: ["support@acme.test"])
        #expect(try select().map(\.uid) == [1, 2])
        try seen(2)
        #expect(try select().map(\.flags.isSeen) == [false, true])
        _ = try operations.deleteMessages(mailboxID: mailboxID, uids: [1])
        #expect(try select().map(\.uid) == [2])
    }

    @Test func changesByAnotherProcessAreSeen() throws {
        #expect(try select()[0].flags.isSeen == false)
        let other = try MailStore.open(directory: fixture.dataPath)
        try seen(1, via: other.messageOperations as? SQLiteMessageOperations)
        #expect(try select()[0].flags.isSeen)
    }

    func agent(_ name: String) throws -> Int64 {
        _ = try fixture.store.addAgent(name, password: "a long password")
        return try #require(try fixture.store.authenticate(agent: name, password: "a long password")).id
    }

    @Test func privateSeenIsCachedPerAgent() throws {
        let ana = try agent("ana"), bo = try agent("bo")
        try operations.setPrivateSeen(true, mailboxID: mailboxID)
        #expect(try select(agent: ana)[0].flags.isSeen == false)
        try seen(1, agent: bo)
        #expect(try select(agent: bo)[0].flags.isSeen)
        #expect(try select(agent: ana)[0].flags.isSeen == false)
        try operations.setPrivateSeen(false, mailboxID: mailboxID)
        #expect(try select(agent: ana)[0].flags.isSeen == false, "shared \\Seen was never set")
    }

    @Test func theCacheKeepsAtMostItsCapacity() {
        let cache = MailboxSummaryCache()
        let version = MailboxSummaryCache.Version(uidValidity: 1, uidNext: 2, highestModSeq: 3, privateSeen: false)
        let half = [MessageSummary](repeating: MessageSummary(
            uid: 1, flags: MessageFlags(), size: 0, internalDate: Date(), filename: "", fileLetters: "", modSeq: 1),
            count: MailboxSummaryCache.capacity / 2)
        for id in 1...3 { cache.store(half, .init(mailboxID: Int64(id), agentID: 0), at: version) }
        #expect(cache.count == MailboxSummaryCache.capacity)
        #expect(cache.messages(.init(mailboxID: 1, agentID: 0), at: version) == nil, "the oldest went first")
        #expect(cache.messages(.init(mailboxID: 3, agentID: 0), at: version)?.count == half.count)
        #expect(cache.messages(.init(mailboxID: 3, agentID: 0), at: .init(uidValidity: 1, uidNext: 2, highestModSeq: 4, privateSeen: false)) == nil)
    }
}
