import Foundation
import PostgateDKIM
import PostgateDNS
import PostgateStore
import PostgateDirectory

/// Checks a domain key's DNS record now and records the outcome: what `postgate dkim
/// verify` does once and the server's re-checker does on its backoff schedule.
///
/// Blocks on DNS and SQLite: call it on a thread pool.
public struct DKIMDomainChecker: Sendable {
    public let store: MailStore
    public let fetcher: DKIMKeyFetcher
    public let policy: DKIMDomainVerification

    public init(store: MailStore, resolver: DNSResolver, policy: DKIMDomainVerification) {
        self.store = store
        self.fetcher = DKIMKeyFetcher(resolver: resolver)
        self.policy = policy
    }

    public init(store: MailStore, configuration: GatewayConfiguration) {
        self.init(store: store, resolver: DNSResolver(configuration: configuration.dns.resolverConfiguration),
                  policy: configuration.dkim.verificationPolicy)
    }

    /// Looks the record up and stores the new status, last and next check.
    @discardableResult
    public func check(_ entry: DKIMKeyEntry, now: Date) throws -> DKIMKeyEntry {
        let lookup = fetcher.lookup(selector: entry.selector, domain: entry.domain)
        let algorithm = DKIMAlgorithm(rawValue: entry.algorithm) ?? .rsaSHA256
        let expected = (try? DKIMKeyRecord(entry.publicRecord))?.tags.base64("p") ?? ""
        let outcome = policy.evaluate(lookup, expectedPublicKey: expected, algorithm: algorithm,
                                      firstSeen: entry.firstSeenAt.timeIntervalSince1970,
                                      now: now.timeIntervalSince1970, checksSoFar: entry.checkCount)
        let record = DKIMCheckRecord(status: outcome.status.rawValue, reason: outcome.reason, checkedAt: now,
                                     nextCheckAt: outcome.nextCheck.map(Date.init(timeIntervalSince1970:)))
        return try store.recordDKIMCheck(record, for: entry)
    }

    /// Checks every key whose next check is due at `now`; returns the updated entries.
    public func checkDue(now: Date) throws -> [DKIMKeyEntry] {
        try store.dkimKeysDue(at: now).map { try check($0, now: now) }
    }
}
