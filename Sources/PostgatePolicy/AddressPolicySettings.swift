import Foundation
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
    /// Apply the blocklist; off lets every sender through (the entries stay).
    public var blocklistEnabled: Bool
    /// The administrator's own auto-reply keywords, matched in the subject ignoring case.
    public var autoReplyKeywords: [String]
    /// The administrator's own auto-reply senders: canonical addresses, or domains (A-labels)
    /// that also cover their subdomains.
    public var autoReplySenders: [String]

    public init(
        allowedSenderDomains: [DomainName] = [], excludeAutoReplies: Bool = true,
        syncWhenRecipientOnly: Bool = false, recipientAddresses: Set<String> = [],
        blocklistEnabled: Bool = true, autoReplyKeywords: [String] = [], autoReplySenders: [String] = []
    ) {
        self.allowedSenderDomains = allowedSenderDomains
        self.excludeAutoReplies = excludeAutoReplies
        self.syncWhenRecipientOnly = syncWhenRecipientOnly
        self.recipientAddresses = recipientAddresses
        self.blocklistEnabled = blocklistEnabled
        self.autoReplyKeywords = autoReplyKeywords
        self.autoReplySenders = autoReplySenders
    }

    /// The administrator's own auto-reply rule a message meets: a listed sender (From or
    /// the envelope), or a keyword in the subject or, when `body` is given, in the text
    /// (asked for only when a keyword did not match the subject).
    public func ownAutoReplyMarker(subject: String?, senders: [EmailAddress], body: (() -> String)? = nil) -> AutoReplyMarker? {
        for sender in senders {
            for listed in autoReplySenders {
                if listed.contains("@") ? sender.canonical == listed
                    : (sender.domain.ascii == listed || sender.domain.ascii.hasSuffix("." + listed)) {
                    return .listedSender(listed)
                }
            }
        }
        guard !autoReplyKeywords.isEmpty else { return nil }
        if let subject {
            let folded = subject.lowercased()
            if let keyword = autoReplyKeywords.first(where: { folded.contains($0.lowercased()) }) { return .keyword(keyword) }
        }
        if let body {
            let text = body()
            if let keyword = autoReplyKeywords.first(where: { text.range(of: $0, options: [.caseInsensitive, .diacriticInsensitive]) != nil }) {
                return .keyword(keyword)
            }
        }
        return nil
    }

    /// True if `domain` is allowed: no restriction, or equal to or below an allowed domain.
    public func allows(_ domain: DomainName) -> Bool {
        allowedSenderDomains.isEmpty || allowedSenderDomains.contains { allowed in
            domain.ascii == allowed.ascii || domain.ascii.hasSuffix("." + allowed.ascii)
        }
    }
}
