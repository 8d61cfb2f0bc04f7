import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateAutoReply
import PostgateBlocking
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateOutbound
import PostgateStore

/// Asks an address's bot about each customer message held for it, and carries out the
/// answer. The event (`message.received`, the same JSON and signature as webhooks) is POSTed
/// to the bot, which has `timeout` seconds to answer:
/// - `{"action": "reply", "text": "…", "html": "…"}`: the answer is composed, signed and
///   queued like an agent's reply, in the session; the message stays with the bot.
/// - `{"action": "handoff", "queue": "…", "note": "…"}`: the message goes to the queue
///   (the one named, else the one it was routed to) and the session's next messages go
///   straight to people.
/// - anything else, an error or no answer in time: the message goes to the queue.
/// A message with one of the bot's transfer keywords, or of a session handed over
/// already, goes to people without asking the bot. A held message is durable before the
/// bot is asked, so a restart asks again (with the same event id).
struct BotWorker: Sendable {
    let store: MailStore
    let threadPool: NIOThreadPool
    let httpClient: HTTPClient
    let submission: ReplySubmission
    let pollInterval: Double
    let maxTextBytes: Int
    let secretKeyPath: String?
    let logger: Logger

    /// What the bot answered.
    struct Answer: Decodable {
        var action: String
        var text: String?
        var html: String?
        var queue: String?
        var note: String?
    }

    /// Decisions under way at once: a slow bot holds one of them, not the others.
    static let concurrency = 16

    /// Keeps up to `concurrency` decisions under way, one per session at a time (so a
    /// session's messages reach its bot in order, and a hand-over is recorded before the
    /// next message is looked at), and looks for new turns whenever one finishes or every
    /// `pollInterval`.
    func run() async {
        await withTaskGroup(of: Int64?.self) { group in
            var inFlight: [Int64: Int64?] = [:]  // turn id: session id
            var ticking = false
            while !Task.isCancelled {
                if inFlight.count < Self.concurrency {
                    let turns = (try? await threadPool.runToCompletion { [store] in try store.pendingBotTurns(limit: 64) }) ?? []
                    var busy = Set(inFlight.values.compactMap { $0 })
                    for turn in turns where inFlight.count < Self.concurrency && inFlight[turn.id] == nil {
                        if let session = turn.sessionID {
                            guard !busy.contains(session) else { continue }
                            busy.insert(session)
                        }
                        inFlight[turn.id] = turn.sessionID
                        group.addTask { await self.decide(turn); return turn.id }
                    }
                }
                if !ticking {
                    ticking = true
                    group.addTask { [pollInterval] in
                        try? await Task.sleep(for: .seconds(pollInterval))
                        return nil
                    }
                }
                guard let finished = await group.next() else { return }
                if let id = finished { inFlight[id] = nil } else { ticking = false }
            }
            group.cancelAll()
        }
    }

    private func decide(_ turn: BotTurn) async {
        do {
            let prepared = try await threadPool.runToCompletion { [store, maxTextBytes, secretKeyPath] () throws -> Prepared? in
                try Self.prepare(turn, store: store, maxTextBytes: maxTextBytes, secretKeyPath: secretKeyPath)
            }
            guard let prepared else {
                return try await finish(turn, state: "queued", detail: "the address has no bot any more", queue: turn.queue, handOver: false)
            }
            if let reason = prepared.toPeople {
                return try await finish(turn, state: "handed-over", detail: reason, queue: turn.queue, handOver: reason != Self.handedOver)
            }
            let answer = await ask(prepared, turn: turn)
            switch answer {
            case .success(let answer) where answer.action == "reply" && !(answer.text ?? "").isEmpty:
                let outbound = try await reply(answer, prepared: prepared, turn: turn)
                try await finish(turn, state: "replied", detail: "reply queued as outbound message \(outbound)", queue: nil, handOver: false,
                                 reply: outbound)
            case .success(let answer) where answer.action == "handoff":
                let queue = try await existingQueue(answer.queue) ?? turn.queue
                try await finish(turn, state: "handed-over", detail: answer.note.map { "the bot handed over: \($0)" } ?? "the bot handed over",
                                 queue: queue, handOver: true)
            case .success(let answer):
                try await finish(turn, state: "queued", detail: "the bot answered \(answer.action) without a reply", queue: turn.queue, handOver: false)
            case .failure(let reason):
                try await finish(turn, state: "queued", detail: reason.description, queue: turn.queue, handOver: false)
            }
        } catch {
            logger.error("bot decision not recorded; it is asked again", metadata: [
                "queue_id": "\(turn.queueID ?? "")", "event": "\(turn.eventID)", "error": "\(error)",
            ])
            try? await Task.sleep(for: .seconds(1))
        }
    }

    static let handedOver = "the session was handed over to people"

    /// What asking the bot needs, read on the thread pool.
    struct Prepared: Sendable {
        var bot: BotRecord
        var secret: String
        var body: [UInt8]
        var message: WebhookMessage?
        /// Why the message goes to people without asking the bot, if it does.
        var toPeople: String?
    }

