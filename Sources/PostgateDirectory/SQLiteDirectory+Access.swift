import Foundation
import GRDB
import PostgateMaildir

extension SQLiteDirectory: AccessDirectory {
    /// Adds a token; the name must be new among the tokens not revoked.
    /// - Returns: the record and the token's text, which is never stored and so shown once.
    package func addToken(name: String, scopes: [APITokenScope], ratePerMinute: Int, now: Date) throws(StoreError) -> (APITokenRecord, APITokenText) {
        try ChannelSettings.checkChannelName(name, what: "token name")
        guard !scopes.isEmpty else { throw .invalidSetting("a token needs at least one scope: read, admin or bot") }
        guard (1...100_000).contains(ratePerMinute) else {
            throw .invalidSetting("a token's rate is 1 to 100000 requests a minute, not \(ratePerMinute)")
        }
        let text = APITokenText.generate()
        let record = APITokenRecord(id: text.id, name: name, scopes: Array(Set(scopes)).sorted(), ratePerMinute: ratePerMinute, createdAt: now)
        try database.write(publishingGeneration: false) { db in
            if try Bool.fetchOne(db, cachedSQL: "SELECT 1 FROM api_token WHERE name = ? AND revoked_at IS NULL", arguments: [name]) == true {
                throw StoreError.invalidSetting("there is already a token named \(name); revoke it first with `postgate token revoke \(name)`")
            }
            try db.execute(cachedSQL: """
                INSERT INTO api_token (id, name, scopes, secret_hash, rate_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [record.id, name, record.scopes.map(\.rawValue).joined(separator: ","), text.hash, ratePerMinute,
                                 now.timeIntervalSince1970])
        }
        return (record, text)
    }

    package func tokens(includingRevoked: Bool) throws(StoreError) -> [APITokenRecord] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT * FROM api_token \(includingRevoked ? "" : "WHERE revoked_at IS NULL") ORDER BY name, created_at
                """).map(Self.tokenRecord)
        }
    }

    /// Revokes the live token named `name`: it is refused from its next request on.
    package func revokeToken(name: String, now: Date) throws(StoreError) -> APITokenRecord {
        try database.write(publishingGeneration: false) { db in
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM api_token WHERE name = ? AND revoked_at IS NULL", arguments: [name]) else {
                throw StoreError.invalidSetting("there is no live token named \(name); see `postgate token list`")
            }
            var record = Self.tokenRecord(row)
            try db.execute(cachedSQL: "UPDATE api_token SET revoked_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, record.id])
            record.revokedAt = now
            return record
        }
    }

    /// The live token whose hash matches `text`, compared in constant time.
    package func token(matching text: APITokenText) throws(StoreError) -> APITokenRecord? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, cachedSQL: "SELECT * FROM api_token WHERE id = ? AND revoked_at IS NULL", arguments: [text.id]),
                  Self.constantTimeEqual(row["secret_hash"] as String, text.hash) else { return nil }
            return Self.tokenRecord(row)
        }
    }

    package func markTokenUsed(id: String, at: Date) throws(StoreError) {
        try database.write(publishingGeneration: false) { db in
            try db.execute(cachedSQL: "UPDATE api_token SET last_used_at = ? WHERE id = ?", arguments: [at.timeIntervalSince1970, id])
        }
    }

    package func recordAudit(actor: String, action: String, target: String, detail: String?, at: Date) throws(StoreError) -> AuditEvent {
        try database.write(publishingGeneration: false) { db in
            try db.execute(cachedSQL: "INSERT INTO audit_event (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                           arguments: [at.timeIntervalSince1970, actor, action, target, detail])
            return AuditEvent(id: db.lastInsertedRowID, at: at, actor: actor, action: action, target: target, detail: detail)
        }
    }

    /// The newest events first, those older than the event `before` when it is given.
    package func auditEvents(before id: Int64?, limit: Int) throws(StoreError) -> [AuditEvent] {
        try database.read { db in
            try Row.fetchAll(db, cachedSQL: """
                SELECT * FROM audit_event WHERE id < ? ORDER BY id DESC LIMIT ?
                """, arguments: [id ?? Int64.max, limit]).map { row in
                AuditEvent(id: row["id"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], action: row["action"],
                           target: row["target"], detail: row["detail"])
            }
        }
    }

    private static func tokenRecord(_ row: Row) -> APITokenRecord {
        let scopes = (row["scopes"] as String).split(separator: ",").compactMap { APITokenScope(rawValue: String($0)) }
        return APITokenRecord(id: row["id"], name: row["name"], scopes: scopes, ratePerMinute: row["rate_per_minute"],
                              createdAt: Date(timeIntervalSince1970: row["created_at"]),
                              lastUsedAt: (row["last_used_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                              revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
