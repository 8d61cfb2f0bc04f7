import Logging
import NIOCore
import NIOPosix
import PostgateDKIM
import PostgateMessage
import PostgateOutbound
import PostgateStore

/// The outbound side of `postgate serve`: the delivery worker runs beside the
/// listeners on the same data directory.
extension Gateway {
    /// The worker for this configuration: its next hop, retry schedule and notifications.
    /// Its SMTP sessions run on `group`; its blocking work (the queue, the mailboxes, DNS,
    /// the message files) on `threadPool`. Blocks: it opens the queue and may read the
    /// smarthost's password file and /etc/resolv.conf.
    public static func makeDeliveryWorker(
        configuration: GatewayConfiguration, store: MailStore, group: any EventLoopGroup, threadPool: NIOThreadPool, logger: Logger
    ) throws -> DeliveryWorker {
        let queue = try OutboundQueue.open(sharing: store, policy: configuration.outbound.retry)
        return DeliveryWorker(
            queue: queue,
            client: SMTPClient(configuration: configuration.smtpClientConfiguration, group: group, threadPool: threadPool, logger: logger),
            nextHop: try configuration.outboundNextHop(threadPool: threadPool), threadPool: threadPool,
            pollInterval: .milliseconds(Int64(configuration.outbound.pollInterval * 1000)),
            mailboxes: SenderMailboxStore(store: store), reportingMTA: configuration.hostname, logger: logger
        )
    }

    /// Starts delivering the queue in the background. `Services` made the worker, after
    /// giving every hosted-kind domain a DKIM key (replies from the gateway's own domain
    /// are always signed).
    func startOutboundDelivery(_ worker: DeliveryWorker) {
        let logger = logger
        outboundDelivery = Task {
            do { try await worker.run() } catch { logger.error("outbound delivery stopped: \(error)") }
        }
    }

    /// The selector of generated hosted-domain keys.
    static let hostedSelector = "postgate"

    /// Generates an RSA-2048 key for each hosted-kind domain that has none; their names.
    /// Blocks (SQLite, key generation).
    public static func ensureHostedDKIMKeys(store: MailStore) throws -> [String] {
        var generated: [String] = []
        for domain in try store.domains() where domain.kind == .hosted {
            let name = try DomainName(domain.name)
            guard try store.dkimKeys(domain: name).isEmpty else { continue }
            let key = try DKIMPrivateKey.generateRSA(bits: 2048)
            _ = try store.addDKIMKey(domain: name, selector: hostedSelector, algorithm: key.algorithm.rawValue,
                                     privateKeyPEM: key.pemRepresentation, publicRecord: key.keyRecord)
            generated.append(domain.name)
        }
        return generated
    }

    /// Stops the worker after the message it is sending, whose outcome is recorded first.
    func stopOutboundDelivery() async {
        outboundDelivery?.cancel()
        await outboundDelivery?.value
        outboundDelivery = nil
    }
}
