import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateStore

/// Webhook subscriptions and bots, as `postgate webhook` and `postgate bot` make them: the
/// same store calls, a signing secret shown once in the answer that made it (sealed at rest
/// with the gateway's secret key), never afterwards; each change in the audit log.
extension APIHandler {
    func listWebhooks(_ input: Operations.ListWebhooks.Input) async throws -> Operations.ListWebhooks.Output {
        let hooks = try await blocking { store throws(StoreError) in try store.webhooks() }
        let page = try Pagination.page(hooks.sorted { $0.name < $1.name }, key: \.name, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.webhook), nextCursor: page.next))))
    }

    func addWebhook(_ input: Operations.AddWebhook.Input) async throws -> Operations.AddWebhook.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let keyPath = secretKeyPath
        let made = try await blocking { store throws(StoreError) -> (WebhookRecord, String)? in
            // Names compare without case, as the store keeps them.
            if try store.webhooks().contains(where: { $0.name.lowercased() == body.name.lowercased() }) { return nil }
            return try store.addWebhook(name: body.name, url: body.url, events: body.events ?? [], secretKeyPath: keyPath)
        }
        guard let (record, secret) = made else { throw APIProblem.conflict("there is already a webhook named \(body.name); remove it first") }
        try await audit("webhook.add", record.name, record.url)
        return .created(.init(body: .json(.init(secret: secret, webhook: Self.webhook(record)))))
    }

    func getWebhook(_ input: Operations.GetWebhook.Input) async throws -> Operations.GetWebhook.Output {
        let (name, limit) = (input.path.name, input.query.limit ?? 50)
        guard (1...1000).contains(limit) else { throw APIProblem.badRequest("limit must be 1 to 1000, not \(limit)") }
        let found = try await blocking { store throws(StoreError) -> (WebhookRecord, [WebhookDeliveryRecord])? in
            guard let record = try Self.webhook(named: name, in: store) else { return nil }
            return (record, try store.webhookDeliveries(webhook: record.name, limit: limit))
        }
        guard let (record, deliveries) = found else { throw Self.noWebhook(name) }
        return .ok(.init(body: .json(.init(webhook: Self.webhook(record), deliveries: deliveries.map(Self.delivery)))))
    }

    func removeWebhook(_ input: Operations.RemoveWebhook.Input) async throws -> Operations.RemoveWebhook.Output {
        let name = input.path.name
        let removed = try await blocking { store throws(StoreError) -> String? in
            guard let record = try Self.webhook(named: name, in: store) else { return nil }
            try store.removeWebhook(name: record.name)
            return record.name
        }
        guard let removed else { throw Self.noWebhook(name) }
        try await audit("webhook.remove", removed)
        return .noContent(.init())
    }

    func retryWebhook(_ input: Operations.RetryWebhook.Input) async throws -> Operations.RetryWebhook.Output {
        let name = input.path.name
        let retried = try await blocking { store throws(StoreError) -> (String, Int)? in
            guard let record = try Self.webhook(named: name, in: store) else { return nil }
            return (record.name, try store.retryWebhookDeliveries(webhook: record.name))
        }
        guard let (webhook, due) = retried else { throw Self.noWebhook(name) }
        try await audit("webhook.retry", webhook, "\(due) deliveries due now")
        return .ok(.init(body: .json(.init(due: due))))
    }

    /// The subscription of that name (compared without case), or nil.
    private static func webhook(named name: String, in store: MailStore) throws(StoreError) -> WebhookRecord? {
        try store.webhooks().first { $0.name.lowercased() == name.lowercased() }
    }

    private static func noWebhook(_ name: String) -> APIProblem {
        .notFound("there is no webhook named \(name); see GET /v1/webhooks")
    }

    static func webhook(_ w: WebhookRecord) -> Components.Schemas.Webhook {
        .init(name: w.name, url: w.url, events: w.events, enabled: w.enabled, createdAt: w.createdAt, pending: w.pending, failed: w.failed)
    }

    static func delivery(_ d: WebhookDeliveryRecord) -> Components.Schemas.WebhookDelivery {
        .init(id: d.id, eventId: d.eventId, _type: d.type, sessionId: d.sessionId, state: .init(rawValue: d.state) ?? .pending,
              attempts: d.attempts, createdAt: d.createdAt, nextAttemptAt: d.nextAttemptAt, lastStatus: d.lastStatus,
              lastError: d.lastError, deliveredAt: d.deliveredAt)
    }

    // MARK: - Bots

    func getBot(_ input: Operations.GetBot.Input) async throws -> Operations.GetBot.Output {
        let bot = try await botRecord(input.path.email)
        return .ok(.init(headers: .init(eTag: EntityTag.respond(bot)), body: .json(Self.bot(bot))))
    }

    /// Attaches or changes the bot; with `If-Match`, only over the version the client read
    /// (`*` matches any existing bot).
    func setBot(_ input: Operations.SetBot.Input) async throws -> Operations.SetBot.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let keywords = body.transferKeywords ?? []
        if keywords.contains(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            throw APIProblem.badRequest("transferKeywords must be one line each, without control characters")
        }
        if let ifMatch = input.headers.ifMatch {
            let current = try await blocking { store throws(StoreError) in try store.bot(of: email)?.0 }
            guard let current else {
                throw APIProblem(status: .preconditionFailed, kind: "precondition-failed",
                                 detail: "\(email.canonical) has no bot; If-Match names a version of an existing one")
            }
            try EntityTag.check(ifMatch, against: EntityTag.of(current))
        }
        let keyPath = secretKeyPath
        let (record, secret) = try await blocking { store throws(StoreError) in
            try store.setBot(address: email, url: body.url, timeout: body.timeout ?? 10, transferKeywords: keywords,
                             newSecret: body.newSecret ?? false, secretKeyPath: keyPath)
        }
        try await audit("bot.set", record.address, record.url)
        return .ok(.init(headers: .init(eTag: EntityTag.respond(record)), body: .json(.init(bot: Self.bot(record), secret: secret))))
    }

    func removeBot(_ input: Operations.RemoveBot.Input) async throws -> Operations.RemoveBot.Output {
        let bot = try await botRecord(input.path.email)
        try EntityTag.check(input.headers.ifMatch, against: EntityTag.of(bot))
        let email = try Self.emailAddress(bot.address, refusal: .notFound)
        try await blocking { store throws(StoreError) in try store.removeBot(address: email) }
        try await audit("bot.remove", bot.address)
        return .noContent(.init())
    }

    func listBotDecisions(_ input: Operations.ListBotDecisions.Input) async throws -> Operations.ListBotDecisions.Output {
        let limit = input.query.limit ?? 50
        guard (1...1000).contains(limit) else { throw APIProblem.badRequest("limit must be 1 to 1000, not \(limit)") }
        let address = try input.query.address.map { try Self.emailAddress($0, refusal: .notFound) }
        let turns = try await blocking { store throws(StoreError) in try store.botTurns(address: address, limit: limit) }
        return .ok(.init(body: .json(turns.map { t in
            .init(id: t.id, eventId: t.eventId, mailbox: t.mailbox, uid: Int64(t.uid), sessionId: t.sessionId,
                  state: .init(rawValue: t.state) ?? .pending, detail: t.detail, createdAt: t.createdAt, decidedAt: t.decidedAt)
        })))
    }

    /// The address's bot; 404 when the address has none.
    private func botRecord(_ text: String) async throws -> BotRecord {
        let email = try Self.emailAddress(text, refusal: .notFound)
        let bot = try await blocking { store throws(StoreError) in try store.bot(of: email)?.0 }
        guard let bot else { throw APIProblem.notFound("\(email.canonical) has no bot; attach one with PUT /v1/addresses/\(email.canonical)/bot") }
        return bot
    }

    static func bot(_ b: BotRecord) -> Components.Schemas.Bot {
        .init(address: b.address, url: b.url, timeout: b.timeout, transferKeywords: b.transferKeywords, createdAt: b.createdAt)
    }
}
