import PostgateDNS

/// Fetches key records from DNS (RFC 6376 section 3.6.2.2): TXT at
/// `selector._domainkey.domain`, the strings of each record joined.
public struct DKIMKeyFetcher: Sendable {
    public let resolver: DNSResolver

    public init(resolver: DNSResolver) {
        self.resolver = resolver
    }

    /// The record name for a selector and domain (A-label form).
    public static func recordName(selector: String, domain: String) -> String {
        "\(selector)._domainkey.\(domain)"
    }

    /// Blocks for the DNS round trip: call it on a thread pool.
    public func lookup(selector: String, domain: String) -> DKIMKeyLookupResult {
        do {
            switch try resolver.query(Self.recordName(selector: selector, domain: domain), type: .txt) {
            case .records(let records): return .records(records.compactMap(\.joinedText))
            case .nameDoesNotExist, .noData: return .none
            }
        } catch {
            return .temporaryFailure(error.description)
        }
    }
}
