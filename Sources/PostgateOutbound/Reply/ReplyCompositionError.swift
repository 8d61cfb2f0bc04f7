/// Why a submitted reply is refused; each maps to one SMTP reply (RFC 5321 section 4.2,
/// enhanced codes of RFC 3463) that a person can act on.
public enum ReplyCompositionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A value for a header field contains CR or LF (it would inject a field).
    case lineBreakInField(String)
    /// More To, Cc or Bcc recipients than the channel allows.
    case tooManyRecipients(field: String, count: Int, limit: Int)
    /// The attachments are larger than the limit.
    case attachmentsTooLarge(bytes: Int, limit: Int)
    /// The message has no header section or no recipient.
    case malformed(String)

    /// The SMTP reply, code and text.
    public var smtpReply: (code: Int, text: String) {
        switch self {
        case .lineBreakInField(let field): (554, "5.6.0 \(field) contains a line break; refused (header injection)")
        case .tooManyRecipients(let field, let count, let limit): (550, "5.5.3 too many \(field) recipients: \(count), this address allows \(limit)")
        case .attachmentsTooLarge(let bytes, let limit): (552, "5.3.4 attachments of \(bytes) bytes exceed the limit of \(limit) bytes")
        case .malformed(let reason): (554, "5.6.0 \(reason)")
        }
    }

    public var description: String { "\(smtpReply.code) \(smtpReply.text)" }
}
