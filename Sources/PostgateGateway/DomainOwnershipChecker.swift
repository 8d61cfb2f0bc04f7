import Foundation
import PostgateDKIM
import PostgateDNS
import PostgateDirectory
import PostgateMessage
import PostgateStore

/// Checks a custom domain's ownership record now and records the outcome: the TXT record
/// at `_postgate.DOMAIN` must hold `postgate-verification=TOKEN` (the strings of a record
/// joined, RFC 7208 section 3.3 style). Statuses as for DKIM records: Success; Pending when
/// there is no record yet; Failed when a record is there without the token; Temporary
/// Failure when DNS did not answer.
///
/// Blocks on DNS and SQLite: call it on a thread pool.
public struct DomainOwnershipChecker: Sendable {
    public let store: MailStore
    public let resolver: DNSResolver

    public init(store: MailStore, resolver: DNSResolver) {
        self.store = store
        self.resolver = resolver
    }

    public init(store: MailStore, configuration: GatewayConfiguration) {
        self.init(store: store, resolver: DNSResolver(configuration: configuration.dns.resolverConfiguration))
    }

    /// Looks the record up and stores the status; nil for a hosted domain (nothing to verify).
    @discardableResult
    public func check(_ domain: DomainName, now: Date) throws -> DomainOwnership? {
        guard var ownership = try store.domainOwnership(domain) else { return nil }
        let (status, reason) = Self.status(of: lookup(ownership.recordName), expected: ownership.recordValue)
        try store.recordOwnershipCheck(domain, status: status.rawValue, reason: reason, at: now)
        ownership.status = status.rawValue
        ownership.reason = reason
        ownership.checkedAt = now
        return ownership
    }

    private func lookup(_ name: String) -> DKIMKeyLookupResult {
        do {
            switch try resolver.query(name, type: .txt) {
            case .records(let records): return .records(records.compactMap(\.joinedText))
            case .nameDoesNotExist, .noData: return .none
            }
        } catch {
            return .temporaryFailure(error.description)
        }
    }

    static func status(of lookup: DKIMKeyLookupResult, expected: String) -> (DKIMVerificationStatus, String?) {
        switch lookup {
        case .none:
            return (.pending, "no TXT record yet")
        case .temporaryFailure(let reason):
            return (.temporaryFailure, reason)
        case .records(let records):
            if records.contains(where: { $0.trimmingCharacters(in: .whitespaces) == expected }) { return (.success, nil) }
            return (.failed, "the TXT record does not hold \(expected)")
        }
    }
}
