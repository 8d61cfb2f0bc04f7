import Foundation
import GRDB
import XCTest
@testable import PostgateStore
@testable import PostgateDirectory

final class PasswordVerificationCacheTests: XCTestCase {
    func testRemembersOnlyTheSamePasswordForTheSameStoredHashUntilItExpires() {
        let cache = PasswordVerificationCache(ttl: 60)
        let now = Date(timeIntervalSince1970: 1_000_000)
        XCTAssertFalse(cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now))
        cache.insert(agent: "alice", storedHash: "h1", password: "pw", now: now)
        XCTAssertTrue(cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now.addingTimeInterval(59)))
        XCTAssertFalse(cache.contains(agent: "alice", storedHash: "h1", password: "pW", now: now))
        XCTAssertFalse(cache.contains(agent: "alice", storedHash: "h2", password: "pw", now: now), "a new password hash")
        XCTAssertFalse(cache.contains(agent: "bob", storedHash: "h1", password: "pw", now: now))
        XCTAssertFalse(cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now.addingTimeInterval(61)))
        XCTAssertFalse(cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now), "an expired entry is gone")
    }

    func testIsBoundedAndCanBeTurnedOff() {
        let cache = PasswordVerificationCache(ttl: 60, capacity: 3)
        let now = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<5 { cache.insert(agent: "a\(i)", storedHash: "h", password: "p", now: now.addingTimeInterval(Double(i))) }
        let kept = (0..<5).filter { cache.contains(agent: "a\($0)", storedHash: "h", password: "p", now: now.addingTimeInterval(5)) }
        XCTAssertEqual(kept, [2, 3, 4], "the oldest entries make room")
        cache.setTTL(0)
        XCTAssertFalse(cache.contains(agent: "a4", storedHash: "h", password: "p", now: now))
        cache.insert(agent: "a4", storedHash: "h", password: "p", now: now)
        XCTAssertFalse(cache.contains(agent: "a4", storedHash: "h", password: "p", now: now))
    }

    func testStoreLoginsUseTheCacheAndAPasswordChangeEndsIt() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.addAgent("alice", password: "correct horse")
        let hash = { try XCTUnwrap(try fixture.sql { try String.fetchOne($0, sql: "SELECT password_hash FROM agent WHERE name = 'alice'") }) }
        XCTAssertNotNil(try store.authenticate(agent: "alice", password: "correct horse"))
        XCTAssertFalse(store.verifiedPasswords.contains(agent: "alice", storedHash: try hash(), password: "correct horse"), "off by default")
        store.verifiedPasswords.setTTL(600)
        XCTAssertNotNil(try store.authenticate(agent: "Alice", password: "correct horse"))
        XCTAssertTrue(store.verifiedPasswords.contains(agent: "alice", storedHash: try hash(), password: "correct horse"))
        XCTAssertNil(try store.authenticate(agent: "alice", password: "wrong"))
        XCTAssertFalse(store.verifiedPasswords.contains(agent: "alice", storedHash: try hash(), password: "wrong"))
        try store.setPassword("new password", agent: "alice")
        XCTAssertNil(try store.authenticate(agent: "alice", password: "correct horse"), "the old password no longer works")
        XCTAssertNotNil(try store.authenticate(agent: "alice", password: "new password"))
    }
}
