import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateBlocking
import PostgateDKIM
import PostgateMessage
import PostgatePolicy
import PostgateSMTP
import PostgateStore
import PostgateIndex
import PostgateDirectory

/// The inbound (MX) policy and delivery: which recipients are accepted, and how a message
/// becomes durable in the store. Implements the SMTP delegate, so the protocol code never
/// sees SQL or files.
///
/// Store calls block (SQLite, fsync), so they run on a thread pool, never on an event loop.
public struct InboundDelivery: SMTPServerDelegate {
    let store: MailStore
    let threadPool: NIOThreadPool
    let hostname: String
    /// Every line about one message carries its `queue_id` (`StoreMessageWriter` sets it).
    var logger: Logger
    /// DKIM: verify signatures and add Authentication-Results; nil to skip.
    let dkim: DKIMInboundVerifier?
    /// The largest header section the listeners accept: how far a received message is read
    /// for the Authentication-Results fields claiming our authserv-id, `hostname`.
    let maxHeaderSize: Int
    /// Sends the addresses' auto-replies once a message is durable; nil: none (no outbound queue).
    let autoResponder: AutoResponder?
    /// Counts the durable messages' copies by policy label; nil: nothing is counted.
    let metrics: InboundMetrics?

    public init(store: MailStore, threadPool: NIOThreadPool, hostname: String, logger: Logger, dkim: DKIMInboundVerifier? = nil,
                autoResponder: AutoResponder? = nil, metrics: InboundMetrics? = nil, maxHeaderSize: Int = 262_144) {
        self.metrics = metrics
        self.maxHeaderSize = maxHeaderSize
        self.store = store
        self.threadPool = threadPool
        self.hostname = hostname
        self.logger = logger
        self.dkim = dkim
        self.autoResponder = autoResponder
    }

