import Foundation
import GRDB
import PostgateMessage

extension SQLiteAddressDirectory {
    func addAddress(
        _ request: NewAddress,
        createMailbox: (_ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws(StoreError) -> AddressRecord {
        try checkDistinct([request.address] + request.aliases)
        return try database.write { db in
            let domainID = try requireDomainID(db, request.address.domain)
            for name in [request.address] + request.aliases {
                _ = try requireDomainID(db, name.domain)
                if let usage = try usage(db, of: name) { throw StoreError.addressInUse(name, as: usage) }
            }
            let mailboxID = try mailboxID(db, path: request.mailboxPath, createMailbox: createMailbox)
            try db.execute(sql: """
                INSERT INTO address (domain_id, local_part, display_name, enabled, mailbox_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [domainID, request.address.canonicalLocalPart, request.displayName, request.enabled,
                                 mailboxID, Date().timeIntervalSince1970])
            let addressID = db.lastInsertedRowID
            for alias in request.aliases {
                try insertAlias(db, alias, addressID: addressID)
            }
            return try record(db, addressID: addressID)
        }
    }

    func addresses(domain: DomainName?) throws(StoreError) -> [AddressRecord] {
        try database.read { db in
            guard let domain else { return try records(db, where: "1", arguments: []) }
            let domainID = try requireDomainID(db, domain)
            return try records(db, where: "address.domain_id = ?", arguments: [domainID])
        }
    }

    func address(_ address: EmailAddress) throws(StoreError) -> AddressRecord? {
        try database.read { db in
            let owner: EmailAddress
            switch try usage(db, of: address) {
            case nil: return nil
            case .address: owner = address
            case .alias(let of): owner = of
            }
            return try record(db, addressID: requireAddressID(db, owner))
        }
    }

    func removeAddress(_ address: EmailAddress) throws(StoreError) {
        try database.write { db in
            let id = try requireAddressID(db, address)
            try db.execute(sql: "DELETE FROM address WHERE id = ?", arguments: [id])
        }
    }

    func setEnabled(_ enabled: Bool, for address: EmailAddress) throws(StoreError) -> AddressRecord {
        try update(address, sql: "UPDATE address SET enabled = ? WHERE id = ?", value: enabled)
    }

    func setDisplayName(_ displayName: String?, for address: EmailAddress) throws(StoreError) -> AddressRecord {
        try update(address, sql: "UPDATE address SET display_name = ? WHERE id = ?", value: displayName)
    }

    func addAlias(_ alias: EmailAddress, to address: EmailAddress) throws(StoreError) -> AddressRecord {
        try database.write { db in
            let id = try requireAddressID(db, address)
            _ = try requireDomainID(db, alias.domain)
            if let usage = try usage(db, of: alias) { throw StoreError.addressInUse(alias, as: usage) }
            try insertAlias(db, alias, addressID: id)
            return try record(db, addressID: id)
        }
    }

    func removeAlias(_ alias: EmailAddress, from address: EmailAddress) throws(StoreError) -> AddressRecord {
        try database.write { db in
            let id = try requireAddressID(db, address)
            let aliasDomainID = try domainID(db, alias.domain) ?? -1
            try db.execute(sql: "DELETE FROM alias WHERE address_id = ? AND domain_id = ? AND local_part = ?",
                           arguments: [id, aliasDomainID, alias.canonicalLocalPart])
            guard db.changesCount == 1 else { throw StoreError.aliasNotFound(alias, of: address) }
            return try record(db, addressID: id)
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
    func mailboxID(
        _ db: Database, path: String,
        createMailbox: (_ proposedUIDValidity: UInt32) throws(StoreError) -> MailboxSeed
    ) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM mailbox WHERE path = ?", arguments: [path]) {
            return id
        }
        // Like Dovecot: the current time, or one more than the last value handed out.
        let last = try Int64.fetchOne(db, sql: "SELECT max(uid_validity) FROM mailbox") ?? 0
        let proposed = UInt32(clamping: max(Int64(Date().timeIntervalSince1970), last + 1))
        let seed = try createMailbox(proposed)
        try db.execute(sql: "INSERT INTO mailbox (path, uid_validity, uid_next, created_at) VALUES (?, ?, ?, ?)",
                       arguments: [path, seed.uidValidity, seed.uidNext, Date().timeIntervalSince1970])
        return db.lastInsertedRowID
    }

    private func insertAlias(_ db: Database, _ alias: EmailAddress, addressID: Int64) throws {
        try db.execute(sql: "INSERT INTO alias (address_id, domain_id, local_part) VALUES (?, ?, ?)",
                       arguments: [addressID, requireDomainID(db, alias.domain), alias.canonicalLocalPart])
    }

    private func update(_ address: EmailAddress, sql: String, value: (any DatabaseValueConvertible)?) throws(StoreError) -> AddressRecord {
        try database.write { db in
            let id = try requireAddressID(db, address)
            try db.execute(sql: sql, arguments: [value, id])
            return try record(db, addressID: id)
        }
    }

    private func record(_ db: Database, addressID: Int64) throws -> AddressRecord {
        guard let record = try records(db, where: "address.id = ?", arguments: [addressID]).first else {
            throw StoreError.database(path: database.path, reason: "address #\(addressID) vanished")
        }
        return record
    }

    private func records(_ db: Database, where condition: String, arguments: StatementArguments) throws -> [AddressRecord] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT address.id, address.local_part, address.display_name, address.enabled, address.created_at,
                domain.name AS domain_name, mailbox.path,
                (SELECT count(*) FROM message WHERE message.mailbox_id = address.mailbox_id) AS message_count
            FROM address
            JOIN domain ON domain.id = address.domain_id
            JOIN mailbox ON mailbox.id = address.mailbox_id
            WHERE \(condition)
            ORDER BY domain.name, address.local_part
            """, arguments: arguments)
        return try rows.map { row in
            AddressRecord(
                email: try emailAddress(localPart: row["local_part"], domain: row["domain_name"]).description,
                displayName: row["display_name"], enabled: row["enabled"],
                aliases: try aliases(db, addressID: row["id"]), mailboxPath: row["path"],
                messageCount: row["message_count"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
        }
    }

    private func aliases(_ db: Database, addressID: Int64) throws -> [String] {
        try Row.fetchAll(db, sql: """
            SELECT alias.local_part, domain.name FROM alias JOIN domain ON domain.id = alias.domain_id
            WHERE alias.address_id = ? ORDER BY domain.name, alias.local_part
            """, arguments: [addressID]).map { row in
            try emailAddress(localPart: row["local_part"], domain: row["name"]).description
        }
    }
}
