import CoreMetrics
import PostgateMetrics
import Synchronization

/// What the inbound delivery path counts once a message is durable: its copies by policy
/// label (`deliver` for an ordinary one), and the copies routed to an agents' queue.
public final class InboundMetrics: Sendable {
    private let factory: any MetricsFactory
    /// One counter per label seen: the labels are a fixed set (`PolicyVerdict.label`, with
    /// the quarantine reasons' codes), made on first use.
    private let byPolicy = Mutex<[String: CoreMetrics.Counter]>([:])
    private let queueRouted: CoreMetrics.Counter

    public init(factory: any MetricsFactory) {
        self.factory = factory
        queueRouted = Counter(label: MetricName.inboundQueueRouted, factory: factory)
        _ = counter(policy: "deliver")
    }

    /// Counts one message's copies, by their labels (nil: delivered as is), and its copies
    /// routed to queues.
    func count(labels: [String?], queueCopies: Int) {
        for label in labels { counter(policy: label ?? "deliver").increment() }
        if queueCopies > 0 { queueRouted.increment(by: queueCopies) }
    }

    private func counter(policy: String) -> CoreMetrics.Counter {
        byPolicy.withLock { counters in
            if let counter = counters[policy] { return counter }
            let counter = Counter(label: MetricName.inboundMessages, dimensions: [("policy", policy)], factory: factory)
            counters[policy] = counter
            return counter
        }
    }
}
