import CoreMetrics
import PostgateMetrics
import PostgateIndex
import PostgateSessions
import Synchronization

/// What the inbound delivery path counts once a message is durable: its copies by policy
/// label (`deliver` for an ordinary one), the copies routed to an agents' queue, the
/// sessions opened and closed, and the bytes stored.
public final class InboundMetrics: Sendable {
    private let factory: any MetricsFactory
    /// One counter per label seen: the labels are a fixed set (`PolicyVerdict.label`, with
    /// the quarantine reasons' codes), made on first use.
    private let byPolicy = Mutex<[String: CoreMetrics.Counter]>([:])
    private let queueRouted: CoreMetrics.Counter
    /// Conversation sessions opened and closed. No label: a queue's name is often an
    /// address, and addresses are never label values (per-address counts are in `postgate report`).
    private let sessionsOpened: CoreMetrics.Counter
    private let sessionsClosed: CoreMetrics.Counter

    /// The store's size, raised by each message's copies; nil: not followed.
    private let storeSize: StoreSizeGauge?

    public init(factory: any MetricsFactory, storeSize: StoreSizeGauge? = nil) {
        self.factory = factory
        self.storeSize = storeSize
        queueRouted = Counter(label: MetricName.inboundQueueRouted, factory: factory)
        sessionsOpened = Counter(label: MetricName.sessionsOpened, factory: factory)
        sessionsClosed = Counter(label: MetricName.sessionsClosed, factory: factory)
        _ = counter(policy: "deliver")
    }

    /// Adds the bytes of one message's stored copies to the store's size.
    func count(stored copies: [StoredMessage]) {
        storeSize?.add(messageBytes: copies.reduce(0) { $0 + $1.size })
    }

    /// Counts one message's copies, by their labels (nil: delivered as is), and its copies
    /// routed to queues.
    func count(labels: [String?], queueCopies: Int) {
        for label in labels { counter(policy: label ?? "deliver").increment() }
        if queueCopies > 0 { queueRouted.increment(by: queueCopies) }
    }

    /// Counts the sessions a message's copies opened (a new thread, or after the previous
    /// session expired, by `SessionMatchReason`) and closed (the previous one, when the
    /// customer's next message starts a new session: the moment of the `session.closed` event).
    func countSessions(reasons: [String?]) {
        for reason in reasons.compactMap({ $0.flatMap(SessionMatchReason.init(rawValue:)) }) {
            if reason == .newThread || reason == .expired { sessionsOpened.increment() }
            if reason == .expired { sessionsClosed.increment() }
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
