import Foundation
import PostgateMaildir

/// A domain's DKIM key as the store knows it: where the private key file is, the TXT
/// record to publish, and the DNS verification state.
public struct DKIMKeyEntry: Sendable, Codable, Equatable {
    public var domain: String
    public var unicodeDomain: String
    public var selector: String
    /// `rsa-sha256` or `ed25519-sha256`.
    public var algorithm: String
    /// The private key file, relative to the data directory.
    public var keyPath: String
    /// The TXT value to publish at `selector._domainkey.domain`.
    public var publicRecord: String
    /// `Pending`, `Success`, `Failed` or `Temporary Failure`.
    public var status: String
    public var statusReason: String?
    public var firstSeenAt: Date
    public var lastCheckAt: Date?
    public var nextCheckAt: Date?
    public var checkCount: Int

    /// `selector._domainkey.domain`, the record name.
    public var recordName: String { "\(selector)._domainkey.\(domain)" }

    package init(domain: String, unicodeDomain: String, selector: String, algorithm: String, keyPath: String, publicRecord: String, status: String, statusReason: String?, firstSeenAt: Date, lastCheckAt: Date?, nextCheckAt: Date?, checkCount: Int) {
        self.domain = domain
        self.unicodeDomain = unicodeDomain
        self.selector = selector
        self.algorithm = algorithm
        self.keyPath = keyPath
        self.publicRecord = publicRecord
        self.status = status
        self.statusReason = statusReason
        self.firstSeenAt = firstSeenAt
        self.lastCheckAt = lastCheckAt
        self.nextCheckAt = nextCheckAt
        self.checkCount = checkCount
    }
}

/// The outcome of one verification check, to record.
public struct DKIMCheckRecord: Sendable, Equatable {
    public var status: String
    public var reason: String?
    public var checkedAt: Date
    /// nil: the status is final, no more automatic checks.
    public var nextCheckAt: Date?

    public init(status: String, reason: String?, checkedAt: Date, nextCheckAt: Date?) {
        self.status = status
        self.reason = reason
        self.checkedAt = checkedAt
        self.nextCheckAt = nextCheckAt
    }
}

/// The DKIM keys of the hosted domains, in the index database.
package protocol DKIMKeyDirectory: Sendable {
    func add(_ entry: DKIMKeyEntry) throws(StoreError) -> DKIMKeyEntry
    func keys(domain: String?) throws(StoreError) -> [DKIMKeyEntry]
    func due(at date: Date) throws(StoreError) -> [DKIMKeyEntry]
    func record(_ check: DKIMCheckRecord, domain: String, selector: String) throws(StoreError) -> DKIMKeyEntry
}
