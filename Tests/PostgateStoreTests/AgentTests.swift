import Foundation
import GRDB
import PostgateMessage
import XCTest
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex
@testable import PostgateDirectory

final class AgentTests: XCTestCase {
    func testPasswordHashRoundTripAndParameters() throws {
        let hash = try PasswordHash.make("s3cret pass", cost: 1 << 10)
        XCTAssertTrue(hash.stored.hasPrefix("scrypt$1024$8$1$"))
        let parsed = try XCTUnwrap(PasswordHash(stored: hash.stored))
        XCTAssertEqual(parsed, hash)
        XCTAssertTrue(parsed.verify("s3cret pass"))
        XCTAssertFalse(parsed.verify("s3cret pasS"))
        XCTAssertNotEqual(try PasswordHash.make("s3cret pass", cost: 1 << 10).salt, hash.salt, "a fresh salt per password")
        XCTAssertNil(PasswordHash(stored: "scrypt$1000$8$1$AA==$AA=="), "N must be a power of two")
        XCTAssertNil(PasswordHash(stored: "plain$x"))
    }

    func testAgentLifecycleAndMembership() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try fixture.host("acme.test", "support", "sales")
        let alice = try store.addAgent("alice", displayName: "Alice", password: "correct horse")
        XCTAssertEqual(alice.addresses, [])
        XCTAssertThrowsError(try store.addAgent("alice", password: "x")) { XCTAssertEqual($0 as? StoreError, .agentAlreadyExists("alice")) }
        try store.grant(agent: "alice", address: EmailAddress("support@acme.test"))
        XCTAssertThrowsError(try store.grant(agent: "alice", address: EmailAddress("support@acme.test")))
        XCTAssertThrowsError(try store.grant(agent: "nobody", address: EmailAddress("support@acme.test"))) {
            XCTAssertEqual($0 as? StoreError, .agentNotFound("nobody"))
        }
        let identity = try XCTUnwrap(try store.authenticate(agent: "Alice", password: "correct horse"))
        let names = try store.visibleMailboxes(agent: identity).map(\.name)
        XCTAssertEqual(names, ["Drafts", "INBOX", "Sent", "Trash", "Shared/support@acme.test"])
        try store.revoke(agent: "alice", from: .address(EmailAddress("support@acme.test")))
        XCTAssertEqual(try store.visibleMailboxes(agent: identity).count, 4)
        try store.setPassword("new password", agent: "alice")
        XCTAssertNil(try store.authenticate(agent: "alice", password: "correct horse"))
        XCTAssertNotNil(try store.authenticate(agent: "alice", password: "new password"))
        let stored = try fixture.sql { try String.fetchOne($0, sql: "SELECT password_hash FROM agent WHERE name = 'alice'") }
        XCTAssertTrue(stored?.hasPrefix("scrypt$32768$8$1$") == true && stored?.contains("new password") == false, stored ?? "")
        try store.removeAgent("alice")
        XCTAssertNil(try store.agent("alice"))
    }

    func testQueueMembershipShowsSharedQueueFolders() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try fixture.host("acme.test", "support")
        try store.addQueue("refunds", privateSeen: true)
        try store.addAgent("alice", password: "correct horse")
        let record = try store.grant(agent: "alice", to: .queue("Refunds"))
        XCTAssertEqual(record.queues, ["refunds"])
        XCTAssertThrowsError(try store.grant(agent: "alice", to: .queue("refunds"))) {
            XCTAssertEqual($0 as? StoreError, .agentAlreadyGranted(agent: "alice", membership: .queue("refunds")))
        }
        XCTAssertThrowsError(try store.grant(agent: "alice", to: .queue("nope"))) { XCTAssertEqual($0 as? StoreError, .queueNotFound("nope")) }
        try store.grant(agent: "alice", to: .queue("general"))
        try store.grant(agent: "alice", to: .address(EmailAddress("support@acme.test")))
        let alice = try XCTUnwrap(try store.authenticate(agent: "alice", password: "correct horse"))
        let shared = try store.visibleMailboxes(agent: alice).filter { $0.kind == .shared }
        XCTAssertEqual(shared.map(\.name), ["Shared/Queues/general", "Shared/Queues/refunds", "Shared/support@acme.test"])
        XCTAssertEqual(shared.map(\.path), ["queues/general", "queues/refunds", "maildir/acme.test/support"])
        XCTAssertEqual(shared.map(\.privateSeen), [false, true, false], "\\Seen is private only where the queue says so")

        try store.setPrivateSeen(false, of: .queue("refunds"))
        try store.setPrivateSeen(true, of: .queue("general"))
        XCTAssertEqual(try store.queues().map(\.privateSeen), [true, false])
        XCTAssertThrowsError(try store.setPrivateSeen(true, of: .queue("nope"))) { XCTAssertEqual($0 as? StoreError, .queueNotFound("nope")) }

        try store.revoke(agent: "alice", from: .queue("general"))
        XCTAssertThrowsError(try store.revoke(agent: "alice", from: .queue("general"))) {
            XCTAssertEqual($0 as? StoreError, .agentNotGranted(agent: "alice", membership: .queue("general")))
        }
        try store.removeQueue("refunds")
        XCTAssertEqual(try store.agent("alice")?.queues, [], "removing a queue removes its memberships")
        XCTAssertEqual(try store.visibleMailboxes(agent: alice).filter { $0.kind == .shared }.map(\.name), ["Shared/support@acme.test"])
    }

    func testQueuePrivateSeenSurvivesExportAndImport() throws {
        let fixture = try StoreFixture()
        try fixture.store.addQueue("vip", description: "VIP customers", privateSeen: true)
        try fixture.store.addQueue("plain")
        let export = try fixture.store.exportChannels()
        XCTAssertEqual(export.queues.map(\.privateSeen), [nil, true])
        let files = Dictionary(uniqueKeysWithValues: ChannelCSV.tables(of: export))
        XCTAssertEqual(try ChannelCSV.export(from: files).queues, export.queues)
        let other = try StoreFixture()
        _ = try other.store.importChannels(export)
        XCTAssertEqual(try other.store.queues().map(\.privateSeen), [false, true])
        var old = files
        old["queues.csv"] = "name,description\r\nvip,\r\n"
        XCTAssertEqual(try ChannelCSV.export(from: old).queues.map(\.privateSeen), [nil], "files without the column still import")
    }

    func testPolicyLabelsBecomeKeywords() throws {
        let fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
        let target = try fixture.target("support@acme.test")
        for (label, keyword) in [("blocked", "$Blocked"), ("auto-reply", "$AutoReply"), (nil, nil)] as [(String?, String?)] {
            let bytes = sampleMessage()
            let message = try fixture.store.beginMessage()
            try bytes.withUnsafeBytes { try message.write($0) }
            let envelope = DeliveryEnvelope(mailFrom: "x@example.org", rcptTo: [target: "support@acme.test"],
                                            header: MessageHeader.parse(bytes), policy: label.map { [target: $0] } ?? [:])
            let stored = try fixture.store.deliver(message, to: [target], envelope: envelope)
            let keywords = try fixture.sql {
                try String.fetchOne($0, sql: "SELECT keywords FROM message WHERE mailbox_id = ? AND uid = ?",
                                    arguments: [stored[0].mailboxID, stored[0].uid])
            }
            XCTAssertEqual(keywords, keyword ?? "", label ?? "ordinary")
        }
    }

    func testChangeFeedCountsAndCallsObservers() {
        let feed = MailboxChangeFeed()
        let calls = LockedCounter()
        let token = feed.observe(7) { _ in calls.increment() }
        feed.notify([7, 7, 8])
        XCTAssertEqual(feed.version(of: 7), 1)
        XCTAssertEqual(feed.version(of: 8), 1)
        feed.cancel(token)
        feed.notify([7])
        XCTAssertEqual(calls.value, 1)
        XCTAssertEqual(feed.version(of: 7), 2)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
