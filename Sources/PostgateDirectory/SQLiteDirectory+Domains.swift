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
        let custom = kind != .hosted
        let token = custom ? Self.ownershipToken() : nil
        try db.execute(cachedSQL: """
            INSERT INTO domain (name, unicode_name, kind, created_at, require_verification, ownership_token) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [domain.ascii, domain.unicode, kind.rawValue, now.timeIntervalSince1970, custom, token])
        return DomainRecord(name: domain.ascii, unicodeName: domain.unicode, kind: kind, addressCount: 0, createdAt: now,
                            requireVerification: custom,
                            ownership: token.map { Self.ownership(domain: domain.ascii, token: $0, status: "Pending", reason: nil, checkedAt: nil) })
    }

    /// A new ownership token: 128 random bits as hex.
    static func ownershipToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func ownership(domain: String, token: String, status: String, reason: String?, checkedAt: Double?) -> DomainOwnership {
        DomainOwnership(recordName: DomainOwnership.recordName(for: domain), recordValue: DomainOwnership.recordValue(token: token),
                        status: status, reason: reason, checkedAt: checkedAt.map(Date.init(timeIntervalSince1970:)))
    }

    /// A custom domain's ownership record and status; a domain added before ownership
    /// checks existed gets its token now. Nil for a hosted domain.
    package func domainOwnership(_ domain: DomainName) throws(StoreError) -> DomainOwnership? {
        try database.write { db in
            let id = try requireDomainID(db, domain)
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM domain WHERE id = ?", arguments: [id]),
                  (row["kind"] as String) != DomainKind.hosted.rawValue else { return nil }
            var token: String? = row["ownership_token"]
            if token == nil {
                token = Self.ownershipToken()
                try db.execute(cachedSQL: "UPDATE domain SET ownership_token = ? WHERE id = ?", arguments: [token, id])
            }
            return Self.ownership(domain: domain.ascii, token: token!, status: row["ownership_status"], reason: row["ownership_reason"],
                                  checkedAt: row["ownership_checked_at"])
        }
    }

    /// Records how an ownership check went.
    package func recordOwnershipCheck(_ domain: DomainName, status: String, reason: String?, at date: Date) throws(StoreError) {
        try database.write { db in
            let id = try requireDomainID(db, domain)
            try db.execute(cachedSQL: "UPDATE domain SET ownership_status = ?, ownership_reason = ?, ownership_checked_at = ? WHERE id = ?",
                           arguments: [status, reason, date.timeIntervalSince1970, id])
        }
    }

    /// Sets whether addresses on the domain may be enabled only once it is verified.
    package func setRequireVerification(_ domain: DomainName, _ require: Bool) throws(StoreError) {
        try database.write { db in
            let id = try requireDomainID(db, domain)
            try db.execute(cachedSQL: "UPDATE domain SET require_verification = ? WHERE id = ?", arguments: [require, id])
        }
    }

    /// Why an address on the domain of `domainID` may not be enabled, or nil when it may:
    /// the domain asks for verification and its ownership or its DKIM record is not verified.
    package func verificationBlocker(_ db: Database, domainID: Int64) throws -> String? {
        guard let row = try Row.fetchOne(db, cachedSQL: "SELECT name, kind, require_verification, ownership_status FROM domain WHERE id = ?",
                                         arguments: [domainID]),
              (row["require_verification"] as Bool), (row["kind"] as String) != DomainKind.hosted.rawValue else { return nil }
        let name: String = row["name"]
        var missing: [String] = []
        let ownership: String = row["ownership_status"]
        if ownership != "Success" {
            missing.append("its ownership (\(ownership); publish the TXT record `postgate domain show \(name)` prints, then `postgate domain verify \(name)`)")
        }
        let dkim = try String.fetchAll(db, cachedSQL: "SELECT status FROM dkim_key WHERE domain_id = ? ORDER BY id", arguments: [domainID])
        if !dkim.contains("Success") {
            missing.append("its DKIM record (\(dkim.isEmpty ? "no key" : dkim.last!); `postgate dkim generate` or `dkim verify \(name)`)")
        }
        guard !missing.isEmpty else { return nil }
        return "\(name) asks for verification before its addresses are enabled, and " + missing.joined(separator: " and ")
            + (missing.count == 1 ? " is" : " are") + " not verified"
    }

    package func domains() throws(StoreError) -> [DomainRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT name, unicode_name, kind, created_at, require_verification, ownership_token, ownership_status,
                    ownership_reason, ownership_checked_at,
                    (SELECT count(*) FROM address WHERE address.domain_id = domain.id) AS address_count
                FROM domain ORDER BY name
                """).map { row in
                let name: String = row["name"]
                let token: String? = row["ownership_token"]
                return DomainRecord(
                    name: name, unicodeName: row["unicode_name"],
                    kind: DomainKind(rawValue: row["kind"]) ?? .hosted, addressCount: row["address_count"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), requireVerification: row["require_verification"],
                    ownership: token.map { Self.ownership(domain: name, token: $0, status: row["ownership_status"],
                                                          reason: row["ownership_reason"], checkedAt: row["ownership_checked_at"]) })
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
