import PostgateMessage

/// The inbound policy applied to every message, for each receiving address: a pure
/// decision over the header fields, the envelope sender, the address's settings and its
/// blocklist.
///
/// Rules, first match wins:
/// 1. **Blocklist**: the From address or the envelope sender is on the address's
///    blocklist (as an address or by domain) → `.blocked`.
/// 2. **Allowed domains**: the author's domain (From; the envelope sender only when From
///    has no address, since forwarders rewrite the envelope sender with SRS) is not
///    allowed → `.quarantined(.senderDomainNotAllowed)`.
/// 3. **Sync when recipient only**: the message must be addressed to the address in To
///    or Cc (or Resent-To / Resent-Cc, RFC 5322 section 3.6.6). Forwarders that keep the
///    original To are handled two ways: the contact centre's own address is one of
///    `recipientAddresses`; and an address that a forwarding trace field
///    (Delivered-To, X-Original-To, X-Forwarded-To, X-Forwarded-For, Envelope-To) says was
///    forwarded here counts when it also appears in To or Cc. The trace fields alone never
///    count: MTAs write them for Bcc and list copies too, exactly the mail this setting
///    exists to hold back, and any sender can write them → otherwise
///    `.quarantined(.notARecipient)`.
/// 4. **Auto-replies** (when excluded): any `AutoReplyDetector` marker → `.autoReply`.
/// 5. Otherwise `.deliver`.
public enum InboundPolicy {
    /// Trace fields in which forwarders and delivery agents record the original recipient.
    public static let forwardingFieldNames = [
        "Delivered-To", "X-Original-To", "X-Forwarded-To", "X-Forwarded-For", "Envelope-To", "X-Envelope-To",
    ]
    /// Fields naming the recipients a sender (or resender) addressed.
    public static let visibleRecipientFieldNames = ["To", "Cc", "Resent-To", "Resent-Cc"]

    /// - Parameters:
    ///   - header: the message's header fields.
    ///   - envelopeSender: the `MAIL FROM` reverse path, `""` for `<>`.
    ///   - settings: the receiving address's policy settings.
    ///   - blocklist: the receiving address's blocklist entry that blocks a sender, if any.
    public static func evaluate(
        header: MessageHeader, envelopeSender: String, settings: AddressPolicySettings,
        blocklist: (EmailAddress) throws -> BlocklistEntry?
    ) rethrows -> PolicyVerdict {
        let from = HeaderAddressList.addresses("From", in: header)
        let envelope = HeaderAddressList.addresses(in: envelopeSender).first
        for sender in from + (envelope.map { [$0] } ?? []) {
            if let entry = try blocklist(sender) { return .blocked(entry) }
        }
        if !settings.allowedSenderDomains.isEmpty {
            let author = from.first ?? envelope
            guard let author, settings.allows(author.domain) else {
                return .quarantined(.senderDomainNotAllowed(author?.domain.unicode))
            }
        }
        if settings.syncWhenRecipientOnly && !isAddressed(header, to: settings.recipientAddresses) {
            return .quarantined(.notARecipient)
        }
        if settings.excludeAutoReplies, let marker = AutoReplyDetector.marker(header: header, envelopeSender: envelopeSender) {
            return .autoReply(marker)
        }
        return .deliver
    }

    /// True if one of `names` is a visible recipient, or a visible recipient was forwarded here.
    public static func isAddressed(_ header: MessageHeader, to names: Set<String>) -> Bool {
        let visible = Set(visibleRecipientFieldNames.flatMap { HeaderAddressList.addresses($0, in: header) }.map(\.canonical))
        if !visible.isDisjoint(with: names) { return true }
        let forwarded = forwardingFieldNames.flatMap { HeaderAddressList.addresses($0, in: header) }.map(\.canonical)
        return forwarded.contains { visible.contains($0) }
    }
}
