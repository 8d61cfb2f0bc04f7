import Crypto
import Foundation
import Synchronization

/// Remembers for a while, in memory only, which passwords passed the slow scrypt check, so
/// an agent whose mail client logs in again (clients open several connections and
/// reconnect often) does not pay scrypt every time: Dovecot's auth cache
/// (`auth_cache_size`, `auth_cache_ttl`).
///
/// An entry is an HMAC-SHA256, under a random key made when the process starts and never
/// written anywhere, of the agent's name, its stored password hash and the password; the
/// password itself is never kept. A changed password (a new stored hash, salt included)
/// never matches an old entry; failed logins are never remembered. Entries expire after
/// `ttl` seconds, and at most `capacity` are kept. A `ttl` of 0 turns the cache off.
public final class PasswordVerificationCache: Sendable {
    private let key = SymmetricKey(size: .bits256)
    private struct State {
        var ttl: TimeInterval
        var entries: [Data: Date] = [:]
    }
    private let state: Mutex<State>
    public let capacity: Int

    public init(ttl: TimeInterval = 0, capacity: Int = 10_000) {
        state = Mutex(State(ttl: ttl))
        self.capacity = capacity
    }

    /// Sets how long a verified password is remembered (0: not at all, and forgets all).
    public func setTTL(_ seconds: TimeInterval) {
        state.withLock { state in
            state.ttl = max(0, seconds)
            if state.ttl == 0 { state.entries = [:] }
        }
    }

    /// Whether `password` was verified against `storedHash` for `agent` less than `ttl` ago.
    package func contains(agent: String, storedHash: String, password: String, now: Date = Date()) -> Bool {
        let digest = self.digest(agent, storedHash, password)
        return state.withLock { state in
            guard let expiry = state.entries[digest] else { return false }
            if expiry > now { return true }
            state.entries[digest] = nil
            return false
        }
    }

    /// Remembers a successful scrypt check.
    package func insert(agent: String, storedHash: String, password: String, now: Date = Date()) {
        let digest = self.digest(agent, storedHash, password)
        state.withLock { state in
            guard state.ttl > 0 else { return }
            if state.entries.count >= capacity, state.entries[digest] == nil { makeRoom(in: &state.entries, now: now) }
            state.entries[digest] = now.addingTimeInterval(state.ttl)
        }
    }

    /// Drops expired entries, and the one closest to expiry if that was not enough.
    private func makeRoom(in entries: inout [Data: Date], now: Date) {
        entries = entries.filter { $0.value > now }
        if entries.count >= capacity, let oldest = entries.min(by: { $0.value < $1.value })?.key {
            entries[oldest] = nil
        }
    }

    private func digest(_ agent: String, _ storedHash: String, _ password: String) -> Data {
        var message = Data(agent.utf8)
        message.append(0)
        message.append(contentsOf: storedHash.utf8)
        message.append(0)
        message.append(contentsOf: password.utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }
}