    /// Accepts only enabled hosted addresses and their aliases. Everything else is refused,
    /// so the gateway is never an open relay (RFC 5321 section 3.6.2, RFC 2505).
    public func verifyRecipient(_ recipient: EmailAddress, in transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<RecipientVerdict> {
        if recipient.hasRoutingCharacters {
            // `user%other@hosted`, `"user@other"@hosted`, `a!b@hosted`: routing that old relays
            // honoured. Refuse them as relaying whatever the domain.
            return eventLoop.makeSucceededFuture(.reject(SMTPReply(550, "5.7.1", "Relaying denied: routing characters in <\(recipient)> are not accepted")))
        }
        // Even a recipient already in the directory cache is looked up on the thread pool:
        // knowing the cache is current takes a read of the generation hint file, and no file
        // is read on an event loop. The handler takes no further command meanwhile, so the
        // replies keep the commands' order (RFC 2920 section 3.1).
        let store = self.store
        return threadPool.runIfActive(eventLoop: eventLoop) {
            try Self.lookUp(recipient, in: store)
        }
    }

    /// Runs on the thread pool: the directory snapshot (a `pread(2)` of the generation hint,
    /// SQLite when the directory changed) and the recipient's resolution in it.
    static func lookUp(_ recipient: EmailAddress, in store: MailStore) throws -> RecipientVerdict {
        BlockingWork.assertAllowedHere("RCPT lookup")
        return verdict(for: recipient, resolution: try store.directorySnapshot().resolveRecipient(recipient))
    }

    static func verdict(for recipient: EmailAddress, resolution: RecipientResolution) -> RecipientVerdict {
        switch resolution {
        case .accept:
            return .accept
        case .unknownUser:
            return .reject(SMTPReply(550, "5.1.1", "<\(recipient)>: no such user here"))
        case .disabled:
            return .reject(SMTPReply(550, "5.2.1", "<\(recipient)>: mailbox disabled, not accepting messages"))
        case .domainNotHosted:
            return .reject(SMTPReply(550, "5.7.1", "Relaying denied: \(recipient.domain.unicode) is not hosted here"))
        }
    }

    public func openMessage(for transaction: SMTPTransaction, eventLoop: any EventLoop) -> EventLoopFuture<any SMTPMessageWriter> {
        let id = StoreMessageWriter.makeID()
        let date = Date()
        let session = transaction.session
        let origin = MessageOrigin(
            sender: transaction.sender.description, recipients: transaction.recipients,
            traceHeader: traceHeader(for: transaction, id: id, date: date),
            source: ["client": "\(session.remoteAddress)", "helo": "\(Self.printable(session.heloName ?? ""))",
                     "protocol": "\(session.protocolName)"])
        let writer = StoreMessageWriter(delivery: self, origin: origin, id: id, date: date, eventLoop: eventLoop)
        return eventLoop.makeSucceededFuture(writer)
    }

    /// The queue each address target routes the message to (the address's filters: first match
    /// wins, else the default queue), on the facts of `RoutingFacts(sender:header:messageBytes:)`;
    /// the spooled message is read only if a body filter asks.
    func routes(for targets: [MailboxTarget], facts: RoutingFacts, directory: DirectorySnapshot) throws -> [QueueTarget] {
        try targets.compactMap { try directory.route($0, facts: facts) }
    }

    /// The facts filters and the policy look at; the spooled message is read, and its text
    /// extracted, once and only if a rule asks for the body.
    func routingFacts(header: MessageHeader, sender: String, message: IncomingMessage) -> RoutingFacts {
        RoutingFacts(sender: sender, header: header, messageBytes: { (try? message.prefix(RoutingFacts.bodyScanLimit)) ?? [] })
    }

    /// The trace fields this gateway adds at the top of the message: Return-Path
    /// (RFC 5321 section 4.4, added by the final delivery) and Received (section 4.4, with
    /// the protocol names of RFC 3848).
    func traceHeader(for transaction: SMTPTransaction, id: String, date: Date) -> String {
        let session = transaction.session
        let helo = Self.printable(session.heloName ?? "unknown")
        var received = "Received: from \(helo) ([\(session.remoteAddress)])\r\n"
        received += "\tby \(hostname) (Postgate) with \(session.protocolName) id \(id)"
        if transaction.recipients.count == 1, let only = transaction.recipients.first {
            received += "\r\n\tfor <\(only)>"
        }
        received += "; \(RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970)))\r\n"
        return "Return-Path: <\(transaction.sender)>\r\n" + received
    }

    /// Client-supplied text in a header: printable ASCII only, so nothing can inject a field.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(255).map { (33...126).contains($0.value) ? $0 : "?" }))
    }
}

/// Who a message being stored is from and for: an SMTP transaction's envelope, or a
/// receiving gateway's fetched message (with the checkpoint that commits with it).
struct MessageOrigin: Sendable {
    /// The envelope sender (MAIL FROM), or a fetched message's Return-Path.
    var sender: String
    /// The recipients, resolved again when the message commits.
    var recipients: [EmailAddress]
    /// The trace fields added at the top of the message (RFC 5321 section 4.4).
    var traceHeader: String
    var checkpoint: FetchCheckpoint? = nil
    /// Where it came from, for the log line that accepts it: the SMTP client and its HELO
    /// name, or the receiving gateway.
    var source: Logger.Metadata = [:]
    /// A fetched message has no envelope: its sender is its Return-Path field (the
    /// provider's final delivery added it, RFC 5321 section 4.4), else its From.
    var senderFromHeader = false

    /// The sender the policy and the index see.
    func sender(header: MessageHeader) -> String {
        guard senderFromHeader else { return sender }
        for name in ["Return-Path", "From"] {
            guard let value = header[name] else { continue }
            if let address = HeaderAddressList.addresses(in: value).first { return address.description }
        }
        return ""
    }
}

