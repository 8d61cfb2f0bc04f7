import Foundation
import PostgateMessage

/// A hosted domain, as the directory lists it.
public struct DomainRecord: Sendable, Codable, Equatable {
    /// The canonical name (lower-case, A-labels), the key mail is matched on.
    public var name: String
    /// The name for people (U-labels where the domain is internationalised).
    public var unicodeName: String
    /// How many addresses (not aliases) the domain hosts.
    public var addressCount: Int
    public var createdAt: Date

    public init(name: String, unicodeName: String, addressCount: Int, createdAt: Date) {
        self.name = name
        self.unicodeName = unicodeName
        self.addressCount = addressCount
        self.createdAt = createdAt
    }
}
