import Foundation
import GRDB
import PostgateMessage
import PostgatePolicy
import PostgateMaildir

extension SQLiteDirectory {
    package func exportChannels() throws(StoreError) -> ChannelExport {
        try database.read { db in
            var export = ChannelExport()
            export.blocklist = []
            export.gateways = []
            export.domains = try Row.fetchAll(db, cachedSQL: "SELECT name, kind FROM domain ORDER BY name").map {
                ChannelExport.Domain(name: $0["name"], kind: DomainKind(rawValue: $0["kind"]) ?? .hosted)
            }
            export.queues = try Row.fetchAll(db, cachedSQL: """
                SELECT queue.name, queue.description, mailbox.private_seen FROM queue JOIN mailbox ON mailbox.id = queue.mailbox_id
                ORDER BY lower(queue.name)
                """).map {
                ChannelExport.Queue(name: $0["name"], description: $0["description"], privateSeen: $0["private_seen"] ? true : nil)
            }
            let ids = try Int64.fetchAll(db, cachedSQL: """
                SELECT address.id FROM address JOIN domain ON domain.id = address.domain_id ORDER BY domain.name, address.local_part
                """)
            for id in ids {
                let email = try addressName(db, addressID: id)
                let draft = try String.fetchOne(db, cachedSQL: "SELECT settings FROM address_draft WHERE address_id = ?", arguments: [id])
                export.addresses.append(.init(email: email, settings: try publishedSettings(db, addressID: id), draft: try draft.map(decodeDraft)))
                export.filters += try filterRules(db, addressID: id).map {
                    ChannelExport.Filter(address: email, position: $0.position, field: $0.field, keyword: $0.keyword, queue: $0.queue)
                }
                export.blocklist! += try Row.fetchAll(db, cachedSQL: "SELECT kind, display FROM blocklist WHERE address_id = ? ORDER BY value",
                                                      arguments: [id]).map {
                    ChannelExport.Blocked(address: email, kind: BlocklistEntry.Kind(rawValue: $0["kind"]) ?? .address, entry: $0["display"])
                }
                export.gateways! += try exportedGateways(db, addressID: id, email: email)
            }
            return export
        }
    }

    /// The gateways of an address for the export, every secret left out.
    private func exportedGateways(_ db: Database, addressID: Int64, email: String) throws -> [ChannelExport.Gateway] {
        try Row.fetchAll(db, cachedSQL: "SELECT direction, published, draft FROM gateway WHERE address_id = ? ORDER BY direction",
                         arguments: [addressID]).map { row in
            var gateway = ChannelExport.Gateway(address: email)
            switch GatewayDirection(rawValue: row["direction"]) {
            case .receiving:
                gateway.receiving = try decodeGateway(ReceivingGatewaySettings.self, row["published"] as String?)?.withoutSecrets
                gateway.receivingDraft = try decodeGateway(ReceivingGatewaySettings.self, row["draft"] as String?)?.withoutSecrets
            case .sending:
                gateway.sending = try decodeGateway(SendingGatewaySettings.self, row["published"] as String?)?.withoutSecrets
                gateway.sendingDraft = try decodeGateway(SendingGatewaySettings.self, row["draft"] as String?)?.withoutSecrets
            case nil:
                break
            }
            return gateway
        }
    }