/// Streams one message into the store.
///
/// Content is gathered in memory up to `flushThreshold`, then written on the thread pool
/// while the next chunk is received; at most one write is in flight, so memory stays
/// bounded. Small messages touch the disk once, at commit.
final class StoreMessageWriter: SMTPMessageWriter, @unchecked Sendable {
    // Invariant making @unchecked Sendable sound: `pending` and `inFlight` are used only on
    // `eventLoop`; `incoming` only inside thread-pool work items, which never overlap
    // (each starts after the previous one's future completed).
    private static let flushThreshold = 256 * 1024

    private let delivery: InboundDelivery
    private let origin: MessageOrigin
    private let eventLoop: any EventLoop
    private let id: String
    private let date: Date
    private var pending: ByteBuffer
    private var inFlight: EventLoopFuture<Void>?
    private var incoming: IncomingMessage?
    private var aborted = false
    // DKIM (RFC 6376): the message as received, without our trace fields, streams through
    // the verifier on the thread pool with the spool writes.
    private var dkimVerifier: DKIMMessageVerifier?
    private let traceLength: Int
    private var traceBytesToSkip: Int

    init(delivery: InboundDelivery, origin: MessageOrigin, id: String, date: Date, eventLoop: any EventLoop) {
        var delivery = delivery
        delivery.logger[metadataKey: "queue_id"] = "\(id)"
        self.delivery = delivery
        self.origin = origin
        self.eventLoop = eventLoop
        self.id = id
        self.date = date
        self.pending = ByteBuffer(string: origin.traceHeader)
        self.traceLength = pending.readableBytes
        self.traceBytesToSkip = traceLength
        self.dkimVerifier = delivery.dkim?.makeMessageVerifier()
    }

    func eventLoopSucceeded() -> EventLoopFuture<Void> {
        eventLoop.makeSucceededVoidFuture()
    }

    func write(_ chunk: ByteBuffer) -> EventLoopFuture<Void>? {
        var chunk = chunk
        pending.writeBuffer(&chunk)
        if let inFlight { return inFlight }
        guard pending.readableBytes >= Self.flushThreshold else { return nil }
        let bytes = takePending()
        let future = delivery.threadPool.runIfActive(eventLoop: eventLoop) { try self.store(bytes) }
        inFlight = future
        future.whenComplete { _ in self.inFlight = nil }
        return nil
    }

    func commit(header: MessageHeader) -> EventLoopFuture<String> {
        let previous = inFlight ?? eventLoop.makeSucceededVoidFuture()
        return previous.flatMap {
            let bytes = self.takePending()
            let promise = self.eventLoop.makePromise(of: String.self)
            self.delivery.threadPool.submit { state in
                guard case .active = state else { return promise.fail(NIOThreadPoolError.ThreadPoolInactive()) }
                let committed: CommittedDelivery
                let arrival: AutoResponder.Arrival
                do {
                    try self.storeLast(bytes)
                    let result = try self.commitDelivery(header: header)
                    committed = result.0
                    arrival = result.1
                } catch {
                    return promise.fail(error)
                }
                // Durable now. An auto-reply is queued (durably) before the 250, so whoever
                // sees the message acknowledged sees its auto-reply decided; a failure to queue
                // one is logged and never costs the message.
                self.delivery.autoResponder?.answer(committed.stored, arrival: arrival)
                // The 250 goes out while the files are renamed into `new/`.
                promise.succeed(self.id)
                self.publish(committed)
                // Owners, transfers and last-agent mode file the message further (see `followSessions`).
                self.delivery.store.followSessions(committed.stored, routed: arrival.addresses)
            }
            return promise.futureResult
        }
    }

    func abort() {
        aborted = true
        let previous = inFlight ?? eventLoop.makeSucceededVoidFuture()
        previous.whenComplete { _ in
            self.delivery.threadPool.submit { _ in self.incoming?.abort() }
        }
    }

    private func takePending() -> ByteBuffer {
        defer { pending = ByteBuffer() }
        return pending
    }

    /// Runs on the thread pool: appends `bytes` to the spool file, opening it first.
    private func store(_ bytes: ByteBuffer) throws {
        let incoming = try self.incoming ?? delivery.store.beginMessage()
        self.incoming = incoming
        try bytes.withUnsafeReadableBytes { raw in
            try incoming.write(raw)
            verifyDKIM(raw)
        }
    }

