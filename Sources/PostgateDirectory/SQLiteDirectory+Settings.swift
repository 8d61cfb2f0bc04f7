import Foundation
import GRDB
import PostgateMessage
import PostgateSessions
import PostgateMaildir

extension SQLiteDirectory {
    package func settings(of address: EmailAddress) throws(StoreError) -> (published: ChannelSettings, draft: ChannelSettings?) {
        try database.read { db in
            let id = try requireAddressID(db, address)
            return (try publishedSettings(db, addressID: id), try draft(db, addressID: id))
        }
    }

    package func editDraft(of address: EmailAddress, _ edit: (inout ChannelSettings) throws(StoreError) -> Void) throws(StoreError) -> ChannelSettings {
        try database.write { db in
            let id = try requireAddressID(db, address)
            let published = try publishedSettings(db, addressID: id)
            var settings = try draft(db, addressID: id) ?? published
            try edit(&settings)
            settings = try checked(db, settings, addressID: id, owner: address)
            if settings == published {
                try db.execute(cachedSQL: "DELETE FROM address_draft WHERE address_id = ?", arguments: [id])
            } else {
                try db.execute(cachedSQL: "INSERT OR REPLACE INTO address_draft (address_id, settings, updated_at) VALUES (?, ?, ?)",
                               arguments: [id, try Self.encode(settings), Date().timeIntervalSince1970])
            }
            return settings
        }
    }

    package func discardDraft(of address: EmailAddress) throws(StoreError) {
        try database.write { db in
            let id = try requireAddressID(db, address)
            try db.execute(cachedSQL: "DELETE FROM address_draft WHERE address_id = ?", arguments: [id])
        }
    }

    package func publish(_ addresses: [EmailAddress]?, comment: String) throws(StoreError) -> Publication {
        try database.write { db in
            let ids = try addresses.map { try $0.map { try requireAddressID(db, $0) } }
                ?? Int64.fetchAll(db, cachedSQL: """
                    SELECT address_id FROM address_draft UNION SELECT address_id FROM gateway WHERE draft IS NOT NULL
                    ORDER BY address_id
                    """)
            var published: [Publication.AddressChanges] = []
            for id in ids {
                let owner = try addressName(db, addressID: id)
                var changes: [ChannelSettings.Change] = []
                var hadDraft = false
                if let draft = try draft(db, addressID: id) {
                    hadDraft = true
                    let before = try publishedSettings(db, addressID: id)
                    let settings = try checked(db, draft, addressID: id, owner: EmailAddress(owner))
                    try apply(db, settings, addressID: id)
                    try db.execute(cachedSQL: "DELETE FROM address_draft WHERE address_id = ?", arguments: [id])
                    changes += settings.changes(from: before)
                }
                // Gateway drafts after the address's, so they are checked against its new usage.
                if let gatewayChanges = try publishGatewayDrafts(db, addressID: id, owner: EmailAddress(owner)) {
                    hadDraft = true
                    changes += gatewayChanges
                }
                if hadDraft { published.append(.init(address: owner, changes: changes)) }
            }
            guard !published.isEmpty else {
                throw StoreError.invalidSetting(addresses == nil
                    ? "nothing to publish: no address or connector has a draft"
                    : "nothing to publish: \(addresses!.map(\.description).joined(separator: ", ")) has no draft")
            }
            let now = Date()
            try db.execute(cachedSQL: "INSERT INTO publication (published_at, comment, changes) VALUES (?, ?, ?)",
                           arguments: [now.timeIntervalSince1970, comment, try Self.encode(published)])
            return Publication(id: db.lastInsertedRowID, publishedAt: now, comment: comment, addresses: published)
        }
    }

