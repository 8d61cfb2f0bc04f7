import Foundation
import NIOCore
import Synchronization

/// The brake on password guessing, shared by every listener that takes logins (IMAP and
/// submission), per client IP address and per account.
///
/// An attempt counts from the moment it starts, not only once it has failed: a client
/// sending many guesses at once gets as many checked as it has failures left. The others
/// wait (`admit`) until those end: if they failed, the waiting ones are refused without a
/// check; if they succeeded, the waiting ones are checked in turn, so many correct logins at
/// once (a whole office behind one address, a client opening several connections) all get
/// in. After `maxFailures…` failures, the address (or account) is refused for
/// `lockoutSeconds`; a success clears the failures of both.
public final class LoginThrottle: Sendable {
    public let maxFailuresPerAddress: Int
    public let maxFailuresPerAccount: Int
    public let lockoutSeconds: Double

    /// A login being checked; hand it back to `finish`.
    public struct Attempt: Sendable {
        public let address: String
        public let account: String
    }

    private struct Entry {
        var failures = 0
        var inFlight = 0
        var lockedUntil: Date?

        var isEmpty: Bool { failures == 0 && inFlight == 0 && lockedUntil == nil }

        /// Whether another attempt may start now, forgetting a lockout that is over.
        mutating func admits(max: Int, now: Date) -> Bool {
            guard !isLocked(now: now) else { return false }
            return failures + inFlight < max
        }

        mutating func isLocked(now: Date) -> Bool {
            if let until = lockedUntil {
                if until > now { return true }
                lockedUntil = nil
            }
            return false
        }
    }

    /// An attempt waiting for the attempts in flight before it to end.
    private struct Waiter {
        let address: String
        let account: String
        let promise: EventLoopPromise<Attempt?>
    }

    private struct Entries {
        var addresses: [String: Entry] = [:]
        var accounts: [String: Entry] = [:]
        var waiting: [Waiter] = []
    }

    /// Attempts waiting at most, in all: past it, a new one is refused at once.
    public static let maxWaiting = 1000

    private let state = Mutex(Entries())
    /// Entries kept per table at most: past it, some are forgotten (memory stays bounded).
    private static let maxEntries = 100_000

    public init(maxFailuresPerAddress: Int = 10, maxFailuresPerAccount: Int = 20, lockoutSeconds: Double = 300) {
        self.maxFailuresPerAddress = maxFailuresPerAddress
        self.maxFailuresPerAccount = maxFailuresPerAccount
        self.lockoutSeconds = lockoutSeconds
    }

    /// Starts an attempt from `address` on `account`, or nil when either is locked out or
    /// has as many attempts failed and in flight as it may.
    public func begin(address: String, account: String, now: Date = Date()) -> Attempt? {
        let account = account.lowercased()
        return state.withLock { entries in
            var byAddress = entries.addresses[address] ?? Entry()
            var byAccount = entries.accounts[account] ?? Entry()
            let admitted = byAddress.admits(max: maxFailuresPerAddress, now: now) && byAccount.admits(max: maxFailuresPerAccount, now: now)
            if admitted {
                byAddress.inFlight += 1
                byAccount.inFlight += 1
            }
            Self.store(byAddress, at: address, in: &entries.addresses)
            Self.store(byAccount, at: account, in: &entries.accounts)
            return admitted ? Attempt(address: address, account: account) : nil
        }
    }

