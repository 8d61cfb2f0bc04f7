import Foundation
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateIndex
@testable import PostgateDirectory

/// `postgate trace`'s lookups, the store's size for `/metrics`, and the audit lines of
/// retention and erasure.
@Suite struct TraceTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support", "sales")
    }

    private func received(_ id: String) -> [UInt8] {
        Array("Return-Path: <customer@example.org>\r\nReceived: from mx.example.org ([192.0.2.7])\r\n\tby postgate.test (Postgate) with ESMTP id \(id);\r\n\tTue, 14 Nov 2023 22:13:20 +0000\r\n".utf8)
    }

    @Test func aQueueIDFindsEveryCopyOfItsDelivery() throws {
        try fixture.deliver(received("QID1") + sampleMessage(messageID: "<m7@example.org>"), to: ["support@acme.test", "sales@acme.test"],
                            queueID: "QID1")
        try fixture.deliver(sampleMessage(messageID: "<other@example.org>"), to: ["support@acme.test"], queueID: "QID2")
        let traced = try #require(try store.tracedMessage(queueID: "QID1"))
        #expect(traced.queueId == "QID1" && traced.messageId == "<m7@example.org>" && traced.mailFrom == "sender@example.org")
        #expect(traced.copies.map(\.mailbox) == ["maildir/acme.test/support", "maildir/acme.test/sales"])
        #expect(traced.copies.map(\.rcptTo) == ["support@acme.test", "sales@acme.test"])
        #expect(traced.receivedVia == "from mx.example.org ([192.0.2.7]) by postgate.test (Postgate) with ESMTP id QID1; Tue, 14 Nov 2023 22:13:20 +0000")
        #expect(traced.sessionIds.count == traced.copies.compactMap(\.sessionId).count)
        #expect(try store.tracedMessage(queueID: "NOSUCH") == nil)
    }

    @Test func aMessageIDFindsEachMessageWithOrWithoutBrackets() throws {
        try fixture.deliver(sampleMessage(messageID: "<m8@example.org>"), to: ["support@acme.test", "sales@acme.test"], queueID: "QA")
        // Another sender and text: not a duplicate of the first.
        let other = String(decoding: sampleMessage(body: "Another text.\r\n", messageID: "<m8@example.org>"), as: UTF8.self)
            .replacingOccurrences(of: "From: Customer <customer@example.org>", with: "From: Other <other@example.org>")
        try fixture.deliver(Array(other.utf8), to: ["sales@acme.test"], queueID: "QB")
        for query in ["<m8@example.org>", "m8@example.org", " <m8@example.org> "] {
            let found = try store.tracedMessages(messageID: query)
            #expect(found.map(\.queueId) == ["QA", "QB"], "\(query)")
            #expect(found.map(\.copies.count) == [2, 1])
        }
        #expect(try store.tracedMessages(messageID: "<none@example.org>").isEmpty)
        #expect(try store.tracedMessages(messageID: "<>").isEmpty)
    }

    @Test func theStoreSizeIsTheCopiesAndTheIndexFiles() throws {
        let one = try fixture.deliver(sampleMessage(), to: ["support@acme.test", "sales@acme.test"])
        let size = try store.storeSize()
        #expect(size.messages == Int64(one.reduce(0) { $0 + $1.size }))
        #expect(size.index > 0)
    }

    @Test func retentionAndErasureAreAuditedWithCountsOnly() throws {
        let retention = RetentionReport(addresses: [.init(address: "support@acme.test", retentionDays: 30,
                                                          messages: ["maildir/acme.test/support": 3], sessions: 1)], dryRun: false)
        try store.recordRetention(retention, actor: "retention", recordNothing: false)
        try store.recordRetention(RetentionReport(dryRun: false), actor: "retention", recordNothing: false)
        try store.recordRetention(RetentionReport(dryRun: false), actor: "cli", recordNothing: true)
        try store.recordRetention(RetentionReport(addresses: retention.addresses, dryRun: true), actor: "cli", recordNothing: true)
        var erasure = ErasureReport(customer: "jane@example.org", messages: ["maildir/acme.test/support": 2, "queues/q": 1],
                                    sessions: 1, participations: 0, outboundRecipients: 1, dryRun: false)
        try store.recordErasure(erasure, actor: "cli")
        erasure.dryRun = true
        try store.recordErasure(erasure, actor: "cli")
        let events = try store.auditEvents().reversed().map { ($0.actor, $0.action, $0.target, $0.detail ?? "") }
        #expect(events.count == 3)
        #expect(events[0] == ("retention", "retention.run", "support@acme.test", "deleted 3 message(s) and 1 session(s) older than 30 day(s)"))
        #expect(events[1] == ("cli", "retention.run", "*", "nothing to delete"))
        #expect(events[2] == ("cli", "erase", "jane@example.org",
                              "erased 3 message(s) in 2 mailbox(es), 1 session(s), 0 participation(s), 1 queued reply recipient(s)"))
    }
}
