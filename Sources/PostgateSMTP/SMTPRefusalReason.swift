import PostgateMetrics

/// Why the server refused a command or a message, for counting refusals: read from the
/// reply's enhanced status code (RFC 3463) and what it answered.
public enum SMTPRefusalReason: String, MetricLabel {
    /// 5.7.1 to RCPT: the recipient's domain is not hosted here (RFC 5321 section 3.6.2).
    case relay
    /// X.1.1 bad destination mailbox, X.2.1 mailbox disabled.
    case unknownUser = "unknown_user"
    /// X.7.x refusals other than relaying, TLS and authentication: a sender not allowed, a blocklist.
    case policy
    /// X.3.4 message too big, or a line or the header section over its limit.
    case size
    /// Bare CR or LF in a command line or in message data (RFC 5321 section 2.3.8): refused,
    /// as a message smuggled past another server's idea of the end of data would be.
    case smuggling
    /// 530 before STARTTLS (RFC 3207 section 4).
    case tlsRequired = "tls_required"
    /// 530 after STARTTLS, 535, 454 and other X.7.0 and X.7.8 replies to AUTH (RFC 4954 section 6).
    case authentication
    /// Too many recipients (X.5.3), commands without a transaction or errors (421 4.7.0).
    case limit
    /// Syntax and sequence errors (500 to 504, 555, X.5.1, X.5.2, X.5.4).
    case `protocol`
    /// Any other transient failure: the store, a timeout, a shutdown.
    case temporary
    case other

    /// What a refusal answered.
    public enum Context: Sendable {
        case recipient, messageData, bareLineEnding, other
    }

    /// The reason of refusal `reply` (a 4xx or 5xx) given in `context`, on a session with or
    /// without TLS.
    public init(reply: SMTPReply, context: Context, tlsActive: Bool) {
        if context == .bareLineEnding {
            self = .smuggling
            return
        }
        let parts = (reply.enhancedCode ?? "").split(separator: ".")
        let detail = parts.count == 3 ? "\(parts[1]).\(parts[2])" : ""
        switch (reply.code, detail) {
        case (_, "6.0"): self = .smuggling
        case (_, "1.1"), (_, "2.1"): self = .unknownUser
        case (_, "3.4"): self = .size
        case (530, _): self = tlsActive ? .authentication : .tlsRequired
        case (421, "7.0"), (_, "5.3"): self = .limit
        case (535, _), (454, _), (_, "7.0"), (_, "7.8"): self = .authentication
        case (_, "7.1") where context == .recipient: self = .relay
        case (_, let detail) where detail.hasPrefix("7."): self = .policy
        case (500...504, _), (555, _), (_, "5.1"), (_, "5.2"), (_, "5.4"): self = .protocol
        case (400..<500, _): self = .temporary
        default: self = .other
        }
    }
}
