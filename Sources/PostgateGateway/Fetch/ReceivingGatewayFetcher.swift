import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateBlocking
import PostgateConnectors
import PostgateDirectory
import PostgateIndex
import PostgateStore
import Synchronization

/// Runs one receiving gateway: connects when its `FetchSchedule` says, imports what is new,
/// and records its live state for `postgate connector list`. A task, not a thread: every
/// gateway's connection runs on the shared event loops, and every store call on the
/// thread pool.
final class ReceivingGatewayFetcher: Sendable {
    struct PassReport: Sendable, Equatable {
        var stored = 0
        var skipped = 0
    }

    let gateway: ReceivingGateway
    let delivery: InboundDelivery
    let credentials: any GatewayCredentialSource
    let eventLoopGroup: any EventLoopGroup
    let maxHeaderSize: Int
    let retryDelay: TimeInterval
    let limiter: FetchLimiter
    let logger: Logger

    var store: MailStore { delivery.store }

    init(gateway: ReceivingGateway, delivery: InboundDelivery, credentials: any GatewayCredentialSource,
         eventLoopGroup: any EventLoopGroup, maxHeaderSize: Int, retryDelay: TimeInterval, limiter: FetchLimiter, logger: Logger) {
        self.gateway = gateway
        self.delivery = delivery
        self.credentials = credentials
        self.eventLoopGroup = eventLoopGroup
        self.maxHeaderSize = maxHeaderSize
        self.retryDelay = retryDelay
        self.limiter = limiter
        var logger = logger
        logger[metadataKey: "gateway"] = "\(gateway.address)"
        self.logger = logger
    }

