import Crypto
import Foundation
import PostgateMaildir

/// What an API token may do. `admin` includes `read`.
public enum APITokenScope: String, Sendable, Codable, CaseIterable, Comparable {
    /// Every GET of the API.
    case read
    /// Every change, and everything `read` may do.
    case admin
    /// A bot's answers to the events it is sent (reply, hand over).
    case bot

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// An API token as listed: its secret is never kept, only its SHA-256.
///
/// JSON keys: `id`, `name`, `scopes`, `ratePerMinute`, `createdAt`, `lastUsedAt`, `revokedAt`.
public struct APITokenRecord: Sendable, Codable, Equatable {
    /// The token's public part: it is in the token itself, so a token is found without a scan.
    public var id: String
    public var name: String
    public var scopes: [APITokenScope]
    /// Requests a minute the token may make before it is answered 429.
    public var ratePerMinute: Int
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(id: String, name: String, scopes: [APITokenScope], ratePerMinute: Int, createdAt: Date,
                lastUsedAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.ratePerMinute = ratePerMinute
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    /// Whether the token allows what `scope` names (`admin` allows `read`).
    public func allows(_ scope: APITokenScope) -> Bool {
        scopes.contains(scope) || (scope == .read && scopes.contains(.admin))
    }

    private enum CodingKeys: String, CodingKey { case id, name, scopes, ratePerMinute, createdAt, lastUsedAt, revokedAt }

    /// Writes every key, absent dates as `null`, so scripts see a stable set.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(scopes, forKey: .scopes)
        try c.encode(ratePerMinute, forKey: .ratePerMinute)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(lastUsedAt, forKey: .lastUsedAt)
        try c.encode(revokedAt, forKey: .revokedAt)
    }
}

/// The text of an API token: `pgt_<id>_<secret>`, the id 16 hex digits, the secret 32 random
/// bytes in base64url (RFC 4648 §5). Only SHA-256 of the whole text is stored: a token has
/// 256 bits of entropy, so a fast hash is as safe as a slow one and costs nothing per request.
public struct APITokenText: Sendable, Equatable {
    public var id: String
    public var text: String

    static let prefix = "pgt_"

    /// A new token from the system's random generator.
    public static func generate() -> APITokenText {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return APITokenText(id: id, text: prefix + id + "_" + secret)
    }

    /// The token in a request, or nil when `text` does not have a token's form.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix), text.utf8.count <= 128 else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        let parts = rest.split(separator: "_", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 16, parts[0].allSatisfy(\.isHexDigit), !parts[1].isEmpty else { return nil }
        self.init(id: String(parts[0]).lowercased(), text: text)
    }

    private init(id: String, text: String) {
        self.id = id
        self.text = text
    }

    /// What is stored: SHA-256 of the whole token, in hex.
    public var hash: String { Self.hash(text) }

    static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// One change recorded in the audit log.
///
/// JSON keys: `id`, `at`, `actor` (`token:NAME` for the API, `cli` for the command line),
/// `action` (`address.publish`, `domain.add`…), `target`, `detail` (or `null`).
public struct AuditEvent: Sendable, Codable, Equatable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var target: String
    public var detail: String?

    public init(id: Int64, at: Date, actor: String, action: String, target: String, detail: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.detail = detail
    }

    private enum CodingKeys: String, CodingKey { case id, at, actor, action, target, detail }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(at, forKey: .at)
        try c.encode(actor, forKey: .actor)
        try c.encode(action, forKey: .action)
        try c.encode(target, forKey: .target)
        try c.encode(detail, forKey: .detail)
    }
}

/// API tokens and the audit log of changes.
package protocol AccessDirectory {
    func addToken(name: String, scopes: [APITokenScope], ratePerMinute: Int, now: Date) throws(StoreError) -> (APITokenRecord, APITokenText)
    func tokens(includingRevoked: Bool) throws(StoreError) -> [APITokenRecord]
    func revokeToken(name: String, now: Date) throws(StoreError) -> APITokenRecord
    func token(matching text: APITokenText) throws(StoreError) -> APITokenRecord?
    func markTokenUsed(id: String, at: Date) throws(StoreError)
    func recordAudit(actor: String, action: String, target: String, detail: String?, at: Date) throws(StoreError) -> AuditEvent
    func auditEvents(before id: Int64?, limit: Int) throws(StoreError) -> [AuditEvent]
}
