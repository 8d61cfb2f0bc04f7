import NIOPosix
import PostgateBlocking
import PostgateDNS

/// `OutboundResolver` over the gateway's configurable stub resolver (PostgateDNS), so that
/// direct MX delivery asks the same servers as DKIM (`dns.servers`).
///
/// The stub resolver's queries block on their sockets (bounded by its timeouts), so each
/// runs on `threadPool`, the gateway's pool for blocking work, and the delivery worker's
/// task waits for it without holding a cooperative thread.
///
/// MX (RFC 5321 section 5.1): NXDOMAIN is final (`noSuchDomain`); no MX records (NODATA)
/// is an empty list, which makes the domain its own implicit MX; a SERVFAIL or a timeout
/// is thrown and becomes a temporary failure (4xx-like, retried).
public struct DNSOutboundResolver: OutboundResolver {
    public let resolver: DNSResolver
    public let threadPool: NIOThreadPool

    public init(resolver: DNSResolver, threadPool: NIOThreadPool) {
        self.resolver = resolver
        self.threadPool = threadPool
    }

    /// `resolver.query` on the thread pool; a cancelled task still gets its answer (the
    /// query is bounded by its own timeouts).
    private func query(_ name: String, type: DNSRecordType) async throws -> DNSAnswer {
        let resolver = self.resolver
        return try await threadPool.runToCompletion { try resolver.query(name, type: type) }
    }

    public func mx(_ domain: String) async throws -> [(preference: Int, host: String)] {
        switch try await query(domain, type: .mx) {
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
                let answer = try await query(host, type: type)
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
