import CoreMetrics
import Synchronization

/// The bytes the store holds (`postgate_store_size_bytes`, by part). A full read (a sum over
/// the index, a stat of its files) runs at most once per `interval`, at a scrape; between
/// reads each delivery adds its copies' bytes, so the gauge follows new mail at once
/// without a scan per scrape. Removals (expunge, retention, erasure) show at the next read.
public final class StoreSizeGauge: Sendable {
    private struct State {
        var messages: Int64 = 0
        var readAt: ContinuousClock.Instant?
    }

    private let messages: CoreMetrics.Gauge
    private let index: CoreMetrics.Gauge
    private let state = Mutex(State())
    private let interval: Duration

    public init(factory: any MetricsFactory, interval: Duration = .seconds(300)) {
        messages = Gauge(label: MetricName.storeSizeBytes, dimensions: [("part", "messages")], factory: factory)
        index = Gauge(label: MetricName.storeSizeBytes, dimensions: [("part", "index")], factory: factory)
        self.interval = interval
    }

    /// A delivery stored `bytes` more (the sum of its copies' sizes).
    public func add(messageBytes bytes: Int) {
        let total = state.withLock { state in
            state.messages += Int64(bytes)
            return state.messages
        }
        messages.record(total)
    }

    /// Reads the size with `read` (blocking: call on the thread pool) unless it was read
    /// within the interval.
    public func refresh(_ read: () throws -> (messages: Int64, index: Int64)) rethrows {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            guard state.readAt.map({ now - $0 >= interval }) ?? true else { return false }
            state.readAt = now
            return true
        }
        guard due else { return }
        let size = try read()
        state.withLock { $0.messages = size.messages }
        messages.record(size.messages)
        index.record(size.index)
    }
}
