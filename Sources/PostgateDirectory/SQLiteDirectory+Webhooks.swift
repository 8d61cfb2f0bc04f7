import Foundation
import GRDB
import PostgateIndex
import PostgateMaildir

extension SQLiteDirectory: WebhookDirectory {
    package func addWebhook(name: String, url: String, events: [String], sealedSecret: SealedSecret, now: Date) throws(StoreError) -> WebhookRecord {
        try ChannelSettings.checkChannelName(name, what: "webhook name")
        try Self.checkEventURL(url, what: "webhook URL")
        let types = events.isEmpty ? WebhookRecord.eventTypes : events
        for type in types where !WebhookRecord.eventTypes.contains(type) {
            throw .invalidSetting("\(type) is not an event type; the types are \(WebhookRecord.eventTypes.joined(separator: ", "))")
        }
        let stored = Array(Set(types)).sorted()
        return try database.write(publishingGeneration: false) { db in
            if try Bool.fetchOne(db, cachedSQL: "SELECT 1 FROM webhook WHERE name = ?", arguments: [name]) == true {
                throw StoreError.invalidSetting("there is already a webhook named \(name); remove it first")
            }
            try db.execute(cachedSQL: "INSERT INTO webhook (name, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, url, stored.joined(separator: ","), sealedSecret.sealed, now.timeIntervalSince1970])
            return WebhookRecord(id: db.lastInsertedRowID, name: name, url: url, events: stored, enabled: true, createdAt: now,
                                 pending: 0, failed: 0)
        }
    }

    package func webhooks() throws(StoreError) -> [WebhookRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT webhook.*,
                    (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = webhook.id AND o.state = 'pending') AS pending,
                    (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = webhook.id AND o.state = 'failed') AS failed
                FROM webhook ORDER BY name
                """).map { row in
                WebhookRecord(id: row["id"], name: row["name"], url: row["url"],
                              events: (row["events"] as String).split(separator: ",").map(String.init), enabled: row["enabled"],
                              createdAt: Date(timeIntervalSince1970: row["created_at"]), pending: row["pending"], failed: row["failed"])
            }
        }
    }

    /// Removes a subscription and its outbox (what was not delivered is dropped with it).
    package func removeWebhook(name: String) throws(StoreError) {
        try database.write(publishingGeneration: false) { db in
            guard let id = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM webhook WHERE name = ?", arguments: [name]) else {
                throw StoreError.invalidSetting("there is no webhook named \(name); see `postgate webhook list`")
            }
            try db.execute(cachedSQL: "DELETE FROM webhook_outbox WHERE webhook_id = ?", arguments: [id])
            try db.execute(cachedSQL: "DELETE FROM webhook WHERE id = ?", arguments: [id])
        }
    }

    package func webhookDeliveries(webhook: String?, limit: Int) throws(StoreError) -> [WebhookDeliveryRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT o.*, w.name FROM webhook_outbox o JOIN webhook w ON w.id = o.webhook_id
                WHERE ? IS NULL OR w.name = ? ORDER BY o.id DESC LIMIT ?
                """, arguments: [webhook, webhook, limit]).map { row in
                WebhookDeliveryRecord(
                    id: row["id"], webhook: row["name"], eventId: row["event_id"], type: row["event_type"], sessionId: row["session_id"],
                    state: row["state"], attempts: row["attempts"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                    nextAttemptAt: Date(timeIntervalSince1970: row["next_attempt_at"]), lastStatus: row["last_status"],
                    lastError: row["last_error"], deliveredAt: (row["delivered_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// Deliveries due at `now`, oldest first, at most one per subscription and session: the
    /// oldest one still pending, so a session's events reach a subscriber in their order.
    package func dueWebhookDeliveries(now: Date, limit: Int) throws(StoreError) -> [WebhookDue] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT o.*, w.url, w.secret FROM webhook_outbox o JOIN webhook w ON w.id = o.webhook_id
                WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND w.enabled = 1
                  AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.state = 'pending' AND p.webhook_id = o.webhook_id
                                  AND p.session_id IS o.session_id AND p.id < o.id)
                ORDER BY o.id LIMIT ?
                """, arguments: [now.timeIntervalSince1970, limit]).map { row in
                WebhookDue(id: row["id"], webhookID: row["webhook_id"], url: row["url"], sealedSecret: SealedSecret(sealed: row["secret"]),
                           eventID: row["event_id"], type: row["event_type"], sessionID: row["session_id"],
                           mailboxPath: row["mailbox_path"], uid: (row["uid"] as Int64?).map { UInt32(truncatingIfNeeded: $0) },
                           queue: row["queue"], outboundID: row["outbound_id"], recipient: row["recipient"], detail: row["detail"],
                           createdAt: Date(timeIntervalSince1970: row["created_at"]), attempts: row["attempts"])
            }
        }
    }

    /// Records one attempt: delivered, or failed with the next attempt's time (nil: given up).
    package func recordWebhookDelivery(_ id: Int64, delivered: Bool, status: Int?, error: String?, nextAttempt: Date?, now: Date) throws(StoreError) {
        try database.write(publishingGeneration: false) { db in
            let state = delivered ? "delivered" : (nextAttempt == nil ? "failed" : "pending")
            try db.execute(cachedSQL: """
                UPDATE webhook_outbox SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?,
                    next_attempt_at = ?, delivered_at = ? WHERE id = ?
                """, arguments: [state, status, error.map { String($0.prefix(500)) }, (nextAttempt ?? now).timeIntervalSince1970,
                                 delivered ? now.timeIntervalSince1970 : nil, id])
        }
    }

    /// Makes a subscription's waiting and given-up deliveries due now.
    package func retryWebhookDeliveries(webhook: String, now: Date) throws(StoreError) -> Int {
        try database.write(publishingGeneration: false) { db in
            guard let id = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM webhook WHERE name = ?", arguments: [webhook]) else {
                throw StoreError.invalidSetting("there is no webhook named \(webhook); see `postgate webhook list`")
            }
            try db.execute(cachedSQL: """
                UPDATE webhook_outbox SET state = 'pending', next_attempt_at = ? WHERE webhook_id = ? AND state IN ('pending', 'failed')
                """, arguments: [now.timeIntervalSince1970, id])
            return db.changesCount
        }
    }
}

extension SQLiteDirectory {
    /// Where events go (webhooks, bots): an http or https URL with a host and no user or
    /// password, https unless the host is loopback, since events carry customers' mail.
    static func checkEventURL(_ url: String, what: String) throws(StoreError) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = parsed.host, !host.isEmpty, parsed.user == nil, parsed.password == nil else {
            throw .invalidSetting("\(what) \(url) is not an http:// or https:// URL with a host (and without a user or password)")
        }
        if scheme == "http", !["127.0.0.1", "::1", "localhost", "[::1]"].contains(host.lowercased()) {
            throw .invalidSetting("\(what) \(url) must be https:// (plain http is allowed only to a loopback host): events carry customers' mail")
        }
    }
}
