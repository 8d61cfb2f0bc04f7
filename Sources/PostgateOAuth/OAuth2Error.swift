import Foundation

/// Why no access token could be had; each a one-line description for the operator, which
/// never carries a secret or a token.
public enum OAuth2Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The authorization server refused the refresh token (RFC 6749 section 5.2,
    /// `invalid_grant`): it expired, was revoked, or belongs to another client. Only a new
    /// authorization by the mailbox owner helps. The server's `error_description`, if any.
    case invalidGrant(String)
    /// The server did not accept the client id or secret (RFC 6749 section 5.2, `invalid_client`).
    case invalidClient(String)
    /// Another error of RFC 6749 section 5.2 (`invalid_request`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, or an extension code) and its description.
    case refused(error: String, description: String)
    /// The endpoint answered an HTTP status that is neither a token nor an RFC 6749 error.
    case unexpectedStatus(Int)
    /// The endpoint could not be reached or did not answer in time, or it answered 5xx or
    /// 429: a later attempt may succeed.
    case unavailable(String)
    /// The response is not the JSON of RFC 6749 section 5.1 (or 5.2).
    case malformedResponse(String)
    /// The settings cannot make a request (a bad URL, a missing tenant).
    case invalidSettings(String)

    /// A later attempt with the same settings may succeed.
    public var isTemporary: Bool {
        if case .unavailable = self { return true }
        return false
    }

    /// Only the mailbox owner can fix it, by authorizing again.
    public var needsReauthorization: Bool {
        if case .invalidGrant = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .invalidGrant(let text):
            "the refresh token was refused (invalid_grant)\(Self.detail(text)) — reauthorize the mailbox"
        case .invalidClient(let text):
            "the client id or secret was refused (invalid_client)\(Self.detail(text)) — check the client registration"
        case .refused(let error, let text):
            "the token endpoint refused the request (\(error))\(Self.detail(text))"
        case .unexpectedStatus(let status):
            "the token endpoint answered HTTP \(status) without an OAuth 2.0 error"
        case .unavailable(let text):
            "token endpoint unavailable: \(text)"
        case .malformedResponse(let text):
            "malformed token response: \(text)"
        case .invalidSettings(let text):
            "bad OAuth 2.0 settings: \(text)"
        }
    }

    private static func detail(_ text: String) -> String {
        text.isEmpty ? "" : ": " + text
    }

    /// A server's text made fit for one log line: control characters become spaces, and it
    /// is cut at 200 characters.
    static func oneLine(_ text: String) -> String {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        let trimmed = cleaned.trimmingCharacters(in: .whitespaces)
        return trimmed.count > 200 ? String(trimmed.prefix(200)) + "…" : trimmed
    }
}
