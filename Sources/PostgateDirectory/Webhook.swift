import Foundation
import PostgateIndex
import PostgateMaildir

/// A webhook subscription as listed; its signing secret is never shown after it was made.
///
/// JSON keys: `id`, `name`, `url`, `events`, `enabled`, `createdAt`, `pending`, `failed`.
public struct WebhookRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var name: String
    public var url: String
    public var events: [String]
    public var enabled: Bool
    public var createdAt: Date
    /// Deliveries waiting (due or backing off) and given up.
    public var pending: Int
    public var failed: Int

    /// Every event type a subscription may take.
    public static let eventTypes = WebhookEventType.allCases.map(\.rawValue)
}

/// One event's delivery to one subscription.
///
/// JSON keys: `id`, `webhook`, `eventId`, `type`, `sessionId`, `state` (pending, delivered,
/// failed), `attempts`, `createdAt`, `nextAttemptAt`, `lastStatus`, `lastError`, `deliveredAt`.
public struct WebhookDeliveryRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var webhook: String
    public var eventId: String
    public var type: String
    public var sessionId: Int64?
    public var state: String
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date
    public var lastStatus: Int?
    public var lastError: String?
    public var deliveredAt: Date?
}

/// A delivery the worker is to make now: its event, and where and how to send it.
public struct WebhookDue: Sendable, Equatable {
    public var id: Int64
    public var webhookID: Int64
    public var url: String
    public var sealedSecret: SealedSecret
    public var eventID: String
    public var type: String
    public var sessionID: Int64?
    public var mailboxPath: String?
    public var uid: UInt32?
    public var queue: String?
    /// For reply events: the outbound message, the recipient and the server's last answer.
    public var outboundID: Int64?
    public var recipient: String?
    public var detail: String?
    public var createdAt: Date
    public var attempts: Int
}

/// Webhook subscriptions and their outbox.
package protocol WebhookDirectory {
    func addWebhook(name: String, url: String, events: [String], sealedSecret: SealedSecret, now: Date) throws(StoreError) -> WebhookRecord
    func webhooks() throws(StoreError) -> [WebhookRecord]
    func removeWebhook(name: String) throws(StoreError)
    func webhookDeliveries(webhook: String?, limit: Int) throws(StoreError) -> [WebhookDeliveryRecord]
    func dueWebhookDeliveries(now: Date, limit: Int) throws(StoreError) -> [WebhookDue]
    func recordWebhookDelivery(_ id: Int64, delivered: Bool, status: Int?, error: String?, nextAttempt: Date?, now: Date) throws(StoreError)
    func retryWebhookDeliveries(webhook: String, now: Date) throws(StoreError) -> Int
}
