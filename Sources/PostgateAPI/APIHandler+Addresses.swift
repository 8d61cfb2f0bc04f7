import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateSessions
import PostgateStore

extension APIHandler {
    func listAddresses(_ input: Operations.ListAddresses.Input) async throws -> Operations.ListAddresses.Output {
        let domain = try input.query.domain.map { try Self.domainName($0, refusal: .notFound) }
        let rows = try await blocking { store throws(StoreError) in
            try store.addresses(domain: domain).map { record throws(StoreError) in
                (record, try store.settings(of: try Self.storedAddress(record.email)).draft)
            }
        }
        let page = try Pagination.page(rows.sorted { $0.0.email < $1.0.email }, key: \.0.email, limit: input.query.limit, cursor: input.query.cursor)
        let items = try page.items.map { row in try Self.address(row.0, draft: row.1, pending: row.1?.changes(from: row.0.settings) ?? []) }
        return .ok(.init(body: .json(.init(items: items, nextCursor: page.next))))
    }

    func addAddress(_ input: Operations.AddAddress.Input) async throws -> Operations.AddAddress.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let email = try Self.emailAddress(body.email, refusal: .invalid)
        var settings = ChannelSettings()
        settings.displayName = body.displayName.flatMap { $0.isEmpty ? nil : $0 }
        settings.defaultQueue = body.queue
        let (limits, initial) = (self.limits, settings)
        let record = try await blocking { store throws(StoreError) in try store.addAddress(email, settings: initial, limits: limits) }
        try await audit("address.add", record.email)
        return .created(.init(headers: .init(eTag: EntityTag.respond(record.settings)),
                              body: .json(try Self.address(record, draft: nil, pending: []))))
    }

    func getAddress(_ input: Operations.GetAddress.Input) async throws -> Operations.GetAddress.Output {
        let (record, draft) = try await addressRecord(input.path.email)
        return .ok(.init(headers: .init(eTag: EntityTag.respond(draft ?? record.settings)),
                         body: .json(try Self.address(record, draft: draft, pending: draft?.changes(from: record.settings) ?? []))))
    }

    func removeAddress(_ input: Operations.RemoveAddress.Input) async throws -> Operations.RemoveAddress.Output {
        let (record, draft) = try await addressRecord(input.path.email)
        try EntityTag.check(input.headers.ifMatch, against: EntityTag.of(draft ?? record.settings))
        let email = try Self.emailAddress(record.email, refusal: .invalid)
        try await blocking { store throws(StoreError) in try store.removeAddress(email) }
        try await audit("address.remove", record.email)
        return .noContent(.init())
    }

    /// Replaces the draft with the body, checked as a whole; the ETag is compared inside the
    /// same transaction, so two clients that read the same version cannot both write.
    func putAddressDraft(_ input: Operations.PutAddressDraft.Input) async throws -> Operations.PutAddressDraft.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let (record, _) = try await addressRecord(input.path.email)
        let email = try Self.emailAddress(record.email, refusal: .invalid)
        let wanted = Self.settings(body)
        let ifMatch = input.headers.ifMatch
        let (saved, current) = try await blocking { store throws(StoreError) -> (ChannelSettings, String?) in
            var mismatch: String?
            let saved = try store.editDraft(of: email) { settings in
                let current = EntityTag.of(settings)
                if (try? EntityTag.check(ifMatch, against: current)) == nil {
                    mismatch = current
                } else {
                    settings = wanted
                }
            }
            return (saved, mismatch)
        }
        if let current { throw APIProblem.preconditionFailed(current) }
        let changes = saved.changes(from: record.settings)
        try await audit("address.draft", record.email, changes.isEmpty ? "nothing pending" : changes.map(\.field).joined(separator: ", "))
        let draft = changes.isEmpty ? nil : saved
        return .ok(.init(headers: .init(eTag: EntityTag.respond(saved)), body: .json(try Self.address(record, draft: draft, pending: changes))))
    }

    func discardAddressDraft(_ input: Operations.DiscardAddressDraft.Input) async throws -> Operations.DiscardAddressDraft.Output {
        let (record, draft) = try await addressRecord(input.path.email)
        try EntityTag.check(input.headers.ifMatch, against: EntityTag.of(draft ?? record.settings))
        let email = try Self.emailAddress(record.email, refusal: .invalid)
        try await blocking { store throws(StoreError) in try store.discardDraft(of: email) }
        if draft != nil { try await audit("address.discard", record.email) }
        return .noContent(.init())
    }

    func publishAddress(_ input: Operations.PublishAddress.Input) async throws -> Operations.PublishAddress.Output {
        let (record, draft) = try await addressRecord(input.path.email)
        try EntityTag.check(input.headers.ifMatch, against: EntityTag.of(draft ?? record.settings))
        var comment = "published through the API by \(APICaller.actor)"
        if case .json(let body) = input.body, let given = body.comment, !given.isEmpty { comment = given }
        let email = try Self.emailAddress(record.email, refusal: .invalid)
        let publication = try await blocking { [comment] store throws(StoreError) in try store.publish([email], comment: comment) }
        try await audit("address.publish", record.email,
                        "publication \(publication.id): " + publication.addresses.flatMap { $0.changes.map(\.field) }.joined(separator: ", "))
        return .ok(.init(body: .json(.init(
            id: publication.id, publishedAt: publication.publishedAt, comment: publication.comment,
            addresses: publication.addresses.map { .init(address: $0.address, changes: $0.changes.map(Self.change)) }))))
    }

    /// The address (not an alias) and its draft.
    private func addressRecord(_ text: String) async throws -> (AddressRecord, ChannelSettings?) {
        let email = try Self.emailAddress(text, refusal: .notFound)
        return try await blocking { store throws(StoreError) in
            guard let record = try store.address(email) else { throw .addressNotFound(email) }
            guard record.email == email.canonical else { throw .notAnAddress(email, aliasOf: try Self.storedAddress(record.email)) }
            return (record, try store.settings(of: email).draft)
        }
    }

    static func emailAddress(_ text: String, refusal: NameRefusal) throws -> EmailAddress {
        do { return try EmailAddress(text) } catch {
            let detail = "\(text) is not an email address: \(error)"
            throw refusal == .invalid ? APIProblem.invalid(detail) : APIProblem.notFound(detail)
        }
    }

    /// An address the store gave back, so always well formed.
    static func storedAddress(_ text: String) throws(StoreError) -> EmailAddress {
        do { return try EmailAddress(text) } catch { throw .invalidSetting("\(text) is not an email address: \(error)") }
    }

    static func address(_ record: AddressRecord, draft: ChannelSettings?, pending: [ChannelSettings.Change]) throws -> Components.Schemas.Address {
        .init(email: record.email, domainKind: Components.Schemas.DomainKind(rawValue: record.domainKind.rawValue) ?? .hosted,
              mailboxPath: record.mailboxPath, messageCount: record.messageCount, createdAt: record.createdAt,
              settings: settings(record.settings), draft: draft.map(settings), pending: pending.map(change))
    }

    static func change(_ change: ChannelSettings.Change) -> Components.Schemas.SettingChange {
        .init(field: change.field, published: change.published, draft: change.draft)
    }

    static func settings(_ s: ChannelSettings) -> Components.Schemas.AddressSettings {
        .init(displayName: s.displayName, channelName: s.channelName, usage: .init(rawValue: s.usage.rawValue), enabled: s.enabled,
              sendContactCard: s.sendContactCard, contactCard: s.contactCard,
              templateHeaderText: s.templateHeaderText, templateHeaderHTML: s.templateHeaderHTML,
              templateFooterText: s.templateFooterText, templateFooterHTML: s.templateFooterHTML,
              defaultQueue: s.defaultQueue, contactCentreAddress: s.contactCentreAddress, aliases: s.aliases,
              sessionMode: .init(rawValue: s.sessionMode.rawValue), allowedSenderDomains: s.allowedSenderDomains,
              excludeAutoReplies: s.excludeAutoReplies, autoReplyKeywords: s.autoReplyKeywords, autoReplySenders: s.autoReplySenders,
              blocklistEnabled: s.blocklistEnabled, personalReplies: s.personalReplies, syncWhenRecipientOnly: s.syncWhenRecipientOnly,
              maxTo: s.maxTo, maxCc: s.maxCc, maxBcc: s.maxBcc, retentionDays: s.retentionDays, calendar: s.calendar,
              autoReplyInEnabled: s.autoReplyInEnabled, autoReplyInText: s.autoReplyInText, autoReplyInHTML: s.autoReplyInHTML,
              autoReplyOutEnabled: s.autoReplyOutEnabled, autoReplyOutText: s.autoReplyOutText, autoReplyOutHTML: s.autoReplyOutHTML,
              autoReplyPeriodHours: s.autoReplyPeriodHours, autoReplyHourlyCap: s.autoReplyHourlyCap,
              lastAgentDays: s.lastAgentDays, transferAfterSeconds: s.transferAfterSeconds, transferQueue: s.transferQueue,
              closingText: s.closingText, closingHTML: s.closingHTML)
    }

    /// The settings a body names; every key left out takes its default, as in a new address.
    static func settings(_ b: Components.Schemas.AddressSettings) -> ChannelSettings {
        let d = ChannelSettings()
        var s = d
        s.displayName = b.displayName
        s.channelName = b.channelName
        s.usage = b.usage.flatMap { AddressUsage(rawValue: $0.rawValue) } ?? d.usage
        s.enabled = b.enabled ?? d.enabled
        s.sendContactCard = b.sendContactCard ?? d.sendContactCard
        s.contactCard = b.contactCard
        s.templateHeaderText = b.templateHeaderText
        s.templateHeaderHTML = b.templateHeaderHTML
        s.templateFooterText = b.templateFooterText
        s.templateFooterHTML = b.templateFooterHTML
        s.defaultQueue = b.defaultQueue
        s.contactCentreAddress = b.contactCentreAddress
        s.aliases = b.aliases ?? d.aliases
        s.sessionMode = b.sessionMode.flatMap { SessionMode(rawValue: $0.rawValue) } ?? d.sessionMode
        s.allowedSenderDomains = b.allowedSenderDomains ?? d.allowedSenderDomains
        s.excludeAutoReplies = b.excludeAutoReplies ?? d.excludeAutoReplies
        s.autoReplyKeywords = b.autoReplyKeywords ?? d.autoReplyKeywords
        s.autoReplySenders = b.autoReplySenders ?? d.autoReplySenders
        s.blocklistEnabled = b.blocklistEnabled ?? d.blocklistEnabled
        s.personalReplies = b.personalReplies ?? d.personalReplies
        s.syncWhenRecipientOnly = b.syncWhenRecipientOnly ?? d.syncWhenRecipientOnly
        s.maxTo = b.maxTo
        s.maxCc = b.maxCc
        s.maxBcc = b.maxBcc
        s.retentionDays = b.retentionDays
        s.calendar = b.calendar
        s.autoReplyInEnabled = b.autoReplyInEnabled ?? d.autoReplyInEnabled
        s.autoReplyInText = b.autoReplyInText
        s.autoReplyInHTML = b.autoReplyInHTML
        s.autoReplyOutEnabled = b.autoReplyOutEnabled ?? d.autoReplyOutEnabled
        s.autoReplyOutText = b.autoReplyOutText
        s.autoReplyOutHTML = b.autoReplyOutHTML
        s.autoReplyPeriodHours = b.autoReplyPeriodHours
        s.autoReplyHourlyCap = b.autoReplyHourlyCap
        s.lastAgentDays = b.lastAgentDays
        s.transferAfterSeconds = b.transferAfterSeconds
        s.transferQueue = b.transferQueue
        s.closingText = b.closingText
        s.closingHTML = b.closingHTML
        return s
    }
}
