import PostgateDKIM
import PostgateMessage
import PostgateStore

/// The signing keys of the hosted domains, for the replies agents send and
/// `postgate dkim sign`: a domain signs with its newest key whose record verified
/// (Success), else with its newest key.
public struct DKIMKeyring: Sendable {
    public let store: MailStore

    public init(store: MailStore) {
        self.store = store
    }

    /// The signer for `domain`, or nil if the domain has no DKIM key.
    /// - Throws: a store error, or a `DKIMError` if the key file is damaged.
    public func signer(for domain: DomainName, selector: String? = nil) throws -> DKIMSigner? {
        let keys = try store.dkimKeys(domain: domain)
        let chosen = selector.map { selector in keys.last { $0.selector == selector } }
            ?? keys.last { $0.status == DKIMVerificationStatus.success.rawValue } ?? keys.last
        guard let entry = chosen else { return nil }
        let key = try DKIMPrivateKey(pem: try store.dkimPrivateKeyPEM(entry))
        return DKIMSigner(domain: entry.domain, selector: entry.selector, key: key)
    }
}
