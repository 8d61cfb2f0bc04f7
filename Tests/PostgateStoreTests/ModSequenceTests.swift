import Foundation
import GRDB
import Testing
@testable import PostgateStore
@testable import PostgateIndex

/// CONDSTORE mod-sequences in the index (RFC 7162 section 3.1, migration "condstore-v1").
@Suite struct ModSequenceTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let mailbox = "maildir/acme.test/support"

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    /// (uid, modseq) of every message and the mailbox's highest_modseq, read from the file.
    private func state() throws -> (messages: [(UInt32, Int64)], highest: Int64) {
        try fixture.sql { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT uid, modseq FROM message WHERE mailbox_id = (SELECT id FROM mailbox WHERE path = ?) ORDER BY uid
                """, arguments: [mailbox]).map { ($0[0] as UInt32, $0[1] as Int64) }
            let highest = try Int64.fetchOne(db, sql: "SELECT highest_modseq FROM mailbox WHERE path = ?", arguments: [mailbox]) ?? 0
            return (rows, highest)
        }
    }

    @Test func deliveriesGetIncreasingModSequencesFromTheClock() throws {
        let before = ModSequence.clock()
        for subject in ["one", "two", "three"] { _ = try fixture.deliver(sampleMessage(subject: subject), to: ["support@acme.test"]) }
        let (messages, highest) = try state()
        let values = messages.map(\.1)
        #expect(values.count == 3)
        #expect(values == values.sorted() && Set(values).count == 3, "strictly increasing: \(values)")
        #expect(values[0] >= before)
        #expect(highest == values.last)
    }

    @Test func aRebuiltIndexNeverHandsOutLowerModSequences() throws {
        for subject in ["one", "two"] { _ = try fixture.deliver(sampleMessage(subject: subject), to: ["support@acme.test"]) }
        let highestBefore = try state().highest
        // The index lost: rows gone and the mailbox's counter back at its start.
        try fixture.sql { db in
            try db.execute(sql: "DELETE FROM message")
            try db.execute(sql: "UPDATE mailbox SET highest_modseq = 1")
        }
        #expect(try store.rebuildIndex() == 2)
        let (messages, highest) = try state()
        #expect(messages.map(\.0) == [1, 2])
        #expect(messages.allSatisfy { $0.1 > highestBefore }, "\(messages) above \(highestBefore)")
        #expect(highest > highestBefore)
        _ = try fixture.deliver(sampleMessage(subject: "three"), to: ["support@acme.test"])
        #expect(try state().highest > highest)
    }
}
