/// The DNS answers direct MX delivery needs (RFC 5321 section 5.1). The DNS module
/// (PostgateDNS, through `DNSOutboundResolver`) answers it from the configured servers; this module holds
/// no DNS client of its own.
public protocol OutboundResolver: Sendable {
    /// The MX records of `domain` (A-label form). An empty list means the domain has none
    /// (the domain itself is then the implicit MX); an error means the lookup failed
    /// temporarily. A domain that does not exist throws `OutboundResolverError.noSuchDomain`.
    func mx(_ domain: String) async throws -> [(preference: Int, host: String)]

    /// The IPv6 and IPv4 addresses of `host`, in the order to try them.
    func addresses(_ host: String) async throws -> [String]
}

/// A lookup answer that is final rather than temporary.
public enum OutboundResolverError: Error, Sendable, Equatable {
    /// NXDOMAIN: the domain does not exist (a permanent failure for its recipients).
    case noSuchDomain(String)
}
