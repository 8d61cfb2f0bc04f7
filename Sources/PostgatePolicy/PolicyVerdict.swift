/// What the inbound policy decided for one message and one receiving address.
public enum PolicyVerdict: Sendable, Equatable, CustomStringConvertible {
    /// An ordinary message: delivered, answered and routed as usual.
    case deliver
    /// Delivered to the address's mailbox flagged, never answered or routed as a new interaction.
    case autoReply(AutoReplyMarker)
    /// The sender is on the address's blocklist: kept for audit, no automation, no queue.
    case blocked(BlocklistEntry)
    /// Held back in the address's quarantine until an administrator releases or deletes it.
    case quarantined(QuarantineReason)
    /// The copy of a reply Postgate itself sent in session `sessionID`, come back (loop
    /// protection): filed in that session, never routed, never a new interaction.
    case ownReply(sessionID: Int64)
    /// A provider asks to confirm forwarding to the address: for the administrator (`postgate
    /// address confirmations`), kept in the address's mailbox, never routed or answered.
    case forwardingConfirmation(provider: String)
    /// The test message of a forwarding check (`postgate address verify-forwarding`), come
    /// back through the customer's forwarding: kept in the address's mailbox for the check
    /// that waits for it, never routed or answered.
    case forwardingCheck(token: String)

    /// The label stored on the message row (`message.policy`), nil for `.deliver`:
    /// `auto-reply`, `blocked`, `own-reply` or `quarantined:<reason code>`. IMAP and the session engine
    /// skip automation on every labelled message.
    public var label: String? {
        switch self {
        case .deliver: nil
        case .autoReply: Self.autoReplyLabel
        case .blocked: Self.blockedLabel
        case .quarantined(let reason): Self.quarantinePrefix + reason.code
        case .ownReply: Self.ownReplyLabel
        case .forwardingConfirmation: Self.forwardingConfirmationLabel
        case .forwardingCheck: Self.forwardingCheckLabel
        }
    }

    public static let autoReplyLabel = "auto-reply"
    public static let blockedLabel = "blocked"
    public static let quarantinePrefix = "quarantined:"
    public static let ownReplyLabel = "own-reply"
    public static let forwardingConfirmationLabel = "forwarding-confirmation"
    public static let forwardingCheckLabel = "forwarding-check"

    public var isQuarantined: Bool {
        if case .quarantined = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .deliver: "deliver"
        case .autoReply(let marker): "auto-reply: \(marker)"
        case .blocked(let entry): "blocked: \(entry.kind.rawValue) \(entry.display) is on the blocklist"
        case .quarantined(let reason): "quarantined: \(reason)"
        case .ownReply(let sessionID): "own reply: the copy of Postgate's reply in session \(sessionID)"
        case .forwardingConfirmation(let provider): "forwarding confirmation from \(provider)"
        case .forwardingCheck(let token): "forwarding check \(token), come back through the customer's forwarding"
        }
    }
}

/// Why a message was quarantined.
public enum QuarantineReason: Sendable, Equatable, CustomStringConvertible {
    /// The sender's domain is not among the address's allowed domains (nil: no sender domain).
    case senderDomainNotAllowed(String?)
    /// Sync-when-recipient-only: the message is not addressed to the address (To, Cc, Bcc).
    case notARecipient

    /// The stable code stored after `quarantined:`.
    public var code: String {
        switch self {
        case .senderDomainNotAllowed: "sender-domain-not-allowed"
        case .notARecipient: "not-a-recipient"
        }
    }

    public var description: String {
        switch self {
        case .senderDomainNotAllowed(let domain?): "sender domain \(domain) is not among the allowed domains"
        case .senderDomainNotAllowed(nil): "the message has no sender domain to check against the allowed domains"
        case .notARecipient: "the message is not addressed to the address in To, Cc or Bcc (sync when recipient only)"
        }
    }
}