    /// Starts an attempt when it may start: at once, or once the attempts in flight for its
    /// address or account have ended and left room; nil (refused without a check) when
    /// either is locked out, or too many attempts wait.
    public func admit(address: String, account: String, eventLoop: any EventLoop, now: Date = Date()) -> EventLoopFuture<Attempt?> {
        let account = account.lowercased()
        let promise = eventLoop.makePromise(of: Attempt?.self)
        let immediate: Attempt?? = state.withLock { entries in
            var byAddress = entries.addresses[address] ?? Entry()
            var byAccount = entries.accounts[account] ?? Entry()
            defer {
                Self.store(byAddress, at: address, in: &entries.addresses)
                Self.store(byAccount, at: account, in: &entries.accounts)
            }
            if byAddress.isLocked(now: now) || byAccount.isLocked(now: now) { return .some(nil) }
            if byAddress.failures + byAddress.inFlight < maxFailuresPerAddress,
               byAccount.failures + byAccount.inFlight < maxFailuresPerAccount,
               !entries.waiting.contains(where: { $0.address == address || $0.account == account }) {
                byAddress.inFlight += 1
                byAccount.inFlight += 1
                return .some(Attempt(address: address, account: account))
            }
            guard entries.waiting.count < Self.maxWaiting else { return .some(nil) }
            // Kept in the tables while it waits, so the entries are not forgotten.
            entries.waiting.append(Waiter(address: address, account: account, promise: promise))
            return .none
        }
        if let immediate { promise.succeed(immediate) }
        return promise.futureResult
    }

    /// How an attempt ended.
    public enum Outcome: Sendable {
        case succeeded
        case failed
        /// The password could not be checked (the store failed): it counts neither way.
        case notChecked
    }

    /// Ends an attempt `begin` let in: a success clears the failures of its address and
    /// account, a failure counts for both (and may lock them out).
    public func finish(_ attempt: Attempt, _ outcome: Outcome, now: Date = Date()) {
        let decided: [(EventLoopPromise<Attempt?>, Attempt?)] = state.withLock { entries in
            for (key, max, table) in [(attempt.address, maxFailuresPerAddress, \Entries.addresses),
                                      (attempt.account, maxFailuresPerAccount, \Entries.accounts)] {
                var entry = entries[keyPath: table][key] ?? Entry()
                entry.inFlight = Swift.max(0, entry.inFlight - 1)
                switch outcome {
                case .succeeded:
                    entry.failures = 0
                case .failed:
                    entry.failures += 1
                    if entry.failures >= max {
                        entry.failures = 0
                        entry.lockedUntil = now.addingTimeInterval(lockoutSeconds)
                    }
                case .notChecked:
                    break
                }
                Self.store(entry, at: key, in: &entries[keyPath: table])
            }
            return decideWaiting(&entries, now: now)
        }
        // Outside the lock: completing a promise may run its callbacks here.
        for (promise, result) in decided { promise.succeed(result) }
    }

    /// The waiting attempts that can be decided now, in order: refused when their address or
    /// account is locked out, started when there is room; the others keep waiting.
    private func decideWaiting(_ entries: inout Entries, now: Date) -> [(EventLoopPromise<Attempt?>, Attempt?)] {
        var decided: [(EventLoopPromise<Attempt?>, Attempt?)] = []
        var still: [Waiter] = []
        for waiter in entries.waiting {
            var byAddress = entries.addresses[waiter.address] ?? Entry()
            var byAccount = entries.accounts[waiter.account] ?? Entry()
            let blockedEarlier = still.contains { $0.address == waiter.address || $0.account == waiter.account }
            if byAddress.isLocked(now: now) || byAccount.isLocked(now: now) {
                decided.append((waiter.promise, nil))
            } else if !blockedEarlier, byAddress.failures + byAddress.inFlight < maxFailuresPerAddress,
                      byAccount.failures + byAccount.inFlight < maxFailuresPerAccount {
                byAddress.inFlight += 1
                byAccount.inFlight += 1
                decided.append((waiter.promise, Attempt(address: waiter.address, account: waiter.account)))
            } else {
                still.append(waiter)
            }
            entries.addresses[waiter.address] = byAddress
            entries.accounts[waiter.account] = byAccount
        }
        entries.waiting = still
        return decided
    }

    private static func store(_ entry: Entry, at key: String, in table: inout [String: Entry]) {
        if entry.isEmpty {
            table[key] = nil
            return
        }
        table[key] = entry
        if table.count > maxEntries, let other = table.first(where: { $0.key != key && $0.value.inFlight == 0 })?.key {
            table[other] = nil
        }
    }
}
