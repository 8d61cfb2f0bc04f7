import NIOCore
import NIOExtras
import NIOSSL
import PostgateListener
import PostgateSMTP
import PostgateOutbound
import PostgateStore

/// The submission side of `postgate serve`: agents' mail clients send replies on
/// the submission (STARTTLS, RFC 6409) and submissions (implicit TLS, RFC 8314) listeners.
extension Gateway {
    /// Binds every submission and submissions listener; their bound addresses. `queue` is
    /// the outbound queue, opened on the thread pool (`Services`); nil when there are no
    /// such listeners.
    func startSubmission(store: MailStore, queue: OutboundQueue?, tls: NIOSSLContext?, throttle: LoginThrottle) async throws -> [SocketAddress] {
        let listeners = configuration.submission.listen.map { ($0, false) } + configuration.submissions.listen.map { ($0, true) }
        guard !listeners.isEmpty, let queue else { return [] }
        let settings = configuration.submission
        let delivery = SubmissionDelivery(
            submission: ReplySubmission(store: store, queue: queue, configuration: configuration,
                                        metrics: DKIMMetrics(factory: metrics.factory)), threadPool: threadPool,
            authThreadPool: authThreadPool, throttle: throttle, failedLoginDelay: .milliseconds(Int64(settings.failedLoginDelayMs)), logger: logger)
        // Their own session limits: a flood on the MX listener never locks agents out.
        let limiter = ConnectionLimiter(maxConnections: settings.maxConnections, maxConnectionsPerAddress: settings.maxConnectionsPerIP)
        var bound: [SocketAddress] = []
        for (text, implicitTLS) in listeners {
            let quiescing = ServerQuiescingHelper(group: group)
            let channel = try await bindSMTP(
                try ListenAddress(text), configuration: configuration.submissionServerConfiguration, delegate: delivery,
                tls: tls, implicitTLS: implicitTLS, limiter: limiter, quiescing: quiescing,
                listener: implicitTLS ? "submissions" : "submission")
            listenerQuiescing.append(quiescing)
            serverChannels.append(channel)
            if let local = channel.localAddress { bound.append(local) }
            logger.notice("listening", metadata: [implicitTLS ? "submissions" : "submission": "\(channel.localAddress.map { "\($0)" } ?? text)"])
        }
        return bound
    }
}
