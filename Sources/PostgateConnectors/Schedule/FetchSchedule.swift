import Foundation

/// When a receiving gateway connects, and what its state is: a value-type state machine fed
/// the clock and each attempt's outcome, answering what to do next. No I/O, no timers: the
/// fetcher sleeps until the moment it is given.
///
/// Failures count in a run: after `maxTries` failed attempts in a row the gateway cools off
/// for `coolOff`; if the first attempts after the cool-off fail `maxTries` times again it is
/// failed and waits for the administrator (a new publication, or `postgate connector
/// retry`). Any success ends the run. Inside a skip window nothing connects.
public struct FetchSchedule: Sendable, Equatable {
    public struct Policy: Sendable, Equatable {
        public var maxTries: Int
        public var coolOff: TimeInterval
        /// Between successful polls (without IDLE).
        public var pollInterval: TimeInterval
        /// Before the next try after a failure: doubled per failure, capped at `pollInterval`.
        public var retryDelay: TimeInterval
        public var skipWindows: [SkipWindow]
        public var timeZone: TimeZone

        public init(maxTries: Int, coolOff: TimeInterval, pollInterval: TimeInterval, retryDelay: TimeInterval,
                    skipWindows: [SkipWindow] = [], timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
            self.maxTries = max(1, maxTries)
            self.coolOff = coolOff
            self.pollInterval = pollInterval
            self.retryDelay = retryDelay
            self.skipWindows = skipWindows
            self.timeZone = timeZone
        }
    }

    public enum Phase: String, Sendable, Equatable {
        /// Attempting, or connected (fetching, idling).
        case connecting
        /// Waiting for the next poll after a success.
        case idle
        /// Waiting to try again after a failure.
        case failing
        case coolingOff
        case skipped
        /// Needs the administrator.
        case failed
    }

    public enum Decision: Sendable, Equatable {
        /// Connect and fetch now.
        case attempt
        /// Nothing until `until` (then ask again).
        case wait(until: Date)
        /// Failed: nothing until the administrator acts.
        case stop
    }

    public let policy: Policy
    public private(set) var phase: Phase = .idle
    /// Failed attempts in the current run.
    public private(set) var tries = 0
    public private(set) var lastError: String?
    public private(set) var coolingUntil: Date?
    /// When the next attempt is due; nil: at once.
    public private(set) var nextAttempt: Date?
    /// Whether this run of failures has cooled off once already.
    private var cooledOff = false

    public init(policy: Policy) {
        self.policy = policy
    }

    /// What to do at `now`.
    public mutating func decide(now: Date) -> Decision {
        if phase == .failed { return .stop }
        if let until = SkipWindow.end(of: policy.skipWindows, at: now, in: policy.timeZone) {
            // A cool-off or a retry due after the window's end waits for it.
            phase = .skipped
            return .wait(until: max(until, nextAttempt ?? until))
        }
        if let due = nextAttempt, due > now {
            phase = coolingUntil != nil ? .coolingOff : (tries > 0 ? .failing : .idle)
            return .wait(until: due)
        }
        if coolingUntil != nil {
            // The cool-off is over: a second run of tries starts.
            tries = 0
            coolingUntil = nil
        }
        nextAttempt = nil
        phase = .connecting
        return .attempt
    }

    /// The attempt succeeded (connected, fetched, logged out); with `polling`, the next
    /// poll is due after the poll interval (an IDLE connection reports success each time it
    /// has fetched, then waits on the server instead).
    public mutating func succeeded(now: Date, polling: Bool = true) {
        tries = 0
        cooledOff = false
        lastError = nil
        coolingUntil = nil
        phase = polling ? .idle : .connecting
        nextAttempt = polling ? now.addingTimeInterval(policy.pollInterval) : nil
    }

    /// The attempt failed with `error` (one line).
    public mutating func failed(_ error: String, now: Date) {
        tries += 1
        lastError = error
        guard tries >= policy.maxTries else {
            phase = .failing
            let delay = policy.retryDelay * pow(2, Double(tries - 1))
            nextAttempt = now.addingTimeInterval(min(delay, max(policy.pollInterval, policy.retryDelay)))
            return
        }
        if cooledOff {
            phase = .failed
            nextAttempt = nil
            coolingUntil = nil
            return
        }
        cooledOff = true
        phase = .coolingOff
        coolingUntil = now.addingTimeInterval(policy.coolOff)
        nextAttempt = coolingUntil
    }

    /// Restores the failed state (after a restart): only the administrator ends it.
    public mutating func markFailed(_ error: String) {
        phase = .failed
        lastError = error
        tries = policy.maxTries
        nextAttempt = nil
        coolingUntil = nil
    }

    /// The administrator asked for a new start: the failure run is forgotten.
    public mutating func reset() {
        self = FetchSchedule(policy: policy)
    }
}
