import Foundation
import PostgateMessage

/// A hosted domain, as the directory lists it.
public struct DomainRecord: Sendable, Codable, Equatable {
    /// The canonical name (lower-case, A-labels), the key mail is matched on.
    public var name: String
    /// The name for people (U-labels where the domain is internationalised).
    public var unicodeName: String
    /// Hosted (the gateway's own) or a standard or advanced custom domain.
    public var kind: DomainKind
    /// How many addresses (not aliases) the domain hosts.
    public var addressCount: Int
    public var createdAt: Date
    /// Addresses on the domain may be enabled only once the domain's ownership and its DKIM
    /// record are verified (Success). On for custom domains when added.
    public var requireVerification: Bool
    /// Domain ownership: the value to publish as TXT at `_postgate.DOMAIN`, and how its last
    /// check went (Pending, Success, Failed, Temporary Failure).
    public var ownership: DomainOwnership?

    public init(name: String, unicodeName: String, kind: DomainKind, addressCount: Int, createdAt: Date,
                requireVerification: Bool = false, ownership: DomainOwnership? = nil) {
        self.name = name
        self.unicodeName = unicodeName
        self.kind = kind
        self.addressCount = addressCount
        self.createdAt = createdAt
        self.requireVerification = requireVerification
        self.ownership = ownership
    }

    private enum CodingKeys: String, CodingKey {
        case name, unicodeName, kind, addressCount, createdAt, requireVerification, ownership
    }

    /// Writes every key, `ownership` as `null` for a hosted domain, so scripts see a stable set.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(unicodeName, forKey: .unicodeName)
        try c.encode(kind, forKey: .kind)
        try c.encode(addressCount, forKey: .addressCount)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(requireVerification, forKey: .requireVerification)
        try c.encode(ownership, forKey: .ownership)
    }
}

/// The ownership check of a custom domain: a TXT record at `_postgate.DOMAIN` holding
/// `postgate-verification=TOKEN` shows that whoever controls the domain's DNS added it here.
public struct DomainOwnership: Sendable, Codable, Equatable {
    public var recordName: String
    /// The TXT value to publish.
    public var recordValue: String
    /// Pending, Success, Failed or Temporary Failure (as DKIM statuses are named).
    public var status: String
    public var reason: String?
    public var checkedAt: Date?

    public init(recordName: String, recordValue: String, status: String, reason: String? = nil, checkedAt: Date? = nil) {
        self.recordName = recordName
        self.recordValue = recordValue
        self.status = status
        self.reason = reason
        self.checkedAt = checkedAt
    }

    /// The record name for a domain (A-labels).
    public static func recordName(for domain: String) -> String { "_postgate." + domain }

    /// The TXT value for a token.
    public static func recordValue(token: String) -> String { "postgate-verification=" + token }
}
