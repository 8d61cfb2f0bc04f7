import Foundation
import NIOEmbedded
import PostgateListener
import Synchronization
import Testing

@Suite struct LoginThrottleTests {
    /// Sixty guesses sent at once from one address: only as many are checked as failures
    /// are allowed; the rest are refused before any password check.
    @Test func attemptsInFlightCountAgainstTheLimit() {
        let throttle = LoginThrottle(maxFailuresPerAddress: 10, maxFailuresPerAccount: 1000, lockoutSeconds: 300)
        let admitted = (0..<60).compactMap { throttle.begin(address: "192.0.2.1", account: "agent\($0)") }
        #expect(admitted.count == 10)
        // Another address is not affected.
        #expect(throttle.begin(address: "192.0.2.2", account: "x") != nil)
    }

    @Test func failuresLockTheAddressOutUntilTheLockoutEnds() {
        let throttle = LoginThrottle(maxFailuresPerAddress: 3, maxFailuresPerAccount: 100, lockoutSeconds: 60)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for _ in 0..<3 {
            let attempt = throttle.begin(address: "a", account: "u", now: start)
            #expect(attempt != nil)
            throttle.finish(attempt!, .failed, now: start)
        }
        #expect(throttle.begin(address: "a", account: "u", now: start.addingTimeInterval(59)) == nil)
        #expect(throttle.begin(address: "a", account: "u", now: start.addingTimeInterval(61)) != nil)
    }

    /// Guesses at one account from many addresses are counted for the account.
    @Test func failuresCountPerAccountAcrossAddresses() {
        let throttle = LoginThrottle(maxFailuresPerAddress: 100, maxFailuresPerAccount: 5, lockoutSeconds: 60)
        for i in 0..<5 {
            let attempt = throttle.begin(address: "198.51.100.\(i)", account: "Agent")
            throttle.finish(attempt!, .failed)
        }
        #expect(throttle.begin(address: "203.0.113.9", account: "agent") == nil)
        #expect(throttle.begin(address: "203.0.113.9", account: "other") != nil)
    }

    @Test func successClearsFailuresAndUncheckedAttemptsCountNeitherWay() {
        let throttle = LoginThrottle(maxFailuresPerAddress: 2, maxFailuresPerAccount: 100, lockoutSeconds: 60)
        throttle.finish(throttle.begin(address: "a", account: "u")!, .failed)
        throttle.finish(throttle.begin(address: "a", account: "u")!, .succeeded)
        throttle.finish(throttle.begin(address: "a", account: "u")!, .notChecked)
        throttle.finish(throttle.begin(address: "a", account: "u")!, .failed)
        #expect(throttle.begin(address: "a", account: "u") != nil)
    }
}

@Suite struct ConnectionLimiterTests {
    @Test func countsInTotalAndPerAddress() {
        let limiter = ConnectionLimiter(maxConnections: 3, maxConnectionsPerAddress: 2)
        #expect(limiter.take("a") == nil)
        #expect(limiter.take("a") == nil)
        #expect(limiter.take("a") == .perAddress)
        #expect(limiter.take("b") == nil)
        #expect(limiter.take("c") == .total)
        limiter.release("a")
        #expect(limiter.take("c") == nil)
        #expect(limiter.activeConnections == 3)
    }
}

/// Attempts beyond the room left wait for those in flight instead of being refused.
@Suite struct LoginThrottleWaitingTests {
    /// What each admission came to, as its future completes.
    final class Results: Sendable {
        private let values = Mutex<[Int: LoginThrottle.Attempt?]>([:])
        func set(_ index: Int, _ value: LoginThrottle.Attempt?) { values.withLock { $0[index] = value } }
        var all: [Int: LoginThrottle.Attempt?] { values.withLock { $0 } }
    }

    func admitAll(_ throttle: LoginThrottle, count: Int, account: (Int) -> String, loop: EmbeddedEventLoop) -> Results {
        let results = Results()
        for index in 0..<count {
            throttle.admit(address: "198.51.100.7", account: account(index), eventLoop: loop).whenSuccess { results.set(index, $0) }
        }
        loop.run()
        return results
    }

    @Test func manyCorrectLoginsAtOnceAllGetIn() throws {
        let loop = EmbeddedEventLoop()
        let throttle = LoginThrottle(maxFailuresPerAddress: 3, maxFailuresPerAccount: 100, lockoutSeconds: 60)
        let results = admitAll(throttle, count: 10, account: { _ in "ana" }, loop: loop)
        #expect(results.all.count == 3 && results.all.values.allSatisfy { $0 != nil }, "three checked at once, the others wait")
        var finished: Set<Int> = []
        while let (index, attempt) = results.all.first(where: { !finished.contains($0.key) }).map({ ($0.key, $0.value) }) {
            finished.insert(index)
            if let attempt { throttle.finish(attempt, .succeeded) }
            loop.run()
        }
        #expect(results.all.count == 10 && results.all.values.allSatisfy { $0 != nil }, "every correct login got in")
    }

    @Test func waitingGuessesAreRefusedOnceTheFirstFail() throws {
        let loop = EmbeddedEventLoop()
        let throttle = LoginThrottle(maxFailuresPerAddress: 3, maxFailuresPerAccount: 100, lockoutSeconds: 60)
        let results = admitAll(throttle, count: 20, account: { "user\($0)" }, loop: loop)
        let first = results.all.compactMap { $0.value }
        #expect(first.count == 3)
        for attempt in first { throttle.finish(attempt, .failed) }
        loop.run()
        let all = results.all
        #expect(all.count == 20 && all.values.filter { $0 == nil }.count == 17, "refused without a check once the address is locked out")
    }
}
