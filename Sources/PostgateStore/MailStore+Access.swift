import Foundation
import PostgateDirectory
import PostgateMaildir

/// API tokens (`postgate token`) and the audit log of changes (`postgate audit`).
extension MailStore {
    /// Adds an API token. The returned text is the only copy of the token: only its hash is kept.
    public func addToken(name: String, scopes: [APITokenScope], ratePerMinute: Int, now: Date = Date()) throws(StoreError) -> (APITokenRecord, APITokenText) {
        try directory.addToken(name: name, scopes: scopes, ratePerMinute: ratePerMinute, now: now)
    }

    public func tokens(includingRevoked: Bool = false) throws(StoreError) -> [APITokenRecord] {
        try directory.tokens(includingRevoked: includingRevoked)
    }

    @discardableResult
    public func revokeToken(name: String, now: Date = Date()) throws(StoreError) -> APITokenRecord {
        try directory.revokeToken(name: name, now: now)
    }

    /// The live token `text` is, or nil (unknown, revoked, or a wrong secret).
    public func token(matching text: APITokenText) throws(StoreError) -> APITokenRecord? {
        try directory.token(matching: text)
    }

    public func markTokenUsed(id: String, at: Date = Date()) throws(StoreError) {
        try directory.markTokenUsed(id: id, at: at)
    }

    /// Records a change in the audit log.
    @discardableResult
    public func recordAudit(actor: String, action: String, target: String, detail: String? = nil, at: Date = Date()) throws(StoreError) -> AuditEvent {
        try directory.recordAudit(actor: actor, action: action, target: target, detail: detail, at: at)
    }

    /// Audit events, newest first; `before` continues a listing after the event with that id.
    public func auditEvents(before id: Int64? = nil, limit: Int = 100) throws(StoreError) -> [AuditEvent] {
        try directory.auditEvents(before: id, limit: limit)
    }
}
