/// What marks a message as sent by a machine rather than a person: the reason a message
/// is flagged as an auto-reply (kept, never answered, never routed as a new interaction).
public enum AutoReplyMarker: Sendable, Equatable, CustomStringConvertible {
    /// RFC 3834 section 5: `Auto-Submitted` with any value but `no`.
    case autoSubmitted(String)
    /// `X-Autoreply`, `X-Autorespond` or `X-Autoresponder` (Exchange, vacation programs).
    case autoreplyField(String)
    /// `Precedence: bulk | junk | list | auto_reply` (RFC 3834 section 3.1.8 on its use).
    case precedence(String)
    /// The null reverse-path `<>` of notifications (RFC 5321 section 4.5.5).
    case nullSender
    /// A `MAILER-DAEMON` or `postmaster` sender (envelope or From).
    case systemSender(String)
    /// A delivery or disposition report, `multipart/report` (RFC 6522).
    case report(String)
    /// An out-of-office subject; the language whose phrase matched.
    case outOfOfficeSubject(language: String)
    /// The subject or the text holds one of the address's own auto-reply keywords.
    case keyword(String)
    /// The sender is one of the address's own auto-reply senders (an address or a domain).
    case listedSender(String)

    public var description: String {
        switch self {
        case .autoSubmitted(let value): "Auto-Submitted: \(value)"
        case .autoreplyField(let name): "\(name) header field"
        case .precedence(let value): "Precedence: \(value)"
        case .nullSender: "null reverse-path <>"
        case .systemSender(let sender): "system sender \(sender)"
        case .report(let type): "delivery report (\(type))"
        case .outOfOfficeSubject(let language): "out-of-office subject (\(language))"
        case .keyword(let keyword): "auto-reply keyword \"\(keyword)\""
        case .listedSender(let sender): "auto-reply sender \(sender)"
        }
    }
}