    /// Runs on the thread pool: feeds the DKIM verifier what the client sent.
    private func verifyDKIM(_ raw: UnsafeRawBufferPointer) {
        guard dkimVerifier != nil else { return }
        let skip = min(traceBytesToSkip, raw.count)
        traceBytesToSkip -= skip
        dkimVerifier!.update(UnsafeRawBufferPointer(rebasing: raw[skip...]))
    }

    /// Runs on the thread pool: the last bytes, with the Authentication-Results field
    /// (RFC 8601) below our trace fields once the signatures are checked, and without the
    /// fields that claim our authserv-id (section 5, `AuthenticationResultsFields`): they
    /// are removed only after the verifier has seen the message as it was sent, so a
    /// signature covering them still verifies. A message still wholly in memory is
    /// rewritten there; a spooled one has its file rewritten once.
    private func storeLast(_ bytes: ByteBuffer) throws {
        if incoming == nil { bytes.withUnsafeReadableBytes { verifyDKIM($0) } } else { try store(bytes) }
        var field: [UInt8] = []
        if let dkim = delivery.dkim, var verifier = dkimVerifier {
            dkimVerifier = nil
            field = dkim.authenticationResults(&verifier)
        }
        if let incoming {
            let head = try incoming.prefix(traceLength + delivery.maxHeaderSize + 2)
            guard let rewrite = storedHead(head, endsMessage: head.count == incoming.size, field: field) else { return }
            try incoming.replacePrefix(rewrite.length, with: rewrite.replacement)
        } else {
            let all = Array(bytes.readableBytesView)
            guard let rewrite = storedHead(all, endsMessage: true, field: field) else { return try store(bytes) }
            try store(ByteBuffer(bytes: rewrite.replacement + all[rewrite.length...]))
        }
    }

    /// The first `length` bytes of the message as received and what replaces them: our
    /// trace fields, `field`, then the header section without the Authentication-Results
    /// fields that claim our authserv-id; nil when nothing changes.
    private func storedHead(_ head: [UInt8], endsMessage: Bool, field: [UInt8]) -> (length: Int, replacement: [UInt8])? {
        let forged = AuthenticationResultsFields.ranges(claiming: delivery.hostname, in: head[traceLength...], endsMessage: endsMessage)
        guard !forged.isEmpty || !field.isEmpty else { return nil }
        if !forged.isEmpty {
            delivery.logger.notice("removed Authentication-Results fields claiming this host", metadata: [
                "count": "\(forged.count)", "authserv_id": "\(delivery.hostname)",
            ])
        }
        let length = traceLength + (forged.last?.upperBound ?? 0)
        let received = AuthenticationResultsFields.removing(forged, from: Array(head[traceLength..<length]))
        return (length, Array(head[..<traceLength]) + field + received)
    }

