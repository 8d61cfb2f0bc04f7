import Synchronization

/// Counts live sessions of a listener (or of several sharing it) in total and per client
/// IP address, so one client, or a flood, cannot take every session. A place is taken
/// when the connection is accepted, before any TLS handshake, so a connection that never
/// finishes its handshake counts like any other (and is closed by its handshake deadline).
public final class ConnectionLimiter: Sendable {
    /// Why a connection was refused.
    public enum Refusal: Sendable, Equatable {
        /// `maxConnections` sessions are open.
        case total
        /// `maxConnectionsPerAddress` sessions are open from this address.
        case perAddress
    }

    private struct Counts {
        var total = 0
        var perAddress: [String: Int] = [:]
    }

    public let maxConnections: Int
    public let maxConnectionsPerAddress: Int
    private let counts = Mutex(Counts())

    public init(maxConnections: Int, maxConnectionsPerAddress: Int) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// Takes a place for a session from `address`, or says why there is none.
    public func take(_ address: String) -> Refusal? {
        counts.withLock { counts in
            if counts.total >= maxConnections { return .total }
            if counts.perAddress[address, default: 0] >= maxConnectionsPerAddress { return .perAddress }
            counts.total += 1
            counts.perAddress[address, default: 0] += 1
            return nil
        }
    }

    /// Gives back the place of a session that `take` let in.
    public func release(_ address: String) {
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.perAddress[address, default: 1] - 1
            counts.perAddress[address] = left > 0 ? left : nil
        }
    }

    /// Sessions open now.
    public var activeConnections: Int { counts.withLock { $0.total } }
}
