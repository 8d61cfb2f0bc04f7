import Foundation
import GRDB
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex

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

    var operations: SQLiteMessageIndex { fixture.store.index as! SQLiteMessageIndex }

    func select(agent: Int64 = 1, in operations: SQLiteMessageIndex? = nil) throws -> [MessageSummary] {
        try (operations ?? self.operations).snapshot(mailboxID: mailboxID, agentID: agent, details: false).messages
    }

    func seen(_ uid: UInt32, agent: Int64 = 1, via operations: SQLiteMessageIndex? = nil) throws {
        try flag(uid, "S", agent: agent, via: operations)
    }

    @Test func anUnchangedMailboxIsServedFromTheCache() throws {
        #expect(try select().map(\.uid) == [1])
        #expect(operations.selectCache.count == 1)
        // A change behind the store's back that does not raise HIGHESTMODSEQ is not seen:
        // the cached answer was used. (Every real change raises it; see the next tests.)
        try sql("UPDATE message SET flags = 'F' WHERE mailbox_id = ?")
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
        try seen(1, via: other.index as? SQLiteMessageIndex)
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

    // MARK: - Refresh: the first SELECT after a change reads only the messages changed
    // since the cached summary (`MailboxSummaryCache.Version.canRefresh`), and the whole
    // mailbox after a removal. These tests start with two messages.

    func secondMessage() throws {
        try fixture.deliver(sampleMessage(subject: "second"), to: ["support@acme.test"])
    }

    /// What a store without a cached summary reads (the whole mailbox).
    func uncached(agent: Int64 = 1) throws -> [MessageSummary] {
        try select(agent: agent, in: MailStore.open(directory: fixture.dataPath).index as? SQLiteMessageIndex)
    }

    func flag(_ uid: UInt32, _ letters: String, agent: Int64 = 1, via operations: SQLiteMessageIndex? = nil) throws {
        _ = try (operations ?? self.operations).updateFlags(
            mailboxID: mailboxID, agentID: agent, uids: [uid], unchangedSince: nil) { $0.union(MessageFlags(letters: letters)) }
    }

    /// Changes message 1's flags in the file without raising any mod-sequence: a whole
    /// read shows it, a refresh (which reads only rows changed since) does not.
    func plantUnannouncedFlag() throws {
        try sql("UPDATE message SET flags = 'F' WHERE mailbox_id = ? AND uid = 1")
    }

    func sql(_ statement: String) throws {
        try DatabaseQueue(path: fixture.dataPath + "/postgate.sqlite").write { db in
            try db.execute(sql: statement, arguments: [mailboxID])
        }
    }

    @Test func aDeliveryIsMergedWithoutReadingTheMailboxAgain() throws {
        try secondMessage()
        _ = try select()
        try plantUnannouncedFlag()
        try fixture.deliver(sampleMessage(subject: "third"), to: ["support@acme.test"])
        let refreshed = try select()
        #expect(refreshed.map(\.uid) == [1, 2, 3])
        #expect(refreshed[0].fileLetters == "", "only the changed rows were read")
        #expect(refreshed[2] == (try uncached())[2])
    }

    @Test func aFlagChangeIsMergedWithItsModSequence() throws {
        try secondMessage()
        _ = try select()
        try flag(2, "F")
        let refreshed = try select()
        #expect(refreshed == (try uncached()))
        #expect(refreshed[1].flags.letters == "F")
        #expect(refreshed[1].modSeq > refreshed[0].modSeq)
        try flag(1, "S")
        try flag(2, "R")
        #expect(try select() == (try uncached()), "a second refresh starts from the first")
    }

    @Test func anExpungeMakesTheNextSelectReadEverything() throws {
        try secondMessage()
        _ = try select()
        try plantUnannouncedFlag()
        _ = try operations.deleteMessages(mailboxID: mailboxID, uids: [2])
        let after = try select()
        #expect(after.map(\.uid) == [1])
        #expect(after[0].fileLetters == "F", "read whole, not refreshed")
        try flag(1, "S")
        #expect(try select() == (try uncached()), "and right after the next change")
    }

    @Test func everyRowRemovalRaisesTheExpungeModSequence() throws {
        try secondMessage()
        // Another process (or any path: quarantine, folder removal, repair) removing a row and
        // raising HIGHESTMODSEQ: the trigger records it, so the removal is seen.
        _ = try select()
        try sql("DELETE FROM message WHERE mailbox_id = ? AND uid = 1")
        try sql("UPDATE mailbox SET highest_modseq = highest_modseq + 1 WHERE id = ?")
        #expect(try select().map(\.uid) == [2])
        // Raised first, removed after (the order `removeQuarantined` uses): also seen.
        try fixture.deliver(sampleMessage(subject: "third"), to: ["support@acme.test"])
        #expect(try select().map(\.uid) == [2, 3])
        try sql("UPDATE mailbox SET highest_modseq = highest_modseq + 1 WHERE id = ?")
        try sql("DELETE FROM message WHERE mailbox_id = ? AND uid = 3")
        #expect(try select().map(\.uid) == [2])
    }

    @Test func changesByAnotherProcessAreMerged() throws {
        try secondMessage()
        _ = try select()
        let other = try MailStore.open(directory: fixture.dataPath)
        try flag(1, "S", via: other.index as? SQLiteMessageIndex)
        #expect(try select()[0].flags.isSeen)
        #expect(try select() == (try uncached()))
    }

    @Test func privateSeenIsRefreshedPerAgent() throws {
        try secondMessage()
        let ana = try agent("ana"), bo = try agent("bo")
        try operations.setPrivateSeen(true, mailboxID: mailboxID)
        _ = try select(agent: ana)
        _ = try select(agent: bo)
        try flag(1, "S", agent: bo)
        #expect(try select(agent: ana).map(\.flags.isSeen) == [false, false])
        #expect(try select(agent: bo).map(\.flags.isSeen) == [true, false])
        #expect(try select(agent: bo) == (try uncached(agent: bo)))
    }

    @Test func mergingKeepsUIDOrder() {
        func summary(_ uid: UInt32, _ letters: String = "") -> MessageSummary {
            MessageSummary(uid: uid, flags: MessageFlags(letters: letters), size: 0, internalDate: Date(timeIntervalSince1970: 0),
                           filename: "", fileLetters: letters, modSeq: UInt64(uid))
        }
        let merged = MailboxSummaryCache.merging([summary(9), summary(3, "S"), summary(4)], into: [summary(1), summary(3), summary(7)])
        #expect(merged.map(\.uid) == [1, 3, 4, 7, 9])
        #expect(merged[1].flags.isSeen)
    }
}