    /// Runs on the thread pool: resolve the recipients again (the directory may have
    /// changed since RCPT) and make the message durable in each mailbox.
    private func commitDelivery(header: MessageHeader) throws -> (CommittedDelivery, AutoResponder.Arrival) {
        guard let incoming, !aborted else { throw SMTPReply(451, "4.3.0", "Message was aborted") }
        // A message too big to journal is flushed before the commit: its data goes to the
        // device while the recipients are resolved and routed.
        try incoming.startWriteback()
        let directory = try delivery.store.directorySnapshot()
        var targets: [MailboxTarget: String] = [:]
        for recipient in origin.recipients {
            if case .accept(let target) = try directory.resolveRecipient(recipient), targets[target] == nil {
                targets[target] = recipient.description
            }
        }
        guard !targets.isEmpty else {
            incoming.abort()
            throw SMTPReply(450, "4.2.1", "The recipients were removed during the transaction; try again later")
        }
        let sender = origin.sender(header: header)
        let facts = delivery.routingFacts(header: header, sender: sender, message: incoming)
        let routing = try delivery.route(targets, header: header, mailFrom: sender, bodyText: facts.body, directory: directory)
        var rcptTo = routing.rcptTo
        var arrival = AutoResponder.Arrival(header: header, envelopeSender: sender, date: date, addresses: [:], queueID: id)
        for target in targets.keys { arrival.addresses[target.mailboxPath] = (target.address, nil) }
        // Only ordinary messages reach an agents' queue: never blocked mail, auto-replies, own replies or quarantine.
        let ordinary = rcptTo.keys.filter { routing.labels[$0] == nil }
        // An address with a bot holds its customers' messages: the queue copy waits for the
        // bot's decision (the bot worker files it, or the bot answers).
        var botHolds: [MailboxTarget: String] = [:]
        for target in ordinary where try directory.bot(of: target) != nil { botHolds[target] = "" }
        let queues = try delivery.routes(for: ordinary, facts: facts, directory: directory)
        for queue in queues {
            arrival.addresses[queue.mailbox.mailboxPath] = nil
            if let own = targets.keys.first(where: { $0.address == queue.mailbox.address }) {
                arrival.addresses[own.mailboxPath] = (own.address, queue.queue)
                if botHolds[own] != nil {
                    botHolds[own] = queue.queue
                    continue
                }
            }
            if rcptTo[queue.mailbox] == nil {
                rcptTo[queue.mailbox] = rcptTo.first { $0.key.address == queue.mailbox.address }?.value
            }
        }
        let envelope = DeliveryEnvelope(
            mailFrom: sender, rcptTo: rcptTo, internalDate: date, header: header, policy: routing.labels, botHolds: botHolds,
            queueID: id)
        let committed = try delivery.store.commitDelivery(incoming, to: Array(rcptTo.keys), envelope: envelope, checkpoint: origin.checkpoint)
        delivery.metrics?.count(labels: routing.rcptTo.keys.map { routing.labels[$0] }, queueCopies: queues.count)
        delivery.metrics?.count(stored: committed.stored)
        delivery.metrics?.countSessions(reasons: committed.stored.filter { $0.policy == nil }.map(\.sessionReason))
        return (committed, arrival)
    }

    /// Runs on the thread pool, after the reply: makes the stored message visible (a
    /// failure is logged by the store, and recovery finishes it).
    private func publish(_ committed: CommittedDelivery) {
        delivery.store.publish(committed)
        log(committed)
    }

    /// The message's lines after its `250`: one for the message (who sent it, from where,
    /// its size and Message-ID), one per stored copy (mailbox, UID, session, policy label).
    /// A duplicate that stored no copy says so.
    private func log(_ committed: CommittedDelivery) {
        var accepted = origin.source
        accepted["from"] = "\(committed.stored.first?.mailFrom ?? origin.sender)"
        accepted["to"] = .array(origin.recipients.map { .string($0.description) })
        accepted["size"] = "\(incoming?.size ?? 0)"
        accepted["copies"] = "\(committed.stored.count)"
        if let messageID = committed.stored.first?.messageID { accepted["message_id"] = "\(messageID)" }
        delivery.logger.info(committed.stored.isEmpty ? "accepted; a duplicate, nothing stored" : "accepted", metadata: accepted)
        for copy in committed.stored {
            var stored: Logger.Metadata = ["mailbox": "\(copy.mailboxPath)", "uid": "\(copy.uid)"]
            if let session = copy.sessionID { stored["session"] = "\(session)" }
            if let reason = copy.sessionReason { stored["session_reason"] = "\(reason)" }
            if let policy = copy.policy { stored["policy"] = "\(policy)" }
            delivery.logger.info("stored", metadata: stored)
        }
    }

    /// A short unique queue id: time in base 36 and random bits, as Postfix's long ids.
    static func makeID() -> String {
        let time = String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36, uppercase: true)
        let random = String(UInt64.random(in: 0..<(1 << 40)), radix: 36, uppercase: true)
        return time + random
    }
}
