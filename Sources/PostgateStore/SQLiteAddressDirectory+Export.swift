import Foundation
import GRDB
import PostgateMessage

extension SQLiteAddressDirectory {
    func exportChannels() throws(StoreError) -> ChannelExport {
        try database.read { db in
            var export = ChannelExport()
            export.domains = try Row.fetchAll(db, sql: "SELECT name, kind FROM domain ORDER BY name").map {
                ChannelExport.Domain(name: $0["name"], kind: DomainKind(rawValue: $0["kind"]) ?? .hosted)
            }
            export.queues = try Row.fetchAll(db, sql: """
                SELECT queue.name, queue.description, mailbox.private_seen FROM queue JOIN mailbox ON mailbox.id = queue.mailbox_id
                ORDER BY lower(queue.name)
                """).map {
                ChannelExport.Queue(name: $0["name"], description: $0["description"], privateSeen: $0["private_seen"] ? true : nil)
            }
            let ids = try Int64.fetchAll(db, sql: """
                SELECT address.id FROM address JOIN domain ON domain.id = address.domain_id ORDER BY domain.name, address.local_part
                """)
            for id in ids {
                let email = try addressName(db, addressID: id)
                let draft = try String.fetchOne(db, sql: "SELECT settings FROM address_draft WHERE address_id = ?", arguments: [id])
                export.addresses.append(.init(email: email, settings: try publishedSettings(db, addressID: id), draft: try draft.map(decodeDraft)))
                export.filters += try filterRules(db, addressID: id).map {
                    ChannelExport.Filter(address: email, position: $0.position, field: $0.field, keyword: $0.keyword, queue: $0.queue)
                }
            }
            return export
        }
    }

    /// Creates what is missing and overwrites the settings and filters of the addresses the
    /// document names, in one transaction: with `dryRun` the transaction is rolled back.
    func importChannels(
        _ export: ChannelExport, limits: ChannelLimits, dryRun: Bool,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> ImportReport {
        guard export.format == ChannelExport.formatName, export.version <= ChannelExport.currentVersion else {
            throw .invalidSetting("not a Postgate channel export (format \(export.format) version \(export.version))")
        }
        var report = ImportReport()
        report.dryRun = dryRun
        let work = { (db: Database) throws -> Void in
            try importDomains(db, export.domains, limits: limits, report: &report)
            try importQueues(db, export.queues, createMailbox: createMailbox, report: &report)
            try importAddresses(db, export.addresses, limits: limits, createMailbox: createMailbox, report: &report)
            try importFilters(db, export.filters, addresses: export.addresses.map(\.email), report: &report)
        }
        if dryRun {
            try database.writeRollingBack(work)
        } else {
            try database.write(work)
        }
        return report
    }

    private func importDomains(_ db: Database, _ domains: [ChannelExport.Domain], limits: ChannelLimits, report: inout ImportReport) throws {
        for entry in domains {
            let domain = try Self.imported(entry.name, as: "domain") { try DomainName($0) }
            if let id = try domainID(db, domain) {
                try db.execute(sql: "UPDATE domain SET kind = ? WHERE id = ?", arguments: [entry.kind.rawValue, id])
            } else {
                _ = try insertDomain(db, domain, kind: entry.kind, limits: limits)
                report.domainsAdded.append(domain.ascii)
            }
        }
    }

    private func importQueues(
        _ db: Database, _ queues: [ChannelExport.Queue],
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed,
        report: inout ImportReport
    ) throws {
        for entry in queues {
            try QueueRecord.validateName(entry.name)
            if let id = try queueID(db, entry.name) {
                try db.execute(sql: "UPDATE queue SET description = ? WHERE id = ?", arguments: [entry.description, id])
                let mailboxID = try Int64.fetchOne(db, sql: "SELECT mailbox_id FROM queue WHERE id = ?", arguments: [id])!
                try setPrivateSeen(db, entry.privateSeen ?? false, mailboxID: mailboxID)
            } else {
                _ = try insertQueue(db, name: entry.name, description: entry.description, privateSeen: entry.privateSeen ?? false,
                                    createMailbox: createMailbox)
                report.queuesAdded.append(entry.name)
            }
        }
    }

    private func importAddresses(
        _ db: Database, _ addresses: [ChannelExport.Address], limits: ChannelLimits,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed,
        report: inout ImportReport
    ) throws {
        // Aliases may name addresses later in the list: insert every address first.
        var pending: [(id: Int64, address: EmailAddress, entry: ChannelExport.Address)] = []
        for entry in addresses {
            let address = try Self.imported(entry.email, as: "address") { try EmailAddress($0) }
            if case .address? = try usage(db, of: address) {
                pending.append((try requireAddressID(db, address), address, entry))
                report.addressesUpdated.append(address.description)
                continue
            }
            var first = ChannelSettings()
            first.defaultQueue = entry.settings.defaultQueue
            first.enabled = false
            let request = NewAddress(address: address, settings: first, aliases: [], limits: limits,
                                     mailboxPath: DataDirectory.mailboxPath(for: address))
            pending.append((try insertAddress(db, request, createMailbox: createMailbox), address, entry))
            report.addressesAdded.append(address.description)
        }
        for item in pending {
            try db.execute(sql: "DELETE FROM alias WHERE address_id = ?", arguments: [item.id])
        }
        for (id, address, entry) in pending {
            try apply(db, try checked(db, entry.settings, addressID: id, owner: address), addressID: id)
            try db.execute(sql: "DELETE FROM address_draft WHERE address_id = ?", arguments: [id])
            if let draft = entry.draft {
                try db.execute(sql: "INSERT INTO address_draft (address_id, settings, updated_at) VALUES (?, ?, ?)",
                               arguments: [id, try Self.encode(checked(db, draft, addressID: id, owner: address)), Date().timeIntervalSince1970])
            }
        }
    }

    private func importFilters(_ db: Database, _ filters: [ChannelExport.Filter], addresses: [String], report: inout ImportReport) throws {
        for email in addresses {
            try db.execute(sql: "DELETE FROM filter WHERE address_id = ?", arguments: [try requireAddressID(db, Self.imported(email, as: "address") { try EmailAddress($0) })])
        }
        for entry in filters.sorted(by: { ($0.address, $0.position) < ($1.address, $1.position) }) {
            let addressID = try requireAddressID(db, Self.imported(entry.address, as: "filter address") { try EmailAddress($0) })
            _ = try insertFilter(db, addressID: addressID, field: entry.field, keyword: Self.checkedKeyword(entry.keyword),
                                 queue: entry.queue, position: nil)
            report.filtersWritten += 1
        }
    }

    /// Parses a name from the document, or refuses the import naming it.
    private static func imported<T>(_ text: String, as what: String, _ parse: (String) throws -> T) throws -> T {
        do { return try parse(text) } catch {
            throw StoreError.invalidSetting("the import names \(what) '\(text)', which is not valid: \(error)")
        }
    }
}
