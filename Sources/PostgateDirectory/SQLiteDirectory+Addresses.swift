import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir

extension SQLiteDirectory {
    package func addAddress(
        _ request: NewAddress,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> AddressRecord {
        try checkDistinct([request.address] + request.aliases)
        return try database.write { db in
            try record(db, addressID: insertAddress(db, request, createMailbox: createMailbox))
        }
    }

    /// The rows of a new address (see `addAddress`), in the caller's transaction.
    package func insertAddress(
        _ db: Database, _ request: NewAddress,
        createMailbox: (_ path: String, _ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws -> Int64 {
        let domainID = try requireDomainID(db, request.address.domain)
        try checkAddressLimit(db, domainID: domainID, domain: request.address.domain, limits: request.limits)
        for name in [request.address] + request.aliases {
            _ = try requireDomainID(db, name.domain)
            if let usage = try usage(db, of: name) { throw StoreError.addressInUse(name, as: usage) }
        }
        let queueName = request.settings.defaultQueue ?? QueueRecord.defaultName
        _ = try queueIDCreatingDefault(db, queueName, createMailbox: createMailbox)
        var settings = request.settings
        settings.defaultQueue = queueName
        settings.aliases = request.aliases.map(\.canonicalAddress.description)
        settings = try settings.validated(for: request.address)
        if settings.enabled, request.checksVerification, let blocker = try verificationBlocker(db, domainID: domainID) {
            throw StoreError.invalidSetting("\(request.address) cannot be added enabled: \(blocker); add it disabled (--disabled) and enable it once verified")
        }
        let mailboxID = try mailboxID(db, path: request.mailboxPath) { (proposed) throws(StoreError) in
            try createMailbox(request.mailboxPath, proposed)
        }
        try db.execute(cachedSQL: """
            INSERT INTO address (domain_id, local_part, enabled, mailbox_id, created_at)
            VALUES (?, ?, ?, ?, ?)
            """, arguments: [domainID, request.address.canonicalLocalPart, settings.enabled,
                             mailboxID, Date().timeIntervalSince1970])
        let addressID = db.lastInsertedRowID
        try apply(db, settings, addressID: addressID)
        return addressID
    }

    /// Refuses a new address when its domain's kind allows no more (`channels.limits`).
    private func checkAddressLimit(_ db: Database, domainID: Int64, domain: DomainName, limits: ChannelLimits) throws {
        let kind = DomainKind(rawValue: try String.fetchOne(db, cachedSQL: "SELECT kind FROM domain WHERE id = ?", arguments: [domainID]) ?? "") ?? .hosted
        guard let limit = limits.limit(for: kind) else { return }
        let count = try Int.fetchOne(db, cachedSQL: "SELECT count(*) FROM address WHERE domain_id = ?", arguments: [domainID]) ?? 0
        guard count < limit.addressesPerDomain else {
            throw StoreError.limitReached("\(domain.unicode) is a \(kind) domain and has \(count) addresses; its limit is \(limit.addressesPerDomain) (channels.limits.\(kind).addresses_per_domain)")
        }
    }

    package func addresses(domain: DomainName?) throws(StoreError) -> [AddressRecord] {
        try database.read { db in
            guard let domain else { return try records(db, where: "1", arguments: []) }
            let domainID = try requireDomainID(db, domain)
            return try records(db, where: "address.domain_id = ?", arguments: [domainID])
        }
    }

    package func address(_ address: EmailAddress, countingMessages: Bool) throws(StoreError) -> AddressRecord? {
        try database.read { db in
            let owner: EmailAddress
            switch try usage(db, of: address) {
            case nil: return nil
            case .address: owner = address
            case .alias(let of): owner = of
            }
            return try record(db, addressID: requireAddressID(db, owner), countingMessages: countingMessages)
        }
    }

    package func removeAddress(_ address: EmailAddress) throws(StoreError) {
        try database.write { db in
            let id = try requireAddressID(db, address)
            try db.execute(cachedSQL: "DELETE FROM address WHERE id = ?", arguments: [id])
        }
    }

    // MARK: - Helpers

    private func checkDistinct(_ names: [EmailAddress]) throws(StoreError) {
        var seen: Set<EmailAddress> = []
        for name in names where !seen.insert(name.canonicalAddress).inserted {
            throw .addressGivenTwice(name)
        }
    }

    /// The mailbox at `path`, created (row and, through `createMailbox`, Maildir) if missing.
    package func mailboxID(
        _ db: Database, path: String,
        createMailbox: (_ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws -> Int64 {
        if let id = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM mailbox WHERE path = ?", arguments: [path]) {
            return id
        }
        // Like Dovecot: the current time, or one more than the last value ever handed out,
        // also to a mailbox removed since (RFC 9051 section 2.3.1.1). Row ids are never
        // reused either (`mailbox_allocation`).
        let last = try Row.fetchOne(db, cachedSQL: """
            SELECT max(last_uid_validity, coalesce((SELECT max(uid_validity) FROM mailbox), 0)) AS uid_validity,
                   max(last_mailbox_id, coalesce((SELECT max(id) FROM mailbox), 0)) AS id
            FROM mailbox_allocation WHERE id = 1
            """)
        let lastUIDValidity: Int64 = last?["uid_validity"] ?? 0
        let lastID: Int64 = last?["id"] ?? 0
        let id = lastID + 1
        let proposed = UInt32(clamping: max(Int64(Date().timeIntervalSince1970), lastUIDValidity + 1))
        let seed = try createMailbox(proposed)
        try db.execute(cachedSQL: "INSERT INTO mailbox (id, path, uid_validity, uid_next, created_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [id, path, seed.uidValidity, seed.uidNext, Date().timeIntervalSince1970])
        try db.execute(cachedSQL: """
            INSERT INTO mailbox_allocation (id, last_uid_validity, last_mailbox_id) VALUES (1, ?, ?)
            ON CONFLICT (id) DO UPDATE SET last_uid_validity = max(last_uid_validity, excluded.last_uid_validity),
                last_mailbox_id = max(last_mailbox_id, excluded.last_mailbox_id)
            """, arguments: [max(Int64(seed.uidValidity), lastUIDValidity), id])
        return id
    }

    package func insertAlias(_ db: Database, _ alias: EmailAddress, addressID: Int64) throws {
        try db.execute(cachedSQL: "INSERT INTO alias (address_id, domain_id, local_part) VALUES (?, ?, ?)",
                       arguments: [addressID, requireDomainID(db, alias.domain), alias.canonicalLocalPart])
    }

    package func record(_ db: Database, addressID: Int64, countingMessages: Bool = true) throws -> AddressRecord {
        guard let record = try records(db, where: "address.id = ?", arguments: [addressID],
                                       countingMessages: countingMessages).first else {
            throw StoreError.database(path: database.path, reason: "address #\(addressID) vanished")
        }
        return record
    }

    /// The records matching `condition`, one of a few fixed texts (so their statements are cached).
    private func records(_ db: Database, where condition: String, arguments: StatementArguments,
                         countingMessages: Bool = true) throws -> [AddressRecord] {
        let count = countingMessages ? "(SELECT count(*) FROM message WHERE message.mailbox_id = address.mailbox_id)" : "0"
        let rows = try Row.fetchAll(db, cachedSQL: """
            SELECT address.id, address.local_part, address.created_at,
                domain.name AS domain_name, domain.kind AS domain_kind, mailbox.path,
                EXISTS (SELECT 1 FROM address_draft WHERE address_draft.address_id = address.id) AS has_draft,
                \(count) AS message_count
            FROM address
            JOIN domain ON domain.id = address.domain_id
            JOIN mailbox ON mailbox.id = address.mailbox_id
            WHERE \(condition)
            ORDER BY domain.name, address.local_part
            """, arguments: arguments)
        return try rows.map { row in
            AddressRecord(
                email: try emailAddress(localPart: row["local_part"], domain: row["domain_name"]).description,
                settings: try publishedSettings(db, addressID: row["id"]), hasDraft: row["has_draft"],
                domainKind: DomainKind(rawValue: row["domain_kind"]) ?? .hosted, mailboxPath: row["path"],
                messageCount: row["message_count"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
        }
    }

    package func aliases(_ db: Database, addressID: Int64) throws -> [String] {
        try Row.fetchAll(db, cachedSQL: """
            SELECT alias.local_part, domain.name FROM alias JOIN domain ON domain.id = alias.domain_id
            WHERE alias.address_id = ? ORDER BY domain.name, alias.local_part
            """, arguments: [addressID]).map { row in
            try emailAddress(localPart: row["local_part"], domain: row["name"]).description
        }
    }
}
