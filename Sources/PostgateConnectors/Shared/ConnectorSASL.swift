import Foundation

/// The password SASL messages the mailbox connectors send (RFC 4422), shared by POP3 AUTH
/// (RFC 5034) and IMAP AUTHENTICATE (RFC 9051 section 6.2.2); the OAuth 2.0 mechanisms are
/// `OAuthSASLMechanism`'s.
enum ConnectorSASL {
    /// RFC 4616 section 2: authzid (empty), NUL, authcid, NUL, password.
    static func plain(user: String, password: String) -> String {
        "\0\(user)\0\(password)"
    }

    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// A challenge that is not an OAuth error report, for a one-line message: decoded when
    /// it is base64 of UTF-8, control characters shown as spaces.
    static func printable(_ challenge: String) -> String {
        guard !challenge.isEmpty, let data = Data(base64Encoded: challenge), let text = String(data: data, encoding: .utf8) else { return challenge }
        let scalars = text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) }
        return String(String(scalars).prefix(500))
    }
}
