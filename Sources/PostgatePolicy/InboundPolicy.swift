import PostgateMessage

/// The inbound policy applied to every message, for each receiving address: a pure
/// decision over the header fields, the envelope sender, the address's settings and its
/// blocklist.
///
/// Rules, first match wins:
/// 0. **Loop protection**: the message is a copy of a reply Postgate itself sent (the Bcc
///    to the contact centre's address, forwarded back to the channel address by Gmail or
///    Exchange, which keep the Message-ID): its Message-ID verifies as one Postgate signed
///    (`verifyMessageID`, an HMAC check, so a guessed id is an ordinary message) AND every
///    From address is hosted here → `.ownReply`. It comes first: the copy is addressed to
///    the customer (not in To/Cc for recipient-only sync) and comes from our own domain
///    (perhaps not an allowed one), yet it is neither spam nor a customer's message.
/// 0a. **Forwarding checks**: the test message `postgate address verify-forwarding` sent
///    to a customer's public address, back through their forwarding: a token Postgate
///    signed (`ForwardingCheck`, an HMAC check) AND every From address hosted here →
///    `.forwardingCheck`, for the administrator. Like rule 0 it comes before the others:
///    the message is addressed to the customer's address and may come through any domain.
/// 0b. **Forwarding confirmations**: a provider asks to confirm that a mailbox may forward
///    here (`ForwardingConfirmation`) → `.forwardingConfirmation`, for the administrator.
/// 1. **Blocklist**: the From address or the envelope sender is on the address's
///    blocklist (as an address or by domain) → `.blocked`.
/// 2. **Allowed domains**: the author's domain (From; the envelope sender only when From
///    has no address, since forwarders rewrite the envelope sender with SRS) is not
///    allowed → `.quarantined(.senderDomainNotAllowed)`.
/// 3. **Sync when recipient only**: the message must be addressed to the address in To,
///    Cc or Bcc. To and Cc (and Resent-To / Resent-Cc, RFC 5322 section 3.6.6) are read from
///    the header; a Bcc copy names the address nowhere in it (section 3.6.3), so it is known
///    by its delivery: a forwarding trace field (Delivered-To, X-Original-To, X-Forwarded-To,
///    X-Forwarded-For, Envelope-To) naming one of `recipientAddresses`, as the provider of a
///    fetched mailbox writes, or, when no trace field is present, the SMTP envelope recipient
///    itself. The contact centre's own address is one of `recipientAddresses`, so mail to it
///    forwarded here counts; an address a trace field says was forwarded here also counts
///    when it appears in To or Cc. Not addressed: mailing-list copies (`List-Id` or
///    `List-Post`, RFC 2919 and RFC 2369) that do not name the address in To or Cc, and
///    copies forwarded here whose trace fields name only other recipients →
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
    /// Fields a mailing list adds to each copy it distributes (RFC 2919, RFC 2369).
    public static let listFieldNames = ["List-Id", "List-Post"]

    /// - Parameters:
    ///   - header: the message's header fields.
    ///   - envelopeSender: the `MAIL FROM` reverse path, `""` for `<>`.
    ///   - settings: the receiving address's policy settings.
    ///   - envelopeRecipient: the `RCPT TO` that reached the address (or its alias), or the
    ///     address a receiving gateway fetched for; nil when not known.
    ///   - bodyText: the message's decoded text, asked for only when an own auto-reply
    ///     keyword is looked for in it.
    ///   - blocklist: the receiving address's blocklist entry that blocks a sender, if any.
    ///   - verifyMessageID: the session id of a Message-ID Postgate signed (HMAC verified),
    ///     nil for any other id (`SessionMessageID.sessionID(fromMessageID:)`).
    ///   - isHostedAddress: true for an address Postgate sends from: hosted (or an alias), or
    ///     an agent's own address (personal replies).
    ///   - verifyForwardingCheck: true for a forwarding check token whose MAC verifies
    ///     (`SessionMessageID.isForwardingCheck(token:)`).
    public static func evaluate(
        header: MessageHeader, envelopeSender: String, settings: AddressPolicySettings,
        envelopeRecipient: String? = nil, bodyText: (() -> String)? = nil,
        blocklist: (EmailAddress) throws -> BlocklistEntry?,
        verifyMessageID: (String) -> Int64?,
        isHostedAddress: (EmailAddress) throws -> Bool,
        verifyForwardingCheck: (String) -> Bool = { _ in false }
    ) rethrows -> PolicyVerdict {
        let from = HeaderAddressList.addresses("From", in: header)
        if let sessionID = try ownReplySession(header, from: from, verifyMessageID: verifyMessageID, isHostedAddress: isHostedAddress) {
            return .ownReply(sessionID: sessionID)
        }
        if !from.isEmpty, let token = ForwardingCheck.token(in: header, verify: verifyForwardingCheck), try from.allSatisfy(isHostedAddress) {
            return .forwardingCheck(token: token)
        }
        if let provider = ForwardingConfirmation.provider(header: header) {
            return .forwardingConfirmation(provider: provider)
        }
        let envelope = HeaderAddressList.addresses(in: envelopeSender).first
        if settings.blocklistEnabled {
            for sender in from + (envelope.map { [$0] } ?? []) {
                if let entry = try blocklist(sender) { return .blocked(entry) }
            }
        }
        if !settings.allowedSenderDomains.isEmpty {
            let author = from.first ?? envelope
            guard let author, settings.allows(author.domain) else {
                return .quarantined(.senderDomainNotAllowed(author?.domain.unicode))
            }
        }
        if settings.syncWhenRecipientOnly
            && !isAddressed(header, to: settings.recipientAddresses, envelopeRecipient: envelopeRecipient) {
            return .quarantined(.notARecipient)
        }
        if settings.excludeAutoReplies {
            if let marker = AutoReplyDetector.marker(header: header, envelopeSender: envelopeSender)
                ?? settings.ownAutoReplyMarker(subject: header["Subject"].map(EncodedWordDecoder.decode), senders: from + (envelope.map { [$0] } ?? []),
                                               body: bodyText) {
                return .autoReply(marker)
            }
        }
        return .deliver
    }

    /// Rule 0: the session of Postgate's own reply, when the Message-ID verifies and every
    /// From address is hosted; nil otherwise.
    static func ownReplySession(
        _ header: MessageHeader, from: [EmailAddress], verifyMessageID: (String) -> Int64?,
        isHostedAddress: (EmailAddress) throws -> Bool
    ) rethrows -> Int64? {
        guard let messageID = header["Message-ID"]?.trimmingSpaces(), !from.isEmpty,
              let sessionID = verifyMessageID(messageID), try from.allSatisfy(isHostedAddress) else { return nil }
        return sessionID
    }

    /// True if one of `names` is a recipient: in To or Cc, or a Bcc copy delivered to it
    /// (rule 3).
    public static func isAddressed(_ header: MessageHeader, to names: Set<String>, envelopeRecipient: String? = nil) -> Bool {
        let visible = Set(visibleRecipientFieldNames.flatMap { HeaderAddressList.addresses($0, in: header) }.map(\.canonical))
        if !visible.isDisjoint(with: names) { return true }
        if listFieldNames.contains(where: { header[$0] != nil }) { return false }
        let forwarded = forwardingFieldNames.flatMap { HeaderAddressList.addresses($0, in: header) }.map(\.canonical)
        if !forwarded.isEmpty {
            return forwarded.contains { names.contains($0) || visible.contains($0) }
        }
        guard let envelopeRecipient, let address = try? EmailAddress(envelopeRecipient) else { return false }
        return names.contains(address.canonical)
    }
}
