import NIOCore
import Synchronization

/// Bounds how many IMAP commands of one agent run on the IMAP threads at once; the others
/// wait, without a thread, for one of them to end. A client that stops reading holds its
/// thread until `imap.send_timeout`: with this gate one account's stalled connections hold
/// at most `perAgent` threads, and every other agent keeps working.
public final class IMAPWorkGate: Sendable {
    public let perAgent: Int

    private struct State {
        var running: [Int64: Int] = [:]
        var waiting: [Int64: [EventLoopPromise<Void>]] = [:]
    }

    private let state = Mutex(State())

    public init(perAgent: Int) {
        self.perAgent = max(1, perAgent)
    }

    /// Succeeds once the agent may run a command; hand the turn back with `leave`.
    public func enter(agent: Int64, eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let now = state.withLock { state -> Bool in
            if state.running[agent, default: 0] < perAgent {
                state.running[agent, default: 0] += 1
                return true
            }
            state.waiting[agent, default: []].append(promise)
            return false
        }
        if now { promise.succeed() }
        return promise.futureResult
    }

    /// A command of the agent ended: the next waiting one runs.
    public func leave(agent: Int64) {
        let next = state.withLock { state -> EventLoopPromise<Void>? in
            if var queue = state.waiting[agent], !queue.isEmpty {
                let first = queue.removeFirst()
                state.waiting[agent] = queue.isEmpty ? nil : queue
                return first
            }
            let count = state.running[agent, default: 1] - 1
            state.running[agent] = count > 0 ? count : nil
            return nil
        }
        next?.succeed()
    }
}
