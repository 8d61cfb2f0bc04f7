import PostgateDNS

/// `OutboundResolver` over the gateway's configurable stub resolver (PostgateDNS), so that
/// direct MX delivery asks the same servers as DKIM (`dns.servers`).
///
/// MX (RFC 5321 section 5.1): NXDOMAIN is final (`noSuchDomain`); no MX records (NODATA)
/// is an empty list, which makes the domain its own implicit MX; a SERVFAIL or a timeout
/// is thrown and becomes a temporary failure (4xx-like, retried).
public struct DNSOutboundResolver: OutboundResolver {
    public let resolver: DNSResolver

    public init(resolver: DNSResolver) {
        self.resolver = resolver
    }

    public func mx(_ domain: String) async throws -> [(preference: Int, host: String)] {
        switch try await resolver.query(domain, type: .mx) {
        case .nameDoesNotExist: throw OutboundResolverError.noSuchDomain(domain)
        case .noData: return []
        case .records(let records):
            return records.compactMap { record in
                guard case .mx(let preference, let exchange) = record else { return nil }
                return (Int(preference), exchange.isEmpty ? "." : exchange)
            }
        }
    }

    /// AAAA then A (RFC 5321 section 5.1 leaves the order to the client; IPv6 first as
    /// RFC 6724 prefers). A host with neither throws `noSuchDomain`; one family failing
    /// temporarily is ignored when the other answers.
    public func addresses(_ host: String) async throws -> [String] {
        var found: [String] = []
        var failure: (any Error)?
        var exists = false
        for type in [DNSRecordType.aaaa, .a] {
            do {
                let answer = try await resolver.query(host, type: type)
                if case .nameDoesNotExist = answer { continue }
                exists = true
                found += answer.records.compactMap(Self.text)
            } catch {
                failure = error
            }
        }
        if found.isEmpty, let failure { throw failure }
        if !exists { throw OutboundResolverError.noSuchDomain(host) }
        return found
    }

    private static func text(_ record: DNSRecord) -> String? {
        switch record {
        case .a(let bytes) where bytes.count == 4:
            return bytes.map(String.init).joined(separator: ".")
        case .aaaa(let bytes) where bytes.count == 16:
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        default:
            return nil
        }
    }
}
