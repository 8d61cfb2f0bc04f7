import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir
import PostgateIndex

/// `AddressDirectory` on the SQLite file of the data directory (tables `domain`,
/// `address`, `alias`, and `mailbox` for new addresses).
package struct SQLiteDirectory: Directory {
    package let database: SQLiteDatabase

    package func generation() throws(StoreError) -> Int64 {
        try database.readStatement { db in try SQLiteDatabase.directoryGeneration(db) }
    }

    package func generationHint() -> Int64? {
        database.generationHint.read()
    }

    package func resolve(_ recipient: EmailAddress) throws(StoreError) -> RecipientResolution {
        try database.read { db in
            guard let domainID = try domainID(db, recipient.domain) else { return .domainNotHosted }
            let localPart = recipient.canonicalLocalPart
            let row = try Row.fetchOne(db, cachedSQL: Self.ownerSelect + """
                WHERE address.domain_id = ? AND address.local_part = ?
                """, arguments: [domainID, localPart])
                ?? Row.fetchOne(db, cachedSQL: Self.ownerSelect + """
                JOIN alias ON alias.address_id = address.id
                WHERE alias.domain_id = ? AND alias.local_part = ?
                """, arguments: [domainID, localPart])
            guard let row else { return .unknownUser }
            // An outbound-only address (usage `outbound`) receives nothing, like a disabled one.
            guard row["enabled"] as Bool, AddressUsage(rawValue: row["usage"])?.receives ?? true else { return .disabled }
            let owner = try emailAddress(localPart: row["local_part"], domain: row["domain_name"])
            return .accept(MailboxTarget(mailboxID: row["mailbox_id"], mailboxPath: row["path"], address: owner))
        }
    }

    /// An address with its owner's mailbox; the caller adds the join and condition.
    private static let ownerSelect = """
        SELECT address.local_part, address.enabled, address.usage, address.mailbox_id, mailbox.path, domain.name AS domain_name
        FROM address
        JOIN mailbox ON mailbox.id = address.mailbox_id
        JOIN domain ON domain.id = address.domain_id

        """

    // MARK: - Lookups shared by the operations

    package func domainID(_ db: Database, _ domain: DomainName) throws -> Int64? {
        try Int64.fetchOne(db, cachedSQL: "SELECT id FROM domain WHERE name = ?", arguments: [domain.ascii])
    }

    /// The id of a hosted domain.
    /// - Throws: `.domainNotHosted`.
    package func requireDomainID(_ db: Database, _ domain: DomainName) throws -> Int64 {
        guard let id = try domainID(db, domain) else { throw StoreError.domainNotHosted(domain) }
        return id
    }

    /// How `address` is already used, if at all.
    package func usage(_ db: Database, of address: EmailAddress) throws -> StoreError.Usage? {
        guard let domainID = try domainID(db, address.domain) else { return nil }
        let localPart = address.canonicalLocalPart
        if try Bool.fetchOne(db, cachedSQL: "SELECT 1 FROM address WHERE domain_id = ? AND local_part = ?",
                             arguments: [domainID, localPart]) == true {
            return .address
        }
        guard let row = try Row.fetchOne(db, cachedSQL: Self.ownerSelect + """
            JOIN alias ON alias.address_id = address.id
            WHERE alias.domain_id = ? AND alias.local_part = ?
            """, arguments: [domainID, localPart]) else { return nil }
        return .alias(of: try emailAddress(localPart: row["local_part"], domain: row["domain_name"]))
    }

    /// The id of the address (not alias) `address`.
    /// - Throws: `.notAnAddress` if it is an alias, `.addressNotFound` if unknown.
    package func requireAddressID(_ db: Database, _ address: EmailAddress) throws -> Int64 {
        if let domainID = try domainID(db, address.domain),
           let id = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM address WHERE domain_id = ? AND local_part = ?",
                                       arguments: [domainID, address.canonicalLocalPart]) {
            return id
        }
        if case .alias(let owner) = try usage(db, of: address) {
            throw StoreError.notAnAddress(address, aliasOf: owner)
        }
        throw StoreError.addressNotFound(address)
    }

    package func emailAddress(localPart: String, domain: String) throws -> EmailAddress {
        do {
            return EmailAddress(localPart: localPart, domain: try DomainName(domain))
        } catch {
            throw StoreError.database(path: database.path, reason: "stored domain '\(domain)' is invalid: \(error)")
        }
    }

    package init(database: SQLiteDatabase) {
        self.database = database
    }
}
