import Foundation
import PostgateDKIM

/// Inbound DKIM verification (RFC 6376 section 6) for the MX path: a streaming verifier
/// per message, and the Authentication-Results field (RFC 8601) that records the result,
/// with this gateway's hostname as authserv-id.
public struct DKIMInboundVerifier: Sendable {
    public let fetcher: DKIMKeyFetcher
    public let authservID: String
    public let maxHeaderBytes: Int
    /// Counts the results.
    public var metrics = DKIMMetrics.disabled

    public init(fetcher: DKIMKeyFetcher, authservID: String, maxHeaderBytes: Int) {
        self.fetcher = fetcher
        self.authservID = authservID
        self.maxHeaderBytes = maxHeaderBytes
    }

    public func makeMessageVerifier() -> DKIMMessageVerifier {
        DKIMMessageVerifier(maxHeaderBytes: maxHeaderBytes)
    }

    /// Finishes `verifier` (DNS lookups: blocks, call on the thread pool) and returns the
    /// Authentication-Results header field, CRLF-terminated.
    public func authenticationResults(_ verifier: inout DKIMMessageVerifier, now: Date = Date()) -> [UInt8] {
        let fetcher = self.fetcher
        let results = verifier.finish(now: now) { selector, domain in fetcher.lookup(selector: selector, domain: domain) }
        metrics.count(results)
        return Array(DKIMAuthenticationResults.headerField(authservID: authservID, results: results).utf8)
    }
}
