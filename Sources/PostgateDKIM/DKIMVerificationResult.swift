/// The outcome of checking one DKIM-Signature, with the result names of RFC 8601
/// section 2.7.1 (used as is in Authentication-Results).
public struct DKIMVerificationResult: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pass, fail, neutral, temperror, permerror
    }

    public var status: Status
    public var domain: String?
    public var selector: String?
    public var identity: String?
    public var signaturePrefix: String?
    /// Why, for anything but a pass: a short phrase.
    public var reason: String?

    public init(status: Status, domain: String? = nil, selector: String? = nil, identity: String? = nil, signaturePrefix: String? = nil, reason: String? = nil) {
        self.status = status
        self.domain = domain
        self.selector = selector
        self.identity = identity
        self.signaturePrefix = signaturePrefix
        self.reason = reason
    }
}

/// Looks up the key records of `selector._domainkey.domain` (RFC 6376 section 3.6.2).
public enum DKIMKeyLookupResult: Sendable, Equatable {
    /// The TXT records found, each with its strings joined.
    case records([String])
    /// NXDOMAIN or no TXT record.
    case none
    /// A DNS error or timeout: try again later.
    case temporaryFailure(String)
}
