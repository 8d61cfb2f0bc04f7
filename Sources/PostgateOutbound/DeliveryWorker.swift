import Foundation
import Logging
import NIOPosix
import PostgateBlocking
import PostgateStore
import ServiceLifecycle

/// Takes due messages from the outbound queue, groups their recipients by next hop, sends
/// each group in one SMTP transaction and records every recipient's outcome at once.
///
/// Recording happens right after the server's reply to the final dot, before `QUIT`, in
/// one SQLite transaction (`OutboundQueue.record`): the window in which a crash makes a
/// recipient be sent twice is the time between that reply and the commit.
///
/// The clock is injectable so that retry schedules can be tested without waiting.
///
/// The worker is async code; everything it does that blocks (the queue's SQLite work, the
/// notifications and copies stored in mailboxes, reading a message's header) runs on
/// `threadPool`, so no cooperative thread waits for a disk.
public struct DeliveryWorker: Service {
    public let queue: OutboundQueue
    public let client: SMTPClient
    public let nextHop: NextHop
    public let threadPool: NIOThreadPool
    public var pollInterval: Duration
    public var batchSize = 20
    /// Stores notifications of failed recipients and copies of delivered replies; nil: none
    /// are made (the failures stay in the queue, `postgate outbound show` lists them).
    public var mailboxes: (any SenderMailboxWriter)?
    /// The Reporting-MTA of the notifications (the gateway's host name).
    public var reportingMTA = "localhost"
    /// The sending gateways: for an envelope sender whose address sends through its own
    /// provider, that submission server (with its credentials) instead of `nextHop`.
    public var senderRoutes: SenderRoutes?
    /// Stores copies of replies sent through a sending gateway that saves to Sent; nil: none
    /// are made.
    public var sentCopies: (any SentCopyWriter)?
    /// Counts the attempts' results.
    public var metrics = OutboundMetrics.disabled
    private let clock: @Sendable () -> Date
    private let logger: Logger

