import PostgateMessage
import PostgatePolicy
import Synchronization
import PostgateMaildir

/// What the delivery path read from the directory, kept while the directory generation
/// stays the same.
///
/// Every message asks the same questions (is this recipient hosted, what are its address's
/// settings, is the sender blocked, which queue do its filters choose); answering them from
/// SQLite for every message is a large share of a delivery's CPU. The answers are kept here per generation:
/// `MailStore.directorySnapshot()` reads the generation and starts from empty tables when it
/// moved, so nothing older than the last committed directory change is used. Reading the
/// generation from SQLite is itself a read transaction, so it is read only when the
/// `DirectoryGenerationHint` file changed, or `recheckInterval` after the last read (for a
/// writer that died between its commit and its hint). The tables are bounded (`maximumEntries`): a client cycling through made-up
/// recipients or senders empties them rather than growing them.
package final class DirectoryCache: Sendable {
    package init() {}

    /// Entries kept per table before it is emptied.
    package static let maximumEntries = 10_000

    package struct BlocklistKey: Hashable {
        var mailboxID: Int64
        var sender: String

        package init(mailboxID: Int64, sender: String) {
            self.mailboxID = mailboxID
            self.sender = sender
        }
    }

    /// The tables of one generation.
    package final class Tables: Sendable {
        package struct State {
            package var resolutions: [String: RecipientResolution] = [:]
            package var addresses: [String: AddressRecord?] = [:]
            package var blocklist: [BlocklistKey: BlocklistEntry?] = [:]
            package var routePlans: [Int64: RoutePlan?] = [:]
            /// The published sending gateway of an address, by canonical address.
            package var sendingGateways: [String: SendingGatewaySettings?] = [:]
            /// The bot of an address, by its mailbox id.
            package var bots: [Int64: BotHoldSettings?] = [:]
        }

        package let generation: Int64
        private let state = Mutex(State())

        package init(generation: Int64) {
            self.generation = generation
        }

        /// The value under `key` in `table`, loading (outside the lock) and keeping it if absent.
        package func value<Key: Hashable & Sendable, Value: Sendable>(
            _ table: WritableKeyPath<State, [Key: Value]>, _ key: Key, load: () throws(StoreError) -> Value
        ) throws(StoreError) -> Value {
            if let known = state.withLock({ $0[keyPath: table][key] }) { return known }
            let value = try load()
            state.withLock { state in
                if state[keyPath: table].count >= DirectoryCache.maximumEntries { state[keyPath: table].removeAll() }
                state[keyPath: table][key] = value
            }
            return value
        }

        /// How many entries `table` holds.
        package func count<Key: Hashable & Sendable, Value: Sendable>(_ table: KeyPath<State, [Key: Value]>) -> Int {
            state.withLock { $0[keyPath: table].count }
        }
    }

    /// How long kept tables are used, while the hint is unchanged, before the generation is
    /// read from SQLite again.
    package static let recheckInterval = Duration.seconds(1)

    private struct Current {
        var tables = Tables(generation: -1)
        /// The hint as read just before `tables` was last checked against SQLite, and when.
        var checkedHint: Int64?
        var checkedAt: ContinuousClock.Instant?
    }

    private let current = Mutex(Current())

    /// The kept tables, if they were checked against SQLite less than `recheckInterval` ago
    /// and the hint reads as it did then; nil when the generation must be read.
    package func tablesIfUnchanged(hint: Int64?, now: ContinuousClock.Instant = .now) -> Tables? {
        current.withLock { current in
            guard let checkedAt = current.checkedAt, current.checkedHint == hint,
                  now - checkedAt < Self.recheckInterval else { return nil }
            return current.tables
        }
    }

    /// The tables for `generation`, read from SQLite after reading `hint`: the kept ones if
    /// it is theirs, else new empty ones (a generation lower than the kept one, read by a
    /// slower thread, gets tables of its own that are not kept).
    package func tables(for generation: Int64, hint: Int64?, now: ContinuousClock.Instant = .now) -> Tables {
        current.withLock { current in
            guard generation >= current.tables.generation else { return Tables(generation: generation) }
            if generation > current.tables.generation { current.tables = Tables(generation: generation) }
            current.checkedHint = hint
            current.checkedAt = now
            return current.tables
        }
    }
}
