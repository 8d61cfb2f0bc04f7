/// What a hosted domain is to the contact centre: the gateway's own domain, or a custom one.
///
/// - `hosted`: the gateway's own domain, to which customers forward their mail.
/// - `standard`: a custom domain of the standard plan (by default 5 domains × 5 addresses).
/// - `advanced`: a custom domain of the advanced plan (50 × 50), which carries a DKIM key.
public enum DomainKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case hosted
    case standard
    case advanced

    public var description: String { rawValue }
}

/// How many custom domains of each kind, and addresses in each, may be hosted. The hosted
/// kind has no limit. Settings (`channels.limits` in the config); defaults 5 × 5 and 50 × 50.
public struct ChannelLimits: Sendable, Equatable {
    public struct Limit: Sendable, Equatable {
        public var domains: Int
        public var addressesPerDomain: Int

        public init(domains: Int, addressesPerDomain: Int) {
            self.domains = domains
            self.addressesPerDomain = addressesPerDomain
        }
    }

    public var standard = Limit(domains: 5, addressesPerDomain: 5)
    public var advanced = Limit(domains: 50, addressesPerDomain: 50)

    public init() {}

    /// The limit of `kind`, nil for the unlimited hosted kind.
    public func limit(for kind: DomainKind) -> Limit? {
        switch kind {
        case .hosted: nil
        case .standard: standard
        case .advanced: advanced
        }
    }
}
