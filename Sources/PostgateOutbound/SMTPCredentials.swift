/// What the client authenticates with to a server that asks for SMTP AUTH (RFC 4954); sent
/// only over TLS. The description names the user and the kind, never the secret.
public struct SMTPCredentials: Sendable, Equatable, CustomStringConvertible {
    public enum Secret: Sendable, Equatable {
        /// A password: AUTH PLAIN (RFC 4616), else AUTH LOGIN.
        case password(String)
        /// An OAuth 2.0 access token (RFC 6750): AUTH OAUTHBEARER (RFC 7628), else XOAUTH2.
        case bearerToken(String)
    }

    public var user: String
    public var secret: Secret

    public init(user: String, password: String) {
        self.user = user
        self.secret = .password(password)
    }

    public init(user: String, bearerToken: String) {
        self.user = user
        self.secret = .bearerToken(bearerToken)
    }

    public var description: String {
        switch secret {
        case .password: "\(user) with a password"
        case .bearerToken: "\(user) with an OAuth 2.0 token"
        }
    }
}
