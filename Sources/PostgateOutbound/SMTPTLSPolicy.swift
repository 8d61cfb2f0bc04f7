/// Whether the client must, may or must not use STARTTLS (RFC 3207) with a next hop.
public enum SMTPTLSPolicy: String, Sendable, Equatable, CaseIterable {
    /// STARTTLS must be offered and the handshake succeed, else the attempt fails
    /// (temporarily: the next hop may be fixed). Use for a smarthost that gets credentials.
    case required
    /// STARTTLS when offered; plain text when not (RFC 3207 section 4.1: "opportunistic").
    case opportunistic
    /// Never STARTTLS. Only for tests and debugging.
    case none
}
