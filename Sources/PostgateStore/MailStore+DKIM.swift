import Foundation
import PostgateMessage
import PostgateMaildir
import PostgateDirectory

/// DKIM keys: the private key files under DATA/dkim/ (mode 0600, written durably) and
/// their rows in the index.
extension MailStore {
    /// Stores a new key for `domain` under `selector`: the PEM file first (fsynced, mode
    /// 0600), then the row, status Pending, first check due at `now`.
    /// - Throws: `.domainNotHosted`, `.dkimSelectorExists`, or an I/O error; nothing is
    ///   left behind on failure.
    public func addDKIMKey(domain: DomainName, selector: String, algorithm: String, privateKeyPEM: String, publicRecord: String, now: Date = Date()) throws(StoreError) -> DKIMKeyEntry {
        guard try directory.domains().contains(where: { $0.name == domain.ascii }) else { throw .domainNotHosted(domain) }
        if try directory.keys(domain: domain.ascii).contains(where: { $0.selector == selector }) {
            throw .dkimSelectorExists(domain, selector: selector)
        }
        let directoryPath = "dkim/" + domain.ascii
        let keyPath = directoryPath + "/" + selector + ".pem"
        try FileSystem.makeDirectories(data.absolute(directoryPath))
        try FileSystem.writeDurably(Array(privateKeyPEM.utf8), to: data.absolute(keyPath), directory: data.absolute(directoryPath), mode: 0o600)
        let entry = DKIMKeyEntry(
            domain: domain.ascii, unicodeDomain: domain.unicode, selector: selector, algorithm: algorithm,
            keyPath: keyPath, publicRecord: publicRecord, status: "Pending", statusReason: nil,
            firstSeenAt: now, lastCheckAt: nil, nextCheckAt: now, checkCount: 0)
        do {
            return try directory.add(entry)
        } catch {
            try? FileSystem.unlink(data.absolute(keyPath))
            throw error
        }
    }

    /// The keys of `domain` (oldest first), or of every domain.
    public func dkimKeys(domain: DomainName? = nil) throws(StoreError) -> [DKIMKeyEntry] {
        try directory.keys(domain: domain?.ascii)
    }

    /// The key of `domain` with `selector`, or its newest key when `selector` is nil.
    public func dkimKey(domain: DomainName, selector: String? = nil) throws(StoreError) -> DKIMKeyEntry {
        let keys = try directory.keys(domain: domain.ascii)
        let found = selector.map { selector in keys.last { $0.selector == selector } } ?? keys.last
        guard let found else { throw .dkimKeyNotFound(domain, selector: selector) }
        return found
    }

    /// Keys whose next automatic check is due at `date`.
    public func dkimKeysDue(at date: Date) throws(StoreError) -> [DKIMKeyEntry] {
        try directory.due(at: date)
    }

    /// Records the outcome of a verification check.
    @discardableResult
    public func recordDKIMCheck(_ check: DKIMCheckRecord, for entry: DKIMKeyEntry) throws(StoreError) -> DKIMKeyEntry {
        try directory.record(check, domain: entry.domain, selector: entry.selector)
    }

    /// The PEM text of `entry`'s private key file.
    public func dkimPrivateKeyPEM(_ entry: DKIMKeyEntry) throws(StoreError) -> String {
        String(decoding: try FileSystem.read(data.absolute(entry.keyPath), limit: 64 * 1024), as: UTF8.self)
    }

    /// The status shown for each domain, by domain name (A-label): Success if a key
    /// verified (that key signs), else its newest key's status.
    public func dkimStatusByDomain() throws(StoreError) -> [String: String] {
        var statuses: [String: String] = [:]
        for entry in try directory.keys(domain: nil) where statuses[entry.domain] != "Success" {
            statuses[entry.domain] = entry.status
        }
        return statuses
    }
}