    package func publications() throws(StoreError) -> [Publication] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: "SELECT * FROM publication ORDER BY id").map { row in
                Publication(id: row["id"], publishedAt: Date(timeIntervalSince1970: row["published_at"]),
                            comment: row["comment"],
                            addresses: try JSONDecoder().decode([Publication.AddressChanges].self, from: Data((row["changes"] as String).utf8)))
            }
        }
    }

    // MARK: - Reading and writing the columns

    /// The live settings of an address, from its columns and its aliases.
    package func publishedSettings(_ db: Database, addressID: Int64) throws -> ChannelSettings {
        guard let row = try Row.fetchOne(db, cachedSQL: """
            SELECT address.*, queue.name AS queue_name FROM address
            LEFT JOIN queue ON queue.id = address.default_queue_id WHERE address.id = ?
            """, arguments: [addressID]) else { throw StoreError.database(path: database.path, reason: "address #\(addressID) vanished") }
        var s = ChannelSettings()
        s.displayName = row["display_name"]
        s.channelName = row["channel_name"]
        s.calendar = row["calendar"]
        s.blocklistEnabled = row["blocklist_enabled"]
        s.autoReplyKeywords = (try? JSONDecoder().decode([String].self, from: Data((row["auto_reply_keywords"] as String).utf8))) ?? []
        s.autoReplySenders = (try? JSONDecoder().decode([String].self, from: Data((row["auto_reply_senders"] as String).utf8))) ?? []
        s.usage = AddressUsage(rawValue: row["usage"]) ?? .both
        s.enabled = row["enabled"]
        s.sendContactCard = row["send_contact_card"]
        s.contactCard = row["contact_card"]
        s.templateHeaderText = row["template_header_text"]
        s.templateHeaderHTML = row["template_header_html"]
        s.templateFooterText = row["template_footer_text"]
        s.templateFooterHTML = row["template_footer_html"]
        s.defaultQueue = row["queue_name"]
        s.contactCentreAddress = row["contact_centre_address"]
        s.aliases = try aliases(db, addressID: addressID)
        s.sessionMode = SessionMode(rawValue: row["session_mode"]) ?? .channel
        s.allowedSenderDomains = (try? JSONDecoder().decode([String].self, from: Data((row["allowed_sender_domains"] as String).utf8))) ?? []
        s.excludeAutoReplies = row["exclude_auto_replies"]
        s.syncWhenRecipientOnly = row["sync_recipient_only"]
        s.maxTo = row["max_to"]
        s.maxCc = row["max_cc"]
        s.maxBcc = row["max_bcc"]
        s.retentionDays = row["retention_days"]
        s.autoReplyInEnabled = row["auto_reply_in_enabled"]
        s.autoReplyInText = row["auto_reply_in_text"]
        s.autoReplyInHTML = row["auto_reply_in_html"]
        s.autoReplyOutEnabled = row["auto_reply_out_enabled"]
        s.autoReplyOutText = row["auto_reply_out_text"]
        s.autoReplyOutHTML = row["auto_reply_out_html"]
        s.autoReplyPeriodHours = row["auto_reply_period_hours"]
        s.autoReplyHourlyCap = row["auto_reply_hourly_cap"]
        s.personalReplies = row["personal_replies"]
        s.lastAgentDays = row["last_agent_days"]
        s.transferAfterSeconds = row["transfer_after_seconds"]
        s.transferQueue = row["transfer_queue"]
        s.closingText = row["closing_text"]
        s.closingHTML = row["closing_html"]
        return s
    }

    /// Writes validated settings to the columns and makes the alias rows match.
    package func apply(_ db: Database, _ s: ChannelSettings, addressID: Int64) throws {
        let queueID = try s.defaultQueue.map { try requireQueueID(db, $0) }
        try db.execute(cachedSQL: """
            UPDATE address SET display_name = ?, usage = ?, enabled = ?, send_contact_card = ?, contact_card = ?,
                template_header_text = ?, template_header_html = ?, template_footer_text = ?, template_footer_html = ?,
                default_queue_id = ?, contact_centre_address = ?, session_mode = ?, allowed_sender_domains = ?,
                exclude_auto_replies = ?, sync_recipient_only = ?, max_to = ?, max_cc = ?, max_bcc = ?, retention_days = ?,
                channel_name = ?, blocklist_enabled = ?, auto_reply_keywords = ?, auto_reply_senders = ?, calendar = ?,
                auto_reply_in_enabled = ?, auto_reply_in_text = ?, auto_reply_in_html = ?,
                auto_reply_out_enabled = ?, auto_reply_out_text = ?, auto_reply_out_html = ?,
                auto_reply_period_hours = ?, auto_reply_hourly_cap = ?, personal_replies = ?,
                last_agent_days = ?, transfer_after_seconds = ?, transfer_queue = ?, closing_text = ?, closing_html = ?
            WHERE id = ?
            """, arguments: [
                s.displayName, s.usage.rawValue, s.enabled, s.sendContactCard, s.contactCard,
                s.templateHeaderText, s.templateHeaderHTML, s.templateFooterText, s.templateFooterHTML,
                queueID, s.contactCentreAddress, s.sessionMode.rawValue, try Self.encode(s.allowedSenderDomains),
                s.excludeAutoReplies, s.syncWhenRecipientOnly, s.maxTo, s.maxCc, s.maxBcc, s.retentionDays,
                s.channelName, s.blocklistEnabled, try Self.encode(s.autoReplyKeywords), try Self.encode(s.autoReplySenders),
                s.calendar, s.autoReplyInEnabled, s.autoReplyInText, s.autoReplyInHTML,
                s.autoReplyOutEnabled, s.autoReplyOutText, s.autoReplyOutHTML, s.autoReplyPeriodHours, s.autoReplyHourlyCap,
                s.personalReplies, s.lastAgentDays, s.transferAfterSeconds, s.transferQueue, s.closingText, s.closingHTML,
                addressID,
            ])
        try db.execute(cachedSQL: "DELETE FROM alias WHERE address_id = ?", arguments: [addressID])
        for alias in s.aliases {
            try insertAlias(db, EmailAddress(alias), addressID: addressID)
        }
    }

    /// Validates `settings` against the rules and the directory: the queue exists, every
    /// alias is hosted and free (or already this address's). Returns the canonical form.
    /// With `checksVerification` (all but `postgate import`), enabling an address on a custom
    /// domain that asks for verification needs it verified.
    package func checked(_ db: Database, _ settings: ChannelSettings, addressID: Int64, owner: EmailAddress,
                         checksVerification: Bool = true) throws -> ChannelSettings {
        var settings = try settings.validated(for: owner)
        if let queue = settings.defaultQueue {
            guard let id = try queueID(db, queue) else { throw StoreError.queueNotFound(queue) }
            settings.defaultQueue = try String.fetchOne(db, cachedSQL: "SELECT name FROM queue WHERE id = ?", arguments: [id])
        }
        var aliases: [String] = []
        for text in settings.aliases {
            let alias: EmailAddress
            do { alias = try EmailAddress(text).canonicalAddress } catch {
                throw StoreError.invalidSetting("alias '\(text)' is not a valid address: \(error.description)")
            }
            guard alias != owner.canonicalAddress else { throw StoreError.addressGivenTwice(alias) }
            _ = try requireDomainID(db, alias.domain)
            switch try usage(db, of: alias) {
            case nil: break
            case .alias(let of) where of.canonicalAddress == owner.canonicalAddress: break
            case let other?: throw StoreError.addressInUse(alias, as: other)
            }
            if !aliases.contains(alias.description) { aliases.append(alias.description) }
        }
        settings.aliases = aliases
        if let name = settings.channelName { try checkChannelNameFree(db, name, addressID: addressID) }
        if let calendar = settings.calendar {
            settings.calendar = calendar.isEmpty ? nil : try requireCalendar(db, calendar)
        }
        if let queue = settings.transferQueue {
            guard let id = try queueID(db, queue) else {
                throw StoreError.invalidSetting("the transfer queue '\(queue)' does not exist (postgate queue list)")
            }
            settings.transferQueue = try String.fetchOne(db, cachedSQL: "SELECT name FROM queue WHERE id = ?", arguments: [id])
        }
        if settings.enabled, checksVerification, let row = try Row.fetchOne(db, cachedSQL: "SELECT enabled, domain_id FROM address WHERE id = ?", arguments: [addressID]),
           !(row["enabled"] as Bool), let blocker = try verificationBlocker(db, domainID: row["domain_id"]) {
            throw StoreError.invalidSetting("\(owner) cannot be enabled: \(blocker)")
        }
        try checkGatewaysFit(db, usage: settings.usage, addressID: addressID, owner: owner)
        return settings
    }

    /// A channel name is the address's alone (whatever the case), published or drafted by
    /// another address; so a swap of names takes two publications.
    private func checkChannelNameFree(_ db: Database, _ name: String, addressID: Int64) throws {
        if let holder = try Int64.fetchOne(db, cachedSQL: """
            SELECT id FROM address WHERE channel_name = ? COLLATE NOCASE AND id != ?
            """, arguments: [name, addressID]) {
            throw StoreError.invalidSetting("channel name '\(name)' is taken by \(try addressName(db, addressID: holder))")
        }
        for row in try Row.fetchAll(db, cachedSQL: "SELECT address_id, settings FROM address_draft WHERE address_id != ?", arguments: [addressID]) {
            let other = try decodeDraft(row["settings"])
            if let taken = other.channelName, taken.lowercased() == name.lowercased() {
                throw StoreError.invalidSetting("channel name '\(name)' is in the draft of \(try addressName(db, addressID: row["address_id"]))")
            }
        }
    }

    func draft(_ db: Database, addressID: Int64) throws -> ChannelSettings? {
        try String.fetchOne(db, cachedSQL: "SELECT settings FROM address_draft WHERE address_id = ?", arguments: [addressID])
            .map(decodeDraft)
    }

    package func decodeDraft(_ text: String) throws -> ChannelSettings {
        do { return try JSONDecoder().decode(ChannelSettings.self, from: Data(text.utf8)) } catch {
            throw StoreError.database(path: database.path, reason: "a stored draft is unreadable: \(error)")
        }
    }

    package static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
