/// When a temporarily failed recipient is tried again, and when the queue gives up.
///
/// RFC 5321 section 4.5.4.1 asks for a retry interval of at least 30 minutes and a give-up
/// time of at least 4-5 days; the defaults (5 min doubling to 4 h, 5 days) retry sooner at
/// first, which helps replies to customers, and give up on the RFC's schedule.
public struct OutboundRetryPolicy: Sendable, Equatable {
    /// Seconds before the first retry.
    public var firstRetry: Double
    /// Each further interval is the previous one times this factor (at least 1).
    public var factor: Double
    /// The longest interval between two attempts, in seconds.
    public var maxInterval: Double
    /// Seconds after enqueueing at which deferred recipients fail.
    public var lifetime: Double

    public init(firstRetry: Double = 300, factor: Double = 2, maxInterval: Double = 14_400, lifetime: Double = 432_000) {
        self.firstRetry = firstRetry
        self.factor = factor
        self.maxInterval = maxInterval
        self.lifetime = lifetime
    }

    /// The wait after the `attempts`-th failed attempt (1 for the first failure):
    /// `firstRetry × factor^(attempts-1)`, at most `maxInterval`.
    public func interval(afterAttempts attempts: Int) -> Double {
        var interval = firstRetry
        for _ in 1..<max(attempts, 1) {
            interval *= max(factor, 1)
            if interval >= maxInterval { break }
        }
        return min(interval, maxInterval)
    }
}
