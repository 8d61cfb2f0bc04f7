import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir

extension SQLiteDirectory {
    package func addDomain(_ domain: DomainName, kind: DomainKind, limits: ChannelLimits) throws(StoreError) -> DomainRecord {
        try database.write { db in try insertDomain(db, domain, kind: kind, limits: limits) }
    }

    /// The row of a new domain (see `addDomain`), in the caller's transaction.
    package func insertDomain(_ db: Database, _ domain: DomainName, kind: DomainKind, limits: ChannelLimits) throws -> DomainRecord {
        guard try domainID(db, domain) == nil else { throw StoreError.domainAlreadyHosted(domain) }
        if let limit = limits.limit(for: kind) {
            let count = try Int.fetchOne(db, cachedSQL: "SELECT count(*) FROM domain WHERE kind = ?", arguments: [kind.rawValue]) ?? 0
            guard count < limit.domains else {
                throw StoreError.limitReached("there are \(count) \(kind) domains already; the limit is \(limit.domains) (channels.limits.\(kind).domains)")
            }
        }
        let now = Date()
        try db.execute(cachedSQL: "INSERT INTO domain (name, unicode_name, kind, created_at) VALUES (?, ?, ?, ?)",
                       arguments: [domain.ascii, domain.unicode, kind.rawValue, now.timeIntervalSince1970])
        return DomainRecord(name: domain.ascii, unicodeName: domain.unicode, kind: kind, addressCount: 0, createdAt: now)
    }

    package func domains() throws(StoreError) -> [DomainRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT name, unicode_name, kind, created_at,
                    (SELECT count(*) FROM address WHERE address.domain_id = domain.id) AS address_count
                FROM domain ORDER BY name
                """).map { row in
                DomainRecord(name: row["name"], unicodeName: row["unicode_name"],
                             kind: DomainKind(rawValue: row["kind"]) ?? .hosted, addressCount: row["address_count"],
                             createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    package func removeDomain(_ domain: DomainName, force: Bool) throws(StoreError) {
        try database.write { db in
            let id = try requireDomainID(db, domain)
            let addresses = try Int.fetchOne(db, cachedSQL: "SELECT count(*) FROM address WHERE domain_id = ?", arguments: [id]) ?? 0
            let aliases = try Int.fetchOne(db, cachedSQL: "SELECT count(*) FROM alias WHERE domain_id = ?", arguments: [id]) ?? 0
            guard force || addresses + aliases == 0 else {
                throw StoreError.domainNotEmpty(domain, addresses: addresses, aliases: aliases)
            }
            // Aliases in this domain, then the addresses (their aliases elsewhere cascade).
            try db.execute(cachedSQL: "DELETE FROM alias WHERE domain_id = ?", arguments: [id])
            try db.execute(cachedSQL: "DELETE FROM address WHERE domain_id = ?", arguments: [id])
            try db.execute(cachedSQL: "DELETE FROM domain WHERE id = ?", arguments: [id])
        }
    }
}
