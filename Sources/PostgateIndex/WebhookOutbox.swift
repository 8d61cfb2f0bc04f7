import Foundation
import GRDB

/// What happened to a conversation, as webhook subscribers are told.
package enum WebhookEventType: String, Sendable, CaseIterable {
    /// A customer's message was stored and joined a session.
    case messageReceived = "message.received"
    /// A customer's message started a session.
    case sessionOpened = "session.opened"
    /// A session was closed: the customer started a new one, or it ended without their reply.
    case sessionClosed = "session.closed"
    /// A session was moved to another queue (by an administrator or for want of an agent's reply).
    case sessionTransferred = "session.transferred"
    /// A reply (an agent's, a bot's or an auto-reply) reached a recipient's server.
    case replyDelivered = "reply.delivered"
    /// A reply failed for a recipient for good (refused, or its queue lifetime over).
    case replyFailed = "reply.failed"
}

/// One event to write to the outbox, for every subscription that takes its type.
package struct WebhookEvent: Sendable, Equatable {
    package var type: WebhookEventType
    package var sessionID: Int64?
    package var mailboxPath: String?
    package var uid: UInt32?
    package var queue: String?
    /// For reply events: the outbound message, the recipient, and the server's last answer.
    package var outboundID: Int64?
    package var recipient: String?
    package var detail: String?

    package init(type: WebhookEventType, sessionID: Int64?, mailboxPath: String? = nil, uid: UInt32? = nil, queue: String? = nil,
                 outboundID: Int64? = nil, recipient: String? = nil, detail: String? = nil) {
        self.type = type
        self.sessionID = sessionID
        self.mailboxPath = mailboxPath
        self.uid = uid
        self.queue = queue
        self.outboundID = outboundID
        self.recipient = recipient
        self.detail = detail
    }
}

/// The outbox rows an event makes, written with the change it reports.
package enum WebhookOutbox {
    /// Adds a row per event and per enabled subscription that takes its type. Costs one
    /// indexed read when nothing subscribes.
    package static func enqueue(_ db: Database, _ events: [WebhookEvent], now: Date) throws {
        guard !events.isEmpty else { return }
        let subscriptions = try Row.fetchAll(db, cachedSQL: "SELECT id, events FROM webhook WHERE enabled = 1")
        guard !subscriptions.isEmpty else { return }
        for subscription in subscriptions {
            let id: Int64 = subscription["id"]
            let types = Set((subscription["events"] as String).split(separator: ",").map(String.init))
            for event in events where types.contains(event.type.rawValue) {
                try db.execute(cachedSQL: """
                    INSERT INTO webhook_outbox (webhook_id, event_id, event_type, session_id, mailbox_path, uid, queue, outbound_id,
                        recipient, detail, created_at, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, "evt_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""),
                                     event.type.rawValue, event.sessionID, event.mailboxPath, event.uid.map { Int64($0) }, event.queue,
                                     event.outboundID, event.recipient, event.detail.map { String($0.prefix(500)) },
                                     now.timeIntervalSince1970, now.timeIntervalSince1970])
            }
        }
    }
}
