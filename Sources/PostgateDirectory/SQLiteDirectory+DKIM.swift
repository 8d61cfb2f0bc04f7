import Foundation
import GRDB
import PostgateMessage
import PostgateMaildir
import PostgateIndex

/// `DKIMKeyDirectory` on the SQLite index (table `dkim_key`, migration "dkim-v1").
extension SQLiteDirectory {

    private static let select = """
        SELECT dkim_key.*, domain.name AS domain_name, domain.unicode_name
        FROM dkim_key JOIN domain ON domain.id = dkim_key.domain_id
        """

    package func add(_ entry: DKIMKeyEntry) throws(StoreError) -> DKIMKeyEntry {
        try database.write { db in
            guard let domainID = try Int64.fetchOne(db, cachedSQL: "SELECT id FROM domain WHERE name = ?", arguments: [entry.domain]) else {
                throw StoreError.domainNotHosted(try DomainName(entry.domain))
            }
            try db.execute(cachedSQL: """
                INSERT INTO dkim_key (domain_id, selector, algorithm, key_path, public_record, status, first_seen_at, next_check_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [domainID, entry.selector, entry.algorithm, entry.keyPath, entry.publicRecord,
                                 entry.status, entry.firstSeenAt.timeIntervalSince1970, entry.nextCheckAt?.timeIntervalSince1970])
            return try fetch(db, "dkim_key.domain_id = ? AND dkim_key.selector = ?", [domainID, entry.selector])[0]
        }
    }

    package func keys(domain: String?) throws(StoreError) -> [DKIMKeyEntry] {
        try database.read { db in
            if let domain { return try fetch(db, "domain.name = ?", [domain]) }
            return try fetch(db, "1", [])
        }
    }

    package func due(at date: Date) throws(StoreError) -> [DKIMKeyEntry] {
        try database.read { db in
            try fetch(db, "dkim_key.next_check_at IS NOT NULL AND dkim_key.next_check_at <= ?", [date.timeIntervalSince1970])
        }
    }

    package func record(_ check: DKIMCheckRecord, domain: String, selector: String) throws(StoreError) -> DKIMKeyEntry {
        try database.write { db in
            try db.execute(cachedSQL: """
                UPDATE dkim_key SET status = ?, status_reason = ?, last_check_at = ?, next_check_at = ?, check_count = check_count + 1
                WHERE selector = ? AND domain_id = (SELECT id FROM domain WHERE name = ?)
                """, arguments: [check.status, check.reason, check.checkedAt.timeIntervalSince1970,
                                 check.nextCheckAt?.timeIntervalSince1970, selector, domain])
            guard let entry = try fetch(db, "domain.name = ? AND dkim_key.selector = ?", [domain, selector]).first else {
                throw StoreError.dkimKeyNotFound(try DomainName(domain), selector: selector)
            }
            return entry
        }
    }

    private func fetch(_ db: Database, _ condition: String, _ arguments: [any DatabaseValueConvertible]) throws -> [DKIMKeyEntry] {
        try Row.fetchAll(db, sql: Self.select + " WHERE \(condition) ORDER BY domain.name, dkim_key.first_seen_at, dkim_key.id",
                         arguments: StatementArguments(arguments)).map { row in
            DKIMKeyEntry(
                domain: row["domain_name"], unicodeDomain: row["unicode_name"], selector: row["selector"],
                algorithm: row["algorithm"], keyPath: row["key_path"], publicRecord: row["public_record"],
                status: row["status"], statusReason: row["status_reason"],
                firstSeenAt: Date(timeIntervalSince1970: row["first_seen_at"]),
                lastCheckAt: (row["last_check_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                nextCheckAt: (row["next_check_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                checkCount: row["check_count"])
        }
    }

}
