/// The server side of one SMTP AUTH exchange (RFC 4954 section 4) for the SASL mechanisms
/// PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login, what Outlook and many clients
/// still use): it turns the AUTH command's initial response and the client's base64 lines
/// into 334 challenges, credentials to check, or the reply that ends the exchange.
///
/// A value type without I/O; the state machine holds it between challenges. Only the
/// authentication identity may act: a PLAIN authorization identity naming someone else is
/// refused (RFC 4616 section 2 leaves that to the server's policy; an agent sends only as
/// itself).
public struct SMTPAuthExchange: Equatable, Sendable {
    /// The mechanisms offered, in the EHLO keyword's order (RFC 4954 section 3).
    public static let mechanisms = ["PLAIN", "LOGIN"]

    public enum Step: Equatable, Sendable {
        /// Send this 334 and take the next line as the response.
        case challenge(SMTPReply)
        /// The exchange is complete: check these credentials.
        case credentials(SASLCredentials)
        /// The exchange failed with this reply.
        case failed(SMTPReply)
    }

    private enum Expecting: Equatable, Sendable {
        case plainResponse
        case username
        case password(username: String)
    }

    private var expecting: Expecting

    /// An exchange for `mechanism` (any case), or nil when it is not offered.
    public init?(mechanism: String) {
        switch mechanism.uppercased() {
        case "PLAIN": expecting = .plainResponse
        case "LOGIN": expecting = .username
        default: return nil
        }
    }

    /// The first step, with the AUTH command's initial response if it had one (`=` stands
    /// for an empty one, RFC 4954 section 4).
    public mutating func begin(initialResponse: String?) -> Step {
        guard let initialResponse else {
            return .challenge(expecting == .plainResponse ? SMTPReply(334, nil, "") : Self.usernamePrompt)
        }
        return respond(initialResponse == "=" ? [] : Array(initialResponse.utf8))
    }

    /// The next step after a response line (without its CRLF). `*` cancels (501).
    public mutating func respond(_ line: [UInt8]) -> Step {
        if line == [UInt8(ascii: "*")] { return .failed(SMTPReply(501, "5.7.0", "Authentication cancelled")) }
        guard let decoded = SASLBase64Decoder.decode(line) else {
            return .failed(SMTPReply(501, "5.5.2", "Cannot decode the response: it is not base64 (RFC 4648)"))
        }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            return .failed(SMTPReply(501, "5.5.2", "Credentials must be UTF-8 (RFC 4616 section 2)"))
        }
        switch expecting {
        case .plainResponse:
            return plain(text)
        case .username:
            expecting = .password(username: text)
            return .challenge(Self.passwordPrompt)
        case .password(let username):
            return .credentials(SASLCredentials(user: username, password: text))
        }
    }

    /// `[authzid] NUL authcid NUL passwd` (RFC 4616 section 2).
    private func plain(_ message: String) -> Step {
        let fields = message.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 3 else {
            return .failed(SMTPReply(501, "5.5.2", "Malformed PLAIN response: authorization identity NUL user NUL password"))
        }
        guard fields[0].isEmpty || fields[0] == fields[1] else {
            return .failed(SMTPReply(535, "5.7.8", "The authorization identity must be empty or your own user name"))
        }
        return .credentials(SASLCredentials(user: fields[1], password: fields[2]))
    }

    /// "Username:" and "Password:" in base64, the LOGIN mechanism's prompts.
    static let usernamePrompt = SMTPReply(334, nil, "VXNlcm5hbWU6")
    static let passwordPrompt = SMTPReply(334, nil, "UGFzc3dvcmQ6")
}
