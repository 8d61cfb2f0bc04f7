/// A user name and password for SMTP AUTH (RFC 4954), sent only over TLS.
public struct SMTPCredentials: Sendable, Equatable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}
