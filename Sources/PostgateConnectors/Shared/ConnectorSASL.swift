import Foundation

/// The SASL messages the mailbox connectors send (RFC 4422), shared by POP3 AUTH (RFC 5034)
/// and IMAP AUTHENTICATE (RFC 9051 section 6.2.2).
enum ConnectorSASL {
    /// RFC 4616 section 2: authzid (empty), NUL, authcid, NUL, password.
    static func plain(user: String, password: String) -> String {
        "\0\(user)\0\(password)"
    }

    /// The XOAUTH2 initial client response: `user=`, `auth=Bearer`, each ended by %x01.
    static func xoauth2(user: String, token: String) -> String {
        "user=\(user)\u{1}auth=Bearer \(token)\u{1}\u{1}"
    }

    /// RFC 7628 section 3.1: the GS2 header with the authorization identity, then key/value pairs.
    static func oauthBearer(user: String, token: String) -> String {
        "n,a=\(saslName(user)),\u{1}auth=Bearer \(token)\u{1}\u{1}"
    }

    /// RFC 5801 section 4: `,` and `=` in a SASL name are escaped.
    static func saslName(_ name: String) -> String {
        name.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
    }

    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// A server challenge decoded for a one-line error message (RFC 7628 section 3.2.2: a JSON
    /// error for the OAuth mechanisms), control characters shown as spaces; the text as sent
    /// when it is not base64 of UTF-8.
    static func decodedChallenge(_ challenge: String) -> String {
        guard !challenge.isEmpty, let data = Data(base64Encoded: challenge), let text = String(data: data, encoding: .utf8) else { return challenge }
        let scalars = text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) }
        return String(String(scalars).prefix(500))
    }

    /// The client's answer to a challenge that follows its complete response, which is the
    /// server's error report: an empty response for XOAUTH2, a single %x01 for OAUTHBEARER
    /// (RFC 7628 section 3.2.3), otherwise `*`, which cancels the exchange (RFC 4422 section 3.5).
    static func abortResponse(mechanism: String) -> String {
        switch mechanism {
        case "XOAUTH2": ""
        case "OAUTHBEARER": "AQ=="
        default: "*"
        }
    }
}