    /// Runs until cancelled. A failed gateway (`FetchSchedule.Phase.failed`) waits until the
    /// administrator resets its state (`postgate connector retry`), checked every `recheck`.
    func run(recheck: TimeInterval) async {
        var schedule = FetchSchedule(policy: gateway.schedulePolicy(retryDelay: retryDelay))
        let saved = (try? await onThreadPool { try self.store.liveState(gatewayID: self.gateway.id) }) ?? nil
        if let saved, saved.state == .failed {
            // Failed stays failed across restarts: only the administrator starts it again.
            schedule.markFailed(saved.lastError ?? "failed")
        }
        var lastSuccess = saved?.lastSuccessAt
        while !Task.isCancelled {
            let now = Date()
            switch schedule.decide(now: now) {
            case .attempt:
                await record(schedule, lastAttempt: now, lastSuccess: lastSuccess)
                let rounds = SyncedRounds()
                do {
                    let report = try await runPass { round in
                        // A connection that stays open (IDLE) reports each round.
                        let at = Date()
                        rounds.succeeded(at: at)
                        if round != PassReport() {
                            self.logger.info("fetched", metadata: ["stored": "\(round.stored)", "skipped": "\(round.skipped)"])
                        }
                        await self.recordConnected(at: at)
                    }
                    lastSuccess = Date()
                    schedule.succeeded(now: lastSuccess!)
                    if report != PassReport() {
                        logger.info("fetched", metadata: ["stored": "\(report.stored)", "skipped": "\(report.skipped)"])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    await credentials.attemptFailed(gateway)
                    if let at = rounds.lastSuccess {
                        // The connection worked for a while: this failure starts a new run.
                        lastSuccess = at
                        schedule.succeeded(now: at)
                    }
                    let reason = Self.oneLine(error)
                    schedule.failed(reason, now: Date())
                    logger.warning("fetch failed", metadata: [
                        "error": "\(reason)", "tries": "\(schedule.tries)/\(gateway.settings.maxTries)", "state": "\(schedule.phase)",
                    ])
                }
                await record(schedule, lastAttempt: now, lastSuccess: lastSuccess)
            case .wait(let until):
                await record(schedule, lastAttempt: nil, lastSuccess: lastSuccess)
                // A failing or cooling-off gateway looks every `recheck` for the
                // administrator's `postgate connector retry`.
                let watching = schedule.phase == .failing || schedule.phase == .coolingOff
                let pause = watching ? min(recheck, until.timeIntervalSinceNow) : until.timeIntervalSinceNow
                guard (try? await Task.sleep(for: .seconds(max(0.001, pause)))) != nil else { return }
                if watching, await retryRequested(than: schedule.phase) { schedule.reset() }
            case .stop:
                guard (try? await Task.sleep(for: .seconds(recheck))) != nil else { return }
                if await retryRequested(than: .failed) { schedule.reset() }
            }
        }
    }

    /// Whether the administrator reset the recorded state (`postgate connector retry`) while
    /// the gateway was in `phase`.
    private func retryRequested(than phase: FetchSchedule.Phase) async -> Bool {
        do {
            let state = try await onThreadPool { try self.store.liveState(gatewayID: self.gateway.id) }
            guard let state, state.state != phase.liveState, state.state == .idle, state.tries == 0 else { return false }
            logger.notice("gateway restarted by the administrator")
            return true
        } catch {
            logger.error("cannot read the gateway's state", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// One connection: authenticate, import, log out (or, with IMAP IDLE, stay and import
    /// each change, calling `synced` after each round).
    func runPass(synced: @escaping @Sendable (PassReport) async -> Void) async throws -> PassReport {
        if gateway.settings.kind == .graph { return try await runGraphPass() }
        let credential = try await credentials.credential(for: gateway)
        switch gateway.settings.kind {
        case .pop3: return try await limiter.run { try await self.runPOP3Pass(credential: credential) }
        case .imap: return try await runIMAPPass(credential: credential, synced: synced)
        case .graph: return try await runGraphPass()
        }
    }

    /// Streams one message from `fetch` into the store with `checkpoint`; returns false,
    /// storing nothing, when `fetch` says it sent no message. Nothing is stored if `fetch`
    /// or the store fails.
    @discardableResult
    func importMessage(checkpoint: FetchCheckpoint, protocolName: String,
                       _ fetch: ((ByteBuffer) async throws -> Void) async throws -> Bool) async throws -> Bool {
        guard let message = try await fetchForImport(checkpoint: checkpoint, protocolName: protocolName, fetch) else { return false }
        try await message.commit()
        return true
    }

    /// Streams one message from `fetch` into a spool file, ready to commit with
    /// `checkpoint`; nil, with nothing kept, when `fetch` says it sent no message or fails.
    /// The caller commits it (`FetchedMessageImport.commit`, which drops it on failure).
    func fetchForImport(checkpoint: FetchCheckpoint, protocolName: String,
                        _ fetch: ((ByteBuffer) async throws -> Void) async throws -> Bool) async throws -> FetchedMessageImport? {
        let message = FetchedMessageImport(
            delivery: delivery, recipient: gateway.address, server: gateway.server, protocolName: protocolName,
            checkpoint: checkpoint, maxHeaderSize: maxHeaderSize, eventLoop: eventLoopGroup.any())
        do {
            guard try await fetch({ chunk in try await message.write(chunk) }) else {
                message.abort()
                return nil
            }
            return message
        } catch {
            message.abort()
            throw error
        }
    }

    /// Records that a round on an open connection succeeded.
    private func recordConnected(at date: Date) async {
        do {
            try await onThreadPool {
                var state = try self.store.liveState(gatewayID: self.gateway.id) ?? GatewayLiveState(state: .connected)
                state.state = .connected
                state.tries = 0
                state.lastError = nil
                state.coolingUntil = nil
                state.lastSuccessAt = date
                try self.store.setLiveState(state, gatewayID: self.gateway.id)
            }
        } catch {
            logger.error("cannot record the gateway's state", metadata: ["error": "\(error)"])
        }
    }

    func skip(_ checkpoint: FetchCheckpoint, reason: String) async throws {
        logger.warning("message skipped", metadata: ["remote": "\(checkpoint.folder)/\(checkpoint.remoteID)", "reason": "\(reason)"])
        try await onThreadPool { try self.store.recordSkipped(checkpoint, reason: reason) }
    }

    func onThreadPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await delivery.threadPool.runToCompletion(body)
    }

    /// Writes the schedule's state as the gateway's live state (only when it changed).
    private func record(_ schedule: FetchSchedule, lastAttempt: Date?, lastSuccess: Date?) async {
        var state = GatewayLiveState(state: schedule.phase.liveState)
        state.tries = schedule.tries
        state.lastError = schedule.lastError
        state.coolingUntil = schedule.coolingUntil
        state.lastAttemptAt = lastAttempt
        state.lastSuccessAt = lastSuccess
        let next = state
        do {
            try await onThreadPool {
                var state = next
                let saved = try self.store.liveState(gatewayID: self.gateway.id)
                if lastAttempt == nil { state.lastAttemptAt = saved?.lastAttemptAt }
                guard saved.map({ Self.differs($0, state) }) ?? true else { return }
                try self.store.setLiveState(state, gatewayID: self.gateway.id)
            }
        } catch {
            logger.error("cannot record the gateway's state", metadata: ["error": "\(error)"])
        }
    }

    private static func differs(_ saved: GatewayLiveState, _ new: GatewayLiveState) -> Bool {
        saved.state != new.state || saved.tries != new.tries || saved.lastError != new.lastError
            || saved.coolingUntil != new.coolingUntil || saved.lastAttemptAt != new.lastAttemptAt || saved.lastSuccessAt != new.lastSuccessAt
    }

    /// An error as one line for the state and the log.
    static func oneLine(_ error: any Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// The last round that succeeded on the current connection, set from the pass's task.
final class SyncedRounds: Sendable {
    private let last = Mutex<Date?>(nil)

    func succeeded(at date: Date) {
        last.withLock { $0 = date }
    }

    var lastSuccess: Date? { last.withLock { $0 } }
}

extension FetchSchedule.Phase {
    var liveState: GatewayLiveState.State {
        switch self {
        case .connecting: .connected
        case .idle: .idle
        case .failing: .failing
        case .coolingOff: .coolingOff
        case .skipped: .skipped
        case .failed: .failed
        }
    }
}

/// Bounds how many gateways fetch at once, so memory and the store's write load stay
/// bounded whatever the number of gateways; the others wait their turn (FIFO).
actor FetchLimiter {
    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Runs `body` once a slot is free.
    nonisolated func run<T>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if running >= limit {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            running += 1
        }
    }

    private func release() {
        if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
    }
}