    /// Creates what is missing and overwrites the settings, filters and (when the document
    /// has them) blocklists of the addresses the document names, in one transaction: with
    /// `dryRun` the transaction is rolled back.
    package func importChannels(
        _ export: ChannelExport, limits: ChannelLimits, dryRun: Bool,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> ImportReport {
        guard export.format == ChannelExport.formatName, export.version <= ChannelExport.currentVersion else {
            throw .invalidSetting("not a Postgate channel export (format \(export.format) version \(export.version))")
        }
        // One address named twice with different settings: which one was meant is unknown,
        // so nothing is imported (the same entry twice says nothing new).
        var named: [String: ChannelExport.Address] = [:]
        for entry in export.addresses {
            // An address that does not parse is refused by name below.
            let key = (try? EmailAddress(entry.email))?.canonical ?? entry.email.lowercased()
            if let earlier = named.updateValue(entry, forKey: key), earlier != entry {
                throw .invalidSetting("address \(entry.email) is given twice with different settings; keep one entry")
            }
        }
        var report = ImportReport()
        report.dryRun = dryRun
        let work = { (db: Database) throws -> Void in
            try importDomains(db, export.domains, limits: limits, report: &report)
            try importQueues(db, export.queues, createMailbox: createMailbox, report: &report)
            try importAddresses(db, export.addresses, limits: limits, createMailbox: createMailbox, report: &report)
            try importFilters(db, export.filters, addresses: export.addresses.map(\.email), report: &report)
            if let blocklist = export.blocklist {
                try importBlocklist(db, blocklist, addresses: export.addresses.map(\.email), report: &report)
            }
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
                try db.execute(cachedSQL: "UPDATE domain SET kind = ? WHERE id = ?", arguments: [entry.kind.rawValue, id])
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
                try db.execute(cachedSQL: "UPDATE queue SET description = ? WHERE id = ?", arguments: [entry.description, id])
                let mailboxID = try Int64.fetchOne(db, cachedSQL: "SELECT mailbox_id FROM queue WHERE id = ?", arguments: [id])!
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
            try db.execute(cachedSQL: "DELETE FROM alias WHERE address_id = ?", arguments: [item.id])
        }
        for (id, address, entry) in pending {
            try apply(db, try checked(db, entry.settings, addressID: id, owner: address, checksVerification: false), addressID: id)
            try db.execute(cachedSQL: "DELETE FROM address_draft WHERE address_id = ?", arguments: [id])
            if let draft = entry.draft {
                try db.execute(cachedSQL: "INSERT INTO address_draft (address_id, settings, updated_at) VALUES (?, ?, ?)",
                               arguments: [id, try Self.encode(checked(db, draft, addressID: id, owner: address, checksVerification: false)), Date().timeIntervalSince1970])
            }
        }
    }

    private func importFilters(_ db: Database, _ filters: [ChannelExport.Filter], addresses: [String], report: inout ImportReport) throws {
        for email in addresses {
            try db.execute(cachedSQL: "DELETE FROM filter WHERE address_id = ?", arguments: [try requireAddressID(db, Self.imported(email, as: "address") { try EmailAddress($0) })])
        }
        for entry in filters.sorted(by: { ($0.address, $0.position) < ($1.address, $1.position) }) {
            let addressID = try requireAddressID(db, Self.imported(entry.address, as: "filter address") { try EmailAddress($0) })
            _ = try insertFilter(db, addressID: addressID, field: entry.field, keyword: Self.checkedKeyword(entry.keyword, field: entry.field),
                                 queue: entry.queue, position: nil)
            report.filtersWritten += 1
        }
    }

    /// Replaces the blocklists of the addresses the document names (in `addresses` or in
    /// the blocklist) by its entries, each parsed as `postgate blocklist add` parses it.
    private func importBlocklist(_ db: Database, _ blocklist: [ChannelExport.Blocked], addresses: [String], report: inout ImportReport) throws {
        var ids: [String: Int64] = [:]
        for email in addresses + blocklist.map(\.address) where ids[email] == nil {
            let id = try requireAddressID(db, Self.imported(email, as: "blocklist address") { try EmailAddress($0) })
            try db.execute(cachedSQL: "DELETE FROM blocklist WHERE address_id = ?", arguments: [id])
            ids[email] = id
        }
        let now = Date()
        for item in blocklist {
            let entry = try Self.imported(item.entry, as: "blocklist entry") { try BlocklistEntry(parsing: $0) }
            guard entry.kind == item.kind else {
                throw StoreError.invalidSetting("the blocklist entry '\(item.entry)' of \(item.address) is a \(entry.kind.rawValue), not a \(item.kind.rawValue)")
            }
            if try SQLiteDirectory.insert(db, [entry], addressID: ids[item.address]!, at: now) != nil {
                throw StoreError.invalidSetting("the import lists '\(item.entry)' twice in the blocklist of \(item.address)")
            }
            report.blocklistEntriesWritten += 1
        }
    }

    /// Parses a name from the document, or refuses the import naming it.
    private static func imported<T>(_ text: String, as what: String, _ parse: (String) throws -> T) throws -> T {
        do { return try parse(text) } catch {
            throw StoreError.invalidSetting("the import names \(what) '\(text)', which is not valid: \(error)")
        }
    }
}
