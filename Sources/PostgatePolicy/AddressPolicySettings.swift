import PostgateMessage

/// The inbound policy settings of one receiving address: allowed sender domains, exclude
/// auto-replies and sync when recipient only (`postgate address set`).
public struct AddressPolicySettings: Sendable, Equatable {
    /// Senders whose From domain is one of these, or a subdomain of one, are accepted;
    /// others are quarantined. Empty: every domain is allowed.
    public var allowedSenderDomains: [DomainName]
    /// Flag automatic replies, bounces and bulk mail, so they are kept but never answered
    /// or routed as a new interaction.
    public var excludeAutoReplies: Bool
    /// Quarantine a message unless the address (or another of `recipientAddresses`)
    /// appears in To or Cc; see `InboundPolicy` for how forwarded mail is judged.
    public var syncWhenRecipientOnly: Bool
    /// The names that count as this address in To/Cc: the address, its aliases and the
    /// contact centre's own address that forwards to it, in canonical form.
    public var recipientAddresses: Set<String>

    public init(
        allowedSenderDomains: [DomainName] = [], excludeAutoReplies: Bool = true,
        syncWhenRecipientOnly: Bool = false, recipientAddresses: Set<String> = []
    ) {
        self.allowedSenderDomains = allowedSenderDomains
        self.excludeAutoReplies = excludeAutoReplies
        self.syncWhenRecipientOnly = syncWhenRecipientOnly
        self.recipientAddresses = recipientAddresses
    }

    /// True if `domain` is allowed: no restriction, or equal to or below an allowed domain.
    public func allows(_ domain: DomainName) -> Bool {
        allowedSenderDomains.isEmpty || allowedSenderDomains.contains { allowed in
            domain.ascii == allowed.ascii || domain.ascii.hasSuffix("." + allowed.ascii)
        }
    }
}
