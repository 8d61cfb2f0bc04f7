import PostgateIndex
/// What the directory says about an SMTP recipient (RFC 5321 section 3.3, `RCPT TO`).
///
/// The SMTP layer maps these to its replies: `.accept` to 250, `.unknownUser` and
/// `.disabled` to 550 5.1.1, `.domainNotHosted` to 550 5.7.1 (relaying denied).
public enum RecipientResolution: Sendable, Hashable {
    /// An enabled address or an alias of one.
    case accept(MailboxTarget)
    /// The domain is hosted but has no such address or alias.
    case unknownUser
    /// The address (or the address an alias points to) is disabled.
    case disabled
    /// The domain is not hosted: accepting would make the gateway a relay.
    case domainNotHosted
}
