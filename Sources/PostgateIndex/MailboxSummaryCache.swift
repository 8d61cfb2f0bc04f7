import Foundation
import Synchronization

/// What SELECT reads of a whole mailbox (every message's UID, flags and mod-sequence),
/// kept in memory while the mailbox shows no change.
///
/// Every change to a mailbox's messages (delivery, APPEND, COPY, STORE, EXPUNGE, a private
/// `\Seen`, a rebuild) raises its HIGHESTMODSEQ in the same transaction (RFC 7162 section
/// 3.1: CONDSTORE clients rely on exactly that), so a mailbox whose UIDVALIDITY, UIDNEXT,
/// HIGHESTMODSEQ and `\Seen` setting read the same as when it was cached holds the same
/// messages with the same flags. A SELECT then costs one row instead of one per message,
/// as Dovecot's SELECT reads its index files. Changes made by other processes count too:
/// the version is read from the database on every SELECT.
///
/// Bounded: at most `capacity` summaries in all; the entries cached first go first.
package final class MailboxSummaryCache: Sendable {

    /// A mailbox as one agent sees it (the agent matters only where `\Seen` is private).
    package struct Key: Hashable {
        var mailboxID: Int64
        var agentID: Int64
    }

    /// What must read the same for the cached summaries to hold.
    package struct Version: Equatable {
        var uidValidity: UInt32
        var uidNext: UInt32
        var highestModSeq: UInt64
        var privateSeen: Bool
    }

    /// Summaries kept in all, over every mailbox (about 100 bytes each).
    package static let capacity = 200_000

    private struct State {
        var entries: [Key: (version: Version, messages: [MessageSummary])] = [:]
        var order: [Key] = []
        var total = 0

        mutating func remove(_ key: Key) {
            guard let entry = entries.removeValue(forKey: key) else { return }
            total -= entry.messages.count
            order.removeAll { $0 == key }
        }
    }

    private let state = Mutex(State())

    /// The summaries cached for `key` at `version`, or nil.
    package func messages(_ key: Key, at version: Version) -> [MessageSummary]? {
        guard let entry = entry(key), entry.version == version else { return nil }
        return entry.messages
    }

    /// The summaries cached for `key` and the version they were read at, or nil.
    package func entry(_ key: Key) -> (version: Version, messages: [MessageSummary])? {
        state.withLock { $0.entries[key] }
    }

    /// Keeps `messages` for `key` at `version`, replacing what was there, and drops the
    /// oldest entries beyond the capacity. A mailbox larger than the capacity is not kept.
    package func store(_ messages: [MessageSummary], _ key: Key, at version: Version) {
        guard messages.count <= Self.capacity else { return }
        state.withLock { state in
            state.remove(key)
            state.entries[key] = (version, messages)
            state.order.append(key)
            state.total += messages.count
            while state.total > Self.capacity, let oldest = state.order.first {
                state.remove(oldest)
            }
        }
    }

    /// Drops every summary of `mailboxID` (for every agent): its mailbox was removed, and
    /// nothing read of it may be shown for another mailbox.
    package func forget(mailboxID: Int64) {
        state.withLock { state in
            for key in state.entries.keys where key.mailboxID == mailboxID { state.remove(key) }
        }
    }

    /// The number of summaries kept now.
    package var count: Int {
        state.withLock { $0.total }
    }
}
