import CoreMetrics
import PostgateMetrics
import PostgateSessions
import Synchronization

/// What the inbound delivery path counts once a message is durable: its copies by policy
/// label (`deliver` for an ordinary one), and the copies routed to an agents' queue.
public final class InboundMetrics: Sendable {
    private let factory: any MetricsFactory
    /// One counter per label seen: the labels are a fixed set (`PolicyVerdict.label`, with
    /// the quarantine reasons' codes), made on first use.
    private let byPolicy = Mutex<[String: CoreMetrics.Counter]>([:])
    private let queueRouted: CoreMetrics.Counter
    /// Sessions opened and closed, by the queue of the message that opened or closed them
    /// (`none` when it went to no queue): queues are the administrator's few, so the label
    /// stays bounded; customers and addresses are never labels.
    private let sessions = Mutex<[String: CoreMetrics.Counter]>([:])

    public init(factory: any MetricsFactory) {
        self.factory = factory
        queueRouted = Counter(label: MetricName.inboundQueueRouted, factory: factory)
        _ = counter(policy: "deliver")
        _ = counter(MetricName.sessionsOpened, queue: "none")
        _ = counter(MetricName.sessionsClosed, queue: "none")
    }

    /// Counts one message's copies, by their labels (nil: delivered as is), and its copies
    /// routed to queues.
    func count(labels: [String?], queueCopies: Int) {
        for label in labels { counter(policy: label ?? "deliver").increment() }
        if queueCopies > 0 { queueRouted.increment(by: queueCopies) }
    }

    /// Counts the sessions a message's copies opened (a new thread, or after the previous
    /// session expired) and closed (the previous one, when the customer's next message
    /// starts a new session: the moment of the `session.closed` event), by `queue`.
    func countSessions(_ copies: [(reason: String?, queue: String?)]) {
        for copy in copies {
            guard let reason = copy.reason.flatMap(SessionMatchReason.init(rawValue:)), reason == .newThread || reason == .expired else { continue }
            let queue = copy.queue ?? "none"
            counter(MetricName.sessionsOpened, queue: queue).increment()
            if reason == .expired { counter(MetricName.sessionsClosed, queue: queue).increment() }
        }
    }

    private func counter(_ name: String, queue: String) -> CoreMetrics.Counter {
        sessions.withLock { counters in
            if let counter = counters[name + "\n" + queue] { return counter }
            let counter = Counter(label: name, dimensions: [("queue", queue)], factory: factory)
            counters[name + "\n" + queue] = counter
            return counter
        }
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
