import Foundation

/// The SASL mechanisms that carry an OAuth 2.0 bearer token to a mail server: OAUTHBEARER
/// (RFC 7628) and the older XOAUTH2 that many providers still offer. What they send is the
/// same for SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC 9051):
/// base64 of the initial client response; a failure comes as a challenge with a JSON error
/// (RFC 7628 section 3.2.2), answered as `errorChallengeAnswer` before the final refusal.
public enum OAuthSASLMechanism: String, Sendable, Equatable, CaseIterable {
    case oauthBearer = "OAUTHBEARER"
    case xoauth2 = "XOAUTH2"

    /// The mechanism to use among those a server advertises (upper-case names): the
    /// standard OAUTHBEARER when offered, else XOAUTH2; nil when it offers neither.
    public static func preferred(among advertised: Set<String>) -> OAuthSASLMechanism? {
        allCases.first { advertised.contains($0.rawValue) }
    }

    /// The mechanism's name as sent in AUTH.
    public var name: String { rawValue }

    /// The initial client response, base64-encoded.
    ///
    /// - OAUTHBEARER (RFC 7628 section 3.1): the GS2 header `n,a=<user>,` (RFC 5801 section
    ///   4, the user as a saslname), then `host=`, `port=` when known and `auth=Bearer <token>`,
    ///   each ended by %x01, and a final %x01.
    /// - XOAUTH2: `user=<user>` %x01 `auth=Bearer <token>` %x01 %x01.
    public func initialResponse(user: String, token: String, host: String? = nil, port: Int? = nil) -> String {
        let message: String
        switch self {
        case .oauthBearer:
            var pairs = ""
            if let host, !host.isEmpty { pairs += "host=\(host)\u{1}" }
            if let port { pairs += "port=\(port)\u{1}" }
            message = "n,a=\(Self.saslName(user)),\u{1}\(pairs)auth=Bearer \(token)\u{1}\u{1}"
        case .xoauth2:
            message = "user=\(user)\u{1}auth=Bearer \(token)\u{1}\u{1}"
        }
        return Data(message.utf8).base64EncodedString()
    }

    /// What the client sends after an error challenge, base64-encoded: a single %x01 for
    /// OAUTHBEARER (RFC 7628 section 3.2.3), an empty response for XOAUTH2. The server then
    /// ends the exchange with its failure reply.
    public var errorChallengeAnswer: String {
        switch self {
        case .oauthBearer: "AQ=="
        case .xoauth2: ""
        }
    }

    /// RFC 5801 section 4: `,` and `=` in a saslname are escaped as `=2C` and `=3D`.
    public static func saslName(_ name: String) -> String {
        name.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
    }
}

/// The server's error report in an OAUTHBEARER or XOAUTH2 challenge (RFC 7628 section
/// 3.2.2): a JSON object with `status` (an RFC 6750 section 3.1 error code such as
/// `invalid_token`, or an HTTP status), and optionally `scope` and `openid-configuration`.
public struct OAuthSASLErrorChallenge: Sendable, Equatable, CustomStringConvertible {
    public var status: String
    public var scope: String?
    public var openIDConfiguration: String?

    public init(status: String, scope: String? = nil, openIDConfiguration: String? = nil) {
        self.status = status
        self.scope = scope
        self.openIDConfiguration = openIDConfiguration
    }

    /// Decodes the base64 challenge; nil when it is not base64 of a JSON object with a status.
    public init?(base64 challenge: String) {
        let trimmed = challenge.trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: trimmed),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return nil }
        // RFC 7628 gives the status as a string; some servers send an HTTP status as a number.
        switch object["status"] {
        case let text as String: status = text
        case let number as NSNumber: status = number.stringValue
        default: return nil
        }
        scope = object["scope"] as? String
        openIDConfiguration = object["openid-configuration"] as? String
    }

    /// The token was refused as invalid or expired (RFC 6750 section 3.1), as opposed to a
    /// scope the token lacks: a new access token may help.
    public var tokenRefused: Bool {
        ["invalid_token", "401"].contains(status)
    }

    public var description: String {
        "status \(Self.clean(status))" + (scope.map { ", scope \(Self.clean($0))" } ?? "")
    }

    private static func clean(_ text: String) -> String {
        let kept = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }
        return String(String.UnicodeScalarView(kept.prefix(120)))
    }
}
