import Foundation
import GRDB
import Testing
@testable import PostgateStore
@testable import PostgateDirectory

@Suite struct PasswordVerificationCacheTests {
    @Test func remembersOnlyTheSamePasswordForTheSameStoredHashUntilItExpires() {
        let cache = PasswordVerificationCache(ttl: 60)
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(!cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now))
        cache.insert(agent: "alice", storedHash: "h1", password: "pw", now: now)
        #expect(cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now.addingTimeInterval(59)))
        #expect(!cache.contains(agent: "alice", storedHash: "h1", password: "pW", now: now))
        #expect(!cache.contains(agent: "alice", storedHash: "h2", password: "pw", now: now), "a new password hash")
        #expect(!cache.contains(agent: "bob", storedHash: "h1", password: "pw", now: now))
        #expect(!cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now.addingTimeInterval(61)))
        #expect(!cache.contains(agent: "alice", storedHash: "h1", password: "pw", now: now), "an expired entry is gone")
    }

    @Test func isBoundedAndCanBeTurnedOff() {
        let cache = PasswordVerificationCache(ttl: 60, capacity: 3)
        let now = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<5 { cache.insert(agent: "a\(i)", storedHash: "h", password: "p", now: now.addingTimeInterval(Double(i))) }
        let kept = (0..<5).filter { cache.contains(agent: "a\($0)", storedHash: "h", password: "p", now: now.addingTimeInterval(5)) }
        #expect(kept == [2, 3, 4], "the oldest entries make room")
        cache.setTTL(0)
        #expect(!cache.contains(agent: "a4", storedHash: "h", password: "p", now: now), "turning the cache off forgets what it held")
        cache.insert(agent: "a4", storedHash: "h", password: "p", now: now)
        // An entry kept with a TTL of 0 would expire at `now` itself, so only a time
        // before it shows whether anything was stored.
        #expect(!cache.contains(agent: "a4", storedHash: "h", password: "p", now: now.addingTimeInterval(-1)),
                "nothing is stored while the cache is off")
    }

    @Test func storeLoginsUseTheCacheAndAPasswordChangeEndsIt() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.addAgent("alice", password: "correct horse")
        let hash = { try #require(try fixture.sql { try String.fetchOne($0, sql: "SELECT password_hash FROM agent WHERE name = 'alice'") }) }
        #expect(try store.authenticate(agent: "alice", password: "correct horse") != nil)
        #expect(!store.verifiedPasswords.contains(agent: "alice", storedHash: try hash(), password: "correct horse"), "off by default")
        store.verifiedPasswords.setTTL(600)
        #expect(try store.authenticate(agent: "Alice", password: "correct horse") != nil)
        #expect(store.verifiedPasswords.contains(agent: "alice", storedHash: try hash(), password: "correct horse"))
        #expect(try store.authenticate(agent: "alice", password: "wrong") == nil)
        #expect(!store.verifiedPasswords.contains(agent: "alice", storedHash: try hash(), password: "wrong"))
        try store.setPassword("new password", agent: "alice")
        #expect(try store.authenticate(agent: "alice", password: "correct horse") == nil, "the old password no longer works")
        #expect(try store.authenticate(agent: "alice", password: "new password") != nil)
    }
}
