import PostgateStore

/// Turns a domain's MX records into the servers to try (RFC 5321 section 5.1): by
/// preference, lowest first; no MX records means the domain itself (the implicit MX); a
/// single MX of "." is a null MX (RFC 7505) and fails at once.
public struct MXPlanner: Sendable {
    public let resolver: any OutboundResolver
    public let port: Int
    public let tls: SMTPTLSPolicy
    /// At most this many addresses are tried for one domain in one attempt.
    public var maxEndpoints = 10

    public init(resolver: any OutboundResolver, port: Int = 25, tls: SMTPTLSPolicy = .opportunistic) {
        self.resolver = resolver
        self.port = port
        self.tls = tls
    }

    public func endpoints(for domain: String) async -> Result<[SMTPEndpoint], OutboundFailure> {
        let records: [(preference: Int, host: String)]
        do {
            records = try await resolver.mx(domain)
        } catch OutboundResolverError.noSuchDomain(let name) {
            return .failure(OutboundFailure(.permanent(reason: "domain \(name) does not exist (NXDOMAIN)")))
        } catch {
            return .failure(OutboundFailure(.temporary(reason: "MX lookup for \(domain) failed: \(error)")))
        }
        if records.count == 1, records[0].host == "." || records[0].host.isEmpty {
            return .failure(OutboundFailure(.permanent(reason: "domain \(domain) accepts no mail (null MX, RFC 7505)")))
        }
        let hosts = records.isEmpty ? [domain] : records.sorted { $0.preference < $1.preference }.map { Self.trimDot($0.host) }
        var endpoints: [SMTPEndpoint] = []
        var lastError: String?
        for host in hosts where endpoints.count < maxEndpoints {
            do {
                for address in try await resolver.addresses(host) where endpoints.count < maxEndpoints {
                    endpoints.append(SMTPEndpoint(host: host, address: address, port: port, tls: tls))
                }
            } catch {
                lastError = "address lookup for \(host) failed: \(error)"
            }
        }
        guard !endpoints.isEmpty else {
            return .failure(OutboundFailure(.temporary(reason: lastError ?? "no address for the mail exchangers of \(domain)")))
        }
        return .success(endpoints)
    }

    private static func trimDot(_ host: String) -> String {
        host.hasSuffix(".") ? String(host.dropLast()) : host
    }
}