    public init(
        queue: OutboundQueue, client: SMTPClient, nextHop: NextHop, threadPool: NIOThreadPool, pollInterval: Duration = .seconds(1),
        mailboxes: (any SenderMailboxWriter)? = nil, reportingMTA: String = "localhost",
        clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "postgate.outbound")
    ) {
        self.queue = queue
        self.client = client
        self.nextHop = nextHop
        self.threadPool = threadPool
        self.pollInterval = pollInterval
        self.mailboxes = mailboxes
        self.reportingMTA = reportingMTA
        self.clock = clock
        self.logger = logger
    }

    /// Delivers until the task is cancelled or a graceful shutdown begins; a delivery in
    /// flight is finished and recorded first. Sent copies are stored beside, in their own
    /// loop, so a slow or failing mailbox server never holds up a delivery.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { tasks in
            if sentCopies != nil {
                tasks.addTask { await self.runSentCopies() }
            }
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let tried: Int
                do { tried = try await runOnce() } catch {
                    logger.error("outbound queue pass failed, trying again: \(error)")
                    tried = 0
                }
                if tried == 0 {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
                }
            }
            tasks.cancelAll()
        }
    }

    private func runSentCopies() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await storeSentCopies() } catch {
                logger.error("Sent copies pass failed, trying again: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
        }
    }

    /// One pass: claims what is due now and delivers it; the number of messages tried.
    @discardableResult
    public func runOnce() async throws -> Int {
        var tried = 0
        while !Task.isCancelled {
            let work = try await blocking { try $0.claimDue() }
            if work.isEmpty { break }
            for message in work {
                await deliver(message)
                try await blocking { try $0.release(message.messageID) }
                tried += 1
            }
        }
        try await blocking { try $0.notifyFailures() }
        try await blocking { try $0.copyDeliveredReplies() }
        return tried
    }

    /// One pass over the Sent copies due: appends each reply to the provider's Sent folder; a
    /// failure is logged and retried later.
    public func storeSentCopies() async throws {
        guard let sentCopies else { return }
        let now = clock()
        for copy in try await blocking({ try $0.queue.pendingSentCopies(now: now) }) {
            do {
                let path = copy.path
                let message = try await threadPool.runToCompletion {
                    BlockingWork.assertAllowedHere("reading a reply for its Sent copy")
                    return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                }
                try await sentCopies.storeSentCopy(message, sender: copy.sender)
            } catch {
                let reason = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
                let failedAt = clock()
                let givenUp = try await blocking { try $0.queue.sentCopyFailed(copy, reason: reason, now: failedAt) }
                logger.error(givenUp ? "Sent copy not stored; given up" : "Sent copy not stored; will retry", metadata: [
                    "queue_id": "\(copy.messageID)", "sender": "\(copy.sender)", "error": "\(reason)",
                ])
                continue
            }
            try await blocking { try $0.queue.markSentCopied(copy) }
            logger.info("Sent copy stored", metadata: ["queue_id": "\(copy.messageID)", "sender": "\(copy.sender)"])
        }
    }

    /// Runs `body` on the thread pool. A cancelled task (shutdown) still waits for it: an
    /// outcome being recorded is recorded, as when it ran inline.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable (DeliveryWorker) throws -> T) async throws -> T {
        let worker = self
        return try await threadPool.runToCompletion { try body(worker) }
    }

    /// Runs on the thread pool: leases the messages due now.
    private func claimDue() throws -> [OutboundWork] {
        BlockingWork.assertAllowedHere("outbound queue claim")
        return try queue.claimDue(now: clock(), limit: batchSize)
    }

    /// Runs on the thread pool: gives up the lease of a message tried.
    private func release(_ messageID: Int64) throws {
        BlockingWork.assertAllowedHere("outbound queue release")
        try queue.release(messageID)
    }

    /// Runs on the thread pool: records the outcomes of one transaction in one commit.
    private func record(_ outcomes: [Int64: OutboundRecipientOutcome]) throws {
        BlockingWork.assertAllowedHere("outbound queue record")
        try queue.record(outcomes, now: clock())
    }

    /// Runs on the thread pool: stores a notification for every message with failed
    /// recipients not yet notified (RFC 3464); none for the null sender `<>` (RFC 5321
    /// section 4.5.5).
    func notifyFailures() throws {
        BlockingWork.assertAllowedHere("delivery status notifications")
        guard let mailboxes else { return }
        for report in try queue.pendingFailureReports() {
            if !report.sender.isEmpty {
                let header = OriginalHeaderReader.header(ofFile: report.path)
                let dsn = DeliveryStatusNotification(reportingMTA: reportingMTA, date: clock()).message(for: report, originalHeader: header)
                do {
                    try mailboxes.storeNotification(dsn, for: report.sender, agent: report.agent)
                } catch {
                    logger.error("delivery status notification not stored", metadata: [
                        "queue_id": "\(report.messageID)", "sender": "\(report.sender)", "error": "\(error)",
                    ])
                    continue
                }
                logger.info("delivery status notification stored", metadata: [
                    "queue_id": "\(report.messageID)", "sender": "\(report.sender)",
                    "failed": .array(report.recipients.map { .string($0.address) }),
                ])
            }
            try queue.markNotified(report)
        }
    }

    /// Runs on the thread pool: stores each reply that reached a recipient in its sender's
    /// mailbox (the thread).
    func copyDeliveredReplies() throws {
        BlockingWork.assertAllowedHere("copies of delivered replies")
        guard let mailboxes else { return }
        for copy in try queue.pendingThreadCopies() {
            do {
                try mailboxes.storeDeliveredReply(atPath: copy.path, sender: copy.sender, agent: copy.agent, inThread: copy.sessionID != nil)
            } catch {
                logger.error("delivered reply not copied into the sender's mailbox", metadata: [
                    "queue_id": "\(copy.messageID)", "sender": "\(copy.sender)", "error": "\(error)",
                ])
                continue
            }
            try queue.markThreadCopied(copy)
            logger.info("delivered reply copied into the sender's mailbox", metadata: [
                "queue_id": "\(copy.messageID)", "sender": "\(copy.sender)", "session": "\(copy.sessionID.map(String.init) ?? "")",
            ])
        }
    }

    /// Sends every due recipient of `work`, one transaction per next-hop group.
    func deliver(_ work: OutboundWork) async {
        if let senderRoutes {
            let route: SenderRoute?
            do {
                route = try await senderRoutes(work.sender)
            } catch {
                // The sending gateway is known but unusable now (its secret, its token
                // endpoint): retry later rather than bypass the customer's own server.
                return await record(work, recipients: work.recipients,
                                    outcomes: Array(repeating: .temporary(reason: "sending gateway: \(error)"), count: work.recipients.count),
                                    relay: "sending gateway")
            }
            if let route {
                if route.saveToSent && sentCopies != nil {
                    // Due before the first attempt: a crash after the server took the reply
                    // cannot lose its Sent copy.
                    do {
                        try await blocking { try $0.queue.markSentCopyDue(work.messageID) }
                    } catch {
                        logger.error("Sent copy not recorded as due", metadata: ["queue_id": "\(work.messageID)", "error": "\(error)"])
                    }
                }
                let attempt: (outcomes: [OutboundRecipientOutcome], relay: String)
                switch route.handoff {
                case .smtp(let endpoint):
                    attempt = await deliver(work, to: work.recipients, endpoints: [endpoint])
                case .submitter(let submitter):
                    attempt = (await submitter.submit(Self.request(work, recipients: work.recipients)), "sending gateway (Graph)")
                }
                return await record(work, recipients: work.recipients, outcomes: attempt.outcomes, relay: attempt.relay)
            }
        }
        var groups: [String: [OutboundWork.Recipient]] = [:]
        for recipient in work.recipients { groups[nextHop.groupKey(recipient.address), default: []].append(recipient) }
        for key in groups.keys.sorted() {
            let recipients = groups[key]!
            let attempt: (outcomes: [OutboundRecipientOutcome], relay: String)
            switch await nextHop.endpoints(for: key) {
            case .failure(let failure): attempt = (Array(repeating: failure.outcome, count: recipients.count), key.isEmpty ? "none" : key)
            case .success(let endpoints): attempt = await deliver(work, to: recipients, endpoints: endpoints)
            }
            await record(work, recipients: recipients, outcomes: attempt.outcomes, relay: attempt.relay)
        }
    }

    /// Records one attempt's outcomes and logs one line per recipient: the queue id, the
    /// recipient, the next hop that answered, the result (`delivered`, `deferred` or
    /// `bounced`), the attempt number and the server's reply.
    private func record(_ work: OutboundWork, recipients: [OutboundWork.Recipient], outcomes: [OutboundRecipientOutcome],
                        relay: String) async {
        let byID = Dictionary(uniqueKeysWithValues: zip(recipients.map(\.id), outcomes))
        metrics.count(outcomes)
        do {
            try await blocking { try $0.record(byID) }
        } catch {
            logger.error("delivery outcome not recorded", metadata: ["queue_id": "\(work.messageID)", "error": "\(error)"])
        }
        for (recipient, outcome) in zip(recipients, outcomes) {
            let (level, result): (Logger.Level, String) = switch outcome {
            case .delivered: (.info, "delivered")
            case .temporary: (.notice, "deferred")
            case .permanent: (.warning, "bounced")
            }
            logger.log(level: level, "delivery attempt", metadata: [
                "queue_id": "\(work.messageID)", "from": "\(work.sender)", "to": "\(recipient.address)", "relay": "\(relay)",
                "result": "\(result)", "attempt": "\(recipient.attempts + 1)", "reply": "\(outcome.text)",
            ])
        }
    }

    static func request(_ work: OutboundWork, recipients: [OutboundWork.Recipient]) -> SMTPDeliveryRequest {
        SMTPDeliveryRequest(sender: work.sender, recipients: recipients.map(\.address), path: work.path,
                            size: work.size, eightBit: work.eightBit, smtpUTF8: work.smtpUTF8)
    }

    /// Tries the servers in order until one gives an outcome that is not temporary for
    /// every recipient (RFC 5321 section 5.1: try the next MX after a failure).
    /// Returns the outcomes with the server that gave them (the last one tried).
    private func deliver(_ work: OutboundWork, to recipients: [OutboundWork.Recipient],
                         endpoints: [SMTPEndpoint]) async -> (outcomes: [OutboundRecipientOutcome], relay: String) {
        let request = Self.request(work, recipients: recipients)
        var outcomes: [OutboundRecipientOutcome] = []
        var relay = "none"
        for endpoint in endpoints {
            relay = endpoint.description
            outcomes = await client.deliver(request, to: endpoint)
            if !outcomes.allSatisfy({ if case .temporary = $0 { true } else { false } }) { break }
        }
        return (outcomes, relay)
    }
}