    static func prepare(_ turn: BotTurn, store: MailStore, maxTextBytes: Int, secretKeyPath: String?) throws -> Prepared? {
        BlockingWork.assertAllowedHere("preparing a bot's event")
        guard let (bot, sealed) = try store.bot(mailboxPath: turn.mailboxPath) else { return nil }
        let secret = try store.secretBox(keyPath: secretKeyPath, create: false).open(sealed)
        let message = try store.webhookMessage(mailboxPath: turn.mailboxPath, uid: turn.uid, maximumBytes: maxTextBytes)
        let body = try WebhookPayload.encode(type: "message.received", timestamp: turn.createdAt, sessionID: turn.sessionID, queue: turn.queue,
                                             message: message, store: store)
        var toPeople: String?
        if let session = turn.sessionID, try store.isHandedOver(session: session) {
            toPeople = handedOver
        } else {
            let haystack = ((message?.subject ?? "") + "\n" + (message?.text ?? "")).lowercased()
            if let keyword = bot.transferKeywords.first(where: { haystack.contains($0.lowercased()) }) {
                toPeople = "transfer keyword \"\(keyword)\""
            }
        }
        return Prepared(bot: bot, secret: secret, body: body, message: message, toPeople: toPeople)
    }

    /// POSTs the event and reads the answer within the bot's timeout.
    private func ask(_ prepared: Prepared, turn: BotTurn) async -> Result<Answer, BotFailure> {
        do {
            var request = HTTPClientRequest(url: prepared.bot.url)
            request.method = .POST
            let timestamp = String(Int(Date().timeIntervalSince1970))
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "Postgate-Bots")
            request.headers.add(name: "webhook-id", value: turn.eventID)
            request.headers.add(name: "webhook-timestamp", value: timestamp)
            request.headers.add(name: "webhook-signature",
                                value: try WebhookWorker.signature(secret: prepared.secret, id: turn.eventID, timestamp: timestamp, body: prepared.body))
            request.body = .bytes(ByteBuffer(bytes: prepared.body))
            let deadline = NIODeadline.now() + .milliseconds(Int64(prepared.bot.timeout * 1000))
            let response = try await httpClient.execute(request, deadline: deadline)
            let body = try await response.body.collect(upTo: 1 << 20)
            guard (200..<300).contains(Int(response.status.code)) else {
                return .failure(BotFailure(description: "the bot answered \(response.status.code)"))
            }
            guard response.status.code != 204, body.readableBytes > 0 else { return .success(Answer(action: "none")) }
            do {
                return .success(try JSONDecoder().decode(Answer.self, from: Data(buffer: body)))
            } catch {
                return .failure(BotFailure(description: "the bot's answer is not the JSON of a decision"))
            }
        } catch {
            return .failure(BotFailure(description: "no decision in time: \(error)"))
        }
    }

    struct BotFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Composes and queues the bot's reply to the customer, in the session.
    private func reply(_ answer: Answer, prepared: Prepared, turn: BotTurn) async throws -> Int64 {
        let (submission, store) = (self.submission, self.store)
        return try await threadPool.runToCompletion { () throws -> Int64 in
            guard let mailbox = try store.address(try EmailAddress(prepared.bot.address), countingMessages: false),
                  let session = turn.sessionID.flatMap({ try? store.sessionRecord(id: $0) }),
                  let customer = try? EmailAddress(session.customer) else {
                throw BotFailure(description: "the message's session or customer is unknown")
            }
            let address = try EmailAddress(mailbox.email)
            let bytes = AutoReplyMessage.compose(
                from: address.description, to: customer, subject: prepared.message?.subject, inReplyTo: prepared.message?.messageId,
                text: answer.text ?? "", html: answer.html, date: Date(), prefix: "Re: ")
            let parent = OutboundReplyParent(messageID: prepared.message?.messageId ?? "", references: nil, sessionID: turn.sessionID)
            return try submission.submitBotReply(bytes, from: address, to: customer, parent: parent).id
        }
    }

    /// `name` when it is a queue of the gateway.
    private func existingQueue(_ name: String?) async throws -> String? {
        guard let name, !name.isEmpty else { return nil }
        let queues = try await threadPool.runToCompletion { [store] in try store.queues() }
        return queues.first { $0.name.lowercased() == name.lowercased() }?.name
    }

    private func finish(_ turn: BotTurn, state: String, detail: String, queue: String?, handOver: Bool, reply: Int64? = nil) async throws {
        try await threadPool.runToCompletion { [store] in
            try store.finishBotTurn(turn, state: state, detail: detail, toQueue: queue, handOver: handOver)
        }
        var metadata: Logger.Metadata = [
            "queue_id": "\(turn.queueID ?? "")", "event": "\(turn.eventID)", "state": "\(state)", "detail": "\(detail)",
            "session": "\(turn.sessionID.map(String.init) ?? "")",
        ]
        if let reply { metadata["reply_queue_id"] = "\(reply)" }
        logger.info("bot decision", metadata: metadata)
    }
}
