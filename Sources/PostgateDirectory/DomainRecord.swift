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

    public init(name: String, unicodeName: String, kind: DomainKind, addressCount: Int, createdAt: Date) {
        self.name = name
        self.unicodeName = unicodeName
        self.kind = kind
        self.addressCount = addressCount
        self.createdAt = createdAt
    }
}
