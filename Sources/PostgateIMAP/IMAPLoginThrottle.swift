import Foundation
import Synchronization

/// Counts failed logins per client IP address and locks an address out for a while after
/// too many (a brute-force brake shared by every IMAP connection of the process).
public final class IMAPLoginThrottle: Sendable {
    public let maxFailures: Int
    public let lockoutSeconds: Double
    private let state = Mutex([String: (failures: Int, lockedUntil: Date?)]())

    public init(maxFailures: Int = 10, lockoutSeconds: Double = 300) {
        self.maxFailures = maxFailures
        self.lockoutSeconds = lockoutSeconds
    }

    /// Whether `ip` may try to log in now.
    public func isLockedOut(_ ip: String, now: Date = Date()) -> Bool {
        state.withLock { entries in
            guard let until = entries[ip]?.lockedUntil else { return false }
            if until > now { return true }
            entries[ip] = nil
            return false
        }
    }

    public func recordFailure(_ ip: String, now: Date = Date()) {
        state.withLock { entries in
            var entry = entries[ip] ?? (0, nil)
            entry.failures += 1
            if entry.failures >= maxFailures {
                entry = (0, now.addingTimeInterval(lockoutSeconds))
            }
            entries[ip] = entry
            // Bounded memory: forget the oldest addresses past 100,000 entries.
            if entries.count > 100_000, let first = entries.keys.first { entries[first] = nil }
        }
    }

    public func recordSuccess(_ ip: String) {
        state.withLock { $0[ip] = nil }
    }
}
