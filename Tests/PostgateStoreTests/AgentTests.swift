import Foundation
import GRDB
import PostgateMessage
import XCTest
@testable import PostgateStore

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
        try store.revoke(agent: "alice", address: EmailAddress("support@acme.test"))
        XCTAssertEqual(try store.visibleMailboxes(agent: identity).count, 4)
        try store.setPassword("new password", agent: "alice")
        XCTAssertNil(try store.authenticate(agent: "alice", password: "correct horse"))
        XCTAssertNotNil(try store.authenticate(agent: "alice", password: "new password"))
        let stored = try fixture.sql { try String.fetchOne($0, sql: "SELECT password_hash FROM agent WHERE name = 'alice'") }
        XCTAssertTrue(stored?.hasPrefix("scrypt$32768$8$1$") == true && stored?.contains("new password") == false, stored ?? "")
        try store.removeAgent("alice")
        XCTAssertNil(try store.agent("alice"))
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
