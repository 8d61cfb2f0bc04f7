import CoreMetrics
import Foundation
import PostgateMetrics

/// What the delivery worker counts: one attempt per recipient, by result.
public struct OutboundMetrics: Sendable {
    /// A recipient's result of one attempt (RFC 5321 section 4.2.1 reply classes).
    public enum Result: String, MetricLabel {
        case delivered, deferred, failed

        init(_ outcome: OutboundRecipientOutcome) {
            self = switch outcome {
            case .delivered: .delivered
            case .temporary: .deferred
            case .permanent: .failed
            }
        }
    }

    let attempts: [Result: CoreMetrics.Counter]

    public init(factory: any MetricsFactory) {
        attempts = .init(MetricName.outboundDeliveryAttempts, label: "result", factory: factory)
    }

    func count(_ outcomes: [OutboundRecipientOutcome]) {
        for outcome in outcomes { attempts[Result(outcome)]?.increment() }
    }

    /// Counts nothing: workers started without metrics (tests, `postgate outbound deliver`).
    public static let disabled = OutboundMetrics(factory: NOOPMetricsHandler.instance)
}

/// The queue's depth, read when metrics are scraped (two indexed queries, on the thread
/// pool), never counted per message.
public struct OutboundQueueGauges: Sendable {
    let queued: CoreMetrics.Gauge
    let deferred: CoreMetrics.Gauge
    let oldestDeferredAge: CoreMetrics.Gauge

    public init(factory: any MetricsFactory) {
        queued = Gauge(label: MetricName.outboundQueueRecipients, dimensions: [("state", "queued")], factory: factory)
        deferred = Gauge(label: MetricName.outboundQueueRecipients, dimensions: [("state", "deferred")], factory: factory)
        oldestDeferredAge = Gauge(label: MetricName.outboundOldestDeferredAge, factory: factory)
    }

    /// Sets the gauges from `backlog` as it is at `now`.
    public func update(_ backlog: OutboundQueue.Backlog, now: Date) {
        queued.record(backlog.waiting - backlog.deferred)
        deferred.record(backlog.deferred)
        oldestDeferredAge.record(backlog.oldestDeferredAt.map { max(0, now.timeIntervalSince($0)) } ?? 0)
    }
}
