import Foundation

/// One OAuth 2.0 authorization of a mailbox (RFC 6749): where to refresh its access token,
/// as which client, and the refresh token the owner granted.
///
/// The description names the endpoint and the client, never the secret or a token.
public struct OAuth2Settings: Sendable, Equatable, CustomStringConvertible {
    /// How the client authenticates to the token endpoint (RFC 6749 section 2.3.1).
    public enum ClientAuthentication: String, Sendable, Equatable, CaseIterable {
        /// `client_id` and `client_secret` in the request body.
        case requestBody = "body"
        /// HTTP Basic with the form-encoded client id and secret (RFC 6749 section 2.3.1,
        /// RFC 7617).
        case httpBasic = "basic"
    }

    /// The token endpoint (RFC 6749 section 3.2), http or https. `{tenant}` in it is
    /// replaced by `tenant`.
    public var tokenEndpoint: String
    public var clientID: String
    /// Empty for a public client, which sends only its id (RFC 6749 section 2.1).
    public var clientSecret: String
    /// The scope to ask for, space-separated (RFC 6749 section 3.3); nil asks for the scope of
    /// the original grant (section 6).
    public var scope: String?
    /// Put into the endpoint in place of `{tenant}`.
    public var tenant: String?
    /// The refresh token (RFC 6749 section 1.5). The token source keeps the newest one it is
    /// given (section 6) and reports each new one to its owner. Empty for the client
    /// credentials grant (section 4.4), which needs the client secret.
    public var refreshToken: String
    public var clientAuthentication: ClientAuthentication
    /// How long one token request may take, connecting included.
    public var requestTimeout: Duration
    /// An access token is refreshed this long before it expires (at most half its lifetime),
    /// so a token handed out is still valid when the mail server checks it.
    public var refreshMargin: Duration

    public init(
        tokenEndpoint: String, clientID: String, clientSecret: String = "", scope: String? = nil, tenant: String? = nil,
        refreshToken: String, clientAuthentication: ClientAuthentication = .requestBody,
        requestTimeout: Duration = .seconds(30), refreshMargin: Duration = .seconds(60)
    ) {
        self.tokenEndpoint = tokenEndpoint
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.tenant = tenant
        self.refreshToken = refreshToken
        self.clientAuthentication = clientAuthentication
        self.requestTimeout = requestTimeout
        self.refreshMargin = refreshMargin
    }

    /// The endpoint with the tenant in place; the tenant is percent-encoded as one path
    /// segment (RFC 3986 section 3.3).
    public func resolvedTokenEndpoint() throws(OAuth2Error) -> String {
        var url = tokenEndpoint
        if url.contains("{tenant}") {
            guard let tenant, !tenant.isEmpty else {
                throw .invalidSettings("the token endpoint \(tokenEndpoint) names a {tenant} but no tenant is set")
            }
            url = url.replacingOccurrences(of: "{tenant}", with: FormEncoding.percentEncoded(tenant, keeping: FormEncoding.unreserved))
        }
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw .invalidSettings("the token endpoint \(url) is not an http or https URL")
        }
        return url
    }

    public var description: String {
        "OAuth 2.0 client \(clientID) at \(tokenEndpoint)" + (tenant.map { " (tenant \($0))" } ?? "")
    }
}

/// `application/x-www-form-urlencoded` (RFC 6749 appendix B; the URL Standard's
/// serializer): unreserved characters stay, a space becomes `+`, every other octet of the
/// UTF-8 form is percent-encoded.
package enum FormEncoding {
    /// RFC 3986 section 2.3.
    package static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
    /// What the form serializer leaves as it is.
    package static let formSafe: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._".utf8))

    package static func percentEncoded(_ text: String, keeping safe: Set<UInt8>, spaceAsPlus: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            if safe.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else if byte == 0x20 && spaceAsPlus {
                out += "+"
            } else {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    package static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { component($0.0) + "=" + component($0.1) }.joined(separator: "&")
    }

    package static func component(_ text: String) -> String {
        percentEncoded(text, keeping: formSafe, spaceAsPlus: true)
    }

    /// Parses a form body; nil when a percent escape is broken or the octets are not UTF-8.
    package static func decode(_ body: String) -> [(String, String)]? {
        var result: [(String, String)] = []
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(parts[0]), let value = unescape(parts.count > 1 ? parts[1] : "") else { return nil }
            result.append((name, value))
        }
        return result
    }

    private static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
