import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PostgateBlocking
import PostgateDirectory
import PostgateMaildir
import PostgateStore

/// Sends the webhook outbox: each due delivery is POSTed as JSON, signed as Standard
/// Webhooks specify (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
/// HMAC-SHA256 over "id.timestamp.body">`), and leaves the due set only when the subscriber
/// answered 2xx. A failure is tried again after a delay that doubles, until the event is
/// `webhooks.max_age` old. A session's events go to a subscriber one at a time, in order.
struct WebhookWorker: Sendable {
    let store: MailStore
    let threadPool: NIOThreadPool
    let httpClient: HTTPClient
    let settings: GatewayConfiguration.WebhookSettings
    let secretKeyPath: String?
    let metrics: WebhookMetrics
    let logger: Logger

    func run() async {
        while !Task.isCancelled {
            let due: [WebhookDue]
            do {
                due = try await threadPool.runToCompletion { [store] in try store.dueWebhookDeliveries(limit: 32) }
            } catch {
                logger.error("webhook outbox not readable; trying again", metadata: ["error": "\(error)"])
                due = []
            }
            if due.isEmpty {
                do { try await Task.sleep(for: .seconds(settings.pollInterval)) } catch { return }
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                for delivery in due { group.addTask { await self.deliver(delivery) } }
            }
        }
    }

    private func deliver(_ due: WebhookDue) async {
        let now = Date()
        var status: Int?
        var failure: String?
        do {
            let (body, secret) = try await threadPool.runToCompletion { [store, settings, secretKeyPath] in
                (try Self.payload(due, store: store, maxTextBytes: settings.maxTextBytes),
                 try store.secretBox(keyPath: secretKeyPath, create: false).open(due.sealedSecret))
            }
            var request = HTTPClientRequest(url: due.url)
            request.method = .POST
            let timestamp = String(Int(now.timeIntervalSince1970))
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "Postgate-Webhooks")
            request.headers.add(name: "webhook-id", value: due.eventID)
            request.headers.add(name: "webhook-timestamp", value: timestamp)
            request.headers.add(name: "webhook-signature", value: try Self.signature(secret: secret, id: due.eventID, timestamp: timestamp, body: body))
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await httpClient.execute(request, timeout: .milliseconds(Int64(settings.timeout * 1000)))
            status = Int(response.status.code)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if !(200..<300).contains(Int(response.status.code)) { failure = "the subscriber answered \(response.status.code)" }
        } catch {
            failure = "\(error)"
        }
        let delivered = failure == nil
        metrics.deliveries[delivered ? .delivered : .failed]?.increment()
        var next: Date?
        if !delivered, now.timeIntervalSince(due.createdAt) < settings.maxAge {
            next = now.addingTimeInterval(min(settings.retryMax, settings.retryInitial * pow(2, Double(min(due.attempts, 30)))))
        }
        if delivered {
            logger.info("webhook delivered", metadata: ["event": "\(due.eventID)", "type": "\(due.type)"])
        } else {
            logger.warning("webhook not delivered", metadata: ["event": "\(due.eventID)", "type": "\(due.type)", "error": "\(failure ?? "")",
                                                               "retry": "\(next.map { "\($0)" } ?? "given up")"])
        }
        _ = try? await threadPool.runToCompletion { [store, status, failure, next] in
            try store.recordWebhookDelivery(due.id, delivered: delivered, status: status, error: failure, nextAttempt: next, now: now)
        }
    }

    /// `v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes, of `id.timestamp.body`.
    static func signature(secret: String, id: String, timestamp: String, body: [UInt8]) throws -> String {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) else {
            throw ConfigurationError("a webhook's stored secret is not in the whsec_ form")
        }
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The event as JSON: `type`, `timestamp` (when it happened), `data` with the session,
    /// and for `message.received` the message.
    static func payload(_ due: WebhookDue, store: MailStore, maxTextBytes: Int) throws -> [UInt8] {
        try WebhookPayload.encode(type: due.type, timestamp: due.createdAt, sessionID: due.sessionID, queue: due.queue,
                                  message: due.type == "message.received"
                                      ? try due.mailboxPath.flatMap { path in try due.uid.flatMap { uid in
                                          try store.webhookMessage(mailboxPath: path, uid: uid, maximumBytes: maxTextBytes) } }
                                      : nil,
                                  reply: due.outboundID.map { WebhookPayload.Reply(outboundId: $0, recipient: due.recipient, serverReply: due.detail) },
                                  store: store)
    }
}

/// The JSON body of an event (Standard Webhooks' `type`, `timestamp`, `data`).
struct WebhookPayload: Encodable {
    struct Data: Encodable {
        var sessionId: Int64?
        var queue: String?
        var address: String?
        var customer: String?
        var sessionStatus: String?
        var subject: String?
        var message: WebhookMessage?
        var reply: Reply?
    }

    /// A reply event's reply: the outbound message, the recipient, the server's last answer.
    struct Reply: Encodable {
        var outboundId: Int64
        var recipient: String?
        var serverReply: String?
    }

    var type: String
    var timestamp: Date
    var data: Data

    /// The JSON of an event: the session's address, customer, status and subject, and the
    /// message (header fields, decoded text and HTML, attachments) or the reply it is about.
    static func encode(type: String, timestamp: Date, sessionID: Int64?, queue: String?, message: WebhookMessage?,
                       reply: Reply? = nil, store: MailStore) throws -> [UInt8] {
        BlockingWork.assertAllowedHere("building an event's payload")
        var data = Data(sessionId: sessionID, queue: queue, message: message, reply: reply)
        if let id = sessionID, let session = try? store.sessionRecord(id: id) {
            data.address = session.address
            data.customer = session.customer
            data.sessionStatus = session.status
            data.subject = session.subject
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(WebhookPayload(type: type, timestamp: timestamp, data: data)))
    }
}
