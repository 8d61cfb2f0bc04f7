import CoreMetrics
import PostgateDKIM
import PostgateMetrics

/// DKIM: replies signed or sent unsigned (a custom domain whose key record is not verified),
/// and inbound signatures by result (RFC 8601 section 2.7.1; `none` for a message without one).
public struct DKIMMetrics: Sendable {
    enum Signing: String, MetricLabel {
        case signed, unsigned
    }

    enum Verification: String, MetricLabel {
        case pass, fail, neutral, temperror, permerror, none
    }

    let signatures: [Signing: CoreMetrics.Counter]
    let verifications: [Verification: CoreMetrics.Counter]

    public init(factory: any MetricsFactory) {
        signatures = .init(MetricName.dkimSignatures, label: "result", factory: factory)
        verifications = .init(MetricName.dkimVerifications, label: "result", factory: factory)
    }

    /// Counts the results of one message's signatures.
    func count(_ results: [DKIMVerificationResult]) {
        guard !results.isEmpty else {
            verifications[.none]?.increment()
            return
        }
        for result in results { verifications[Verification(rawValue: result.status.rawValue) ?? .none]?.increment() }
    }

    /// Counts nothing: tools and tests without metrics.
    public static let disabled = DKIMMetrics(factory: NOOPMetricsHandler.instance)
}

/// Webhook deliveries, one per attempt: delivered (2xx), or failed (another answer, no answer).
struct WebhookMetrics: Sendable {
    enum Result: String, MetricLabel {
        case delivered, failed
    }

    let deliveries: [Result: CoreMetrics.Counter]

    init(factory: any MetricsFactory) {
        deliveries = .init(MetricName.webhookDeliveries, label: "result", factory: factory)
    }
}
