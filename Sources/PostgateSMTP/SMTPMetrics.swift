import CoreMetrics
import PostgateMetrics

/// One SMTP listener's counters and histograms, made once and shared by its sessions.
public struct SMTPMetrics: Sendable {
    /// How a mail transaction that reached the end of its data ended.
    public enum Outcome: String, MetricLabel {
        /// 250: the message is durable.
        case accepted
        /// The message data was refused (its size, a bare line ending, no recipients left).
        case refused
        /// Storing the message failed (4xx or 5xx after the data).
        case failed
    }

    let sessionsOpened: CoreMetrics.Counter
    let sessionsClosed: CoreMetrics.Counter
    let transactions: [Outcome: CoreMetrics.Counter]
    let refusals: [SMTPRefusalReason: CoreMetrics.Counter]
    let transactionDuration: CoreMetrics.Timer
    let commitDuration: CoreMetrics.Timer

    /// - Parameter listener: the listener's kind (`mx`, `submission`, `submissions`), a label value.
    public init(listener: String, factory: any MetricsFactory) {
        let dimensions = [("listener", listener)]
        sessionsOpened = Counter(label: MetricName.smtpSessionsOpened, dimensions: dimensions, factory: factory)
        sessionsClosed = Counter(label: MetricName.smtpSessionsClosed, dimensions: dimensions, factory: factory)
        transactions = .init(MetricName.smtpTransactions, label: "outcome", dimensions: dimensions, factory: factory)
        refusals = .init(MetricName.smtpRefusals, label: "reason", dimensions: dimensions, factory: factory)
        transactionDuration = Timer(label: MetricName.smtpTransactionDuration, dimensions: dimensions, factory: factory)
        commitDuration = Timer(label: MetricName.smtpCommitDuration, dimensions: dimensions, factory: factory)
    }

    /// Counts nothing: sessions of servers started without metrics (tests, tools).
    public static let disabled = SMTPMetrics(listener: "", factory: NOOPMetricsHandler.instance)
}
