import Foundation
import Synchronization

/// Tells the IMAP sessions of this process that a mailbox changed (a delivery, an APPEND,
/// a flag change, an expunge), so an idling session reports it at once (RFC 2177) and a
/// busy one re-reads the mailbox only when something happened.
///
/// Each mailbox has a version that every `notify` raises; a session remembers the
/// version it last read and compares. Observers are called on the notifying thread and
/// must only hand the news to their own event loop.
public final class MailboxChangeFeed: Sendable {
    public typealias Observer = @Sendable (_ mailboxID: Int64) -> Void

    private struct State {
        var versions: [Int64: UInt64] = [:]
        var observers: [Int64: [UInt64: Observer]] = [:]
        var nextToken: UInt64 = 1
    }

    private let state = Mutex(State())

    public init() {}

    /// The current version of a mailbox (0 until its first change).
    public func version(of mailboxID: Int64) -> UInt64 {
        state.withLock { $0.versions[mailboxID] ?? 0 }
    }

    /// Raises the versions of `mailboxIDs` and calls their observers.
    public func notify(_ mailboxIDs: [Int64]) {
        let toCall: [(Int64, Observer)] = state.withLock { state in
            Set(mailboxIDs).flatMap { id -> [(Int64, Observer)] in
                state.versions[id, default: 0] += 1
                return (state.observers[id] ?? [:]).values.map { (id, $0) }
            }
        }
        for (id, observer) in toCall { observer(id) }
    }

    /// Calls `observer` after each change of `mailboxID` until `cancel(_:)` with the token.
    public func observe(_ mailboxID: Int64, _ observer: @escaping Observer) -> ObservationToken {
        state.withLock { state in
            let token = state.nextToken
            state.nextToken += 1
            state.observers[mailboxID, default: [:]][token] = observer
            return ObservationToken(mailboxID: mailboxID, token: token)
        }
    }

    public func cancel(_ observation: ObservationToken) {
        state.withLock { state in
            state.observers[observation.mailboxID]?[observation.token] = nil
            if state.observers[observation.mailboxID]?.isEmpty == true { state.observers[observation.mailboxID] = nil }
        }
    }

    public struct ObservationToken: Sendable, Hashable {
        let mailboxID: Int64
        let token: UInt64
    }
}
