import Foundation
import Synchronization

/// The brake on password guessing, shared by every listener that takes logins (IMAP and
/// submission), per client IP address and per account.
///
/// An attempt counts from the moment it starts, not only once it has failed: a client
/// sending many guesses at once gets as many checked as it has failures left, and the rest
/// are refused without a check. After `maxFailures…` failures, the address (or account)
/// is refused for `lockoutSeconds`; a success clears the failures of both.
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
            if let until = lockedUntil {
                if until > now { return false }
                lockedUntil = nil
            }
            return failures + inFlight < max
        }
    }

    private struct Entries {
        var addresses: [String: Entry] = [:]
        var accounts: [String: Entry] = [:]
    }

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
        state.withLock { entries in
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
        }
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
