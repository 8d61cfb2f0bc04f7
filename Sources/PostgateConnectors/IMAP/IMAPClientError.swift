/// Why an IMAP session or one of its commands failed; each a one-line description.
public enum IMAPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing accepts connections at the address (ECONNREFUSED); the endpoint.
    case connectionRefused(String)
    /// The connection could not be made for another reason (name resolution, unreachable).
    case connectionFailed(String)
    /// The connection was closed, or the server ended the session, before the response came.
    case connectionClosed(String)
    /// The server's certificate is not trusted (unknown issuer, wrong name, expired).
    case tlsUntrusted(String)
    /// TLS could not be started: STARTTLS not offered or refused, or the handshake failed.
    case tlsFailed(String)
    /// Credentials would go out without TLS and the caller did not allow it.
    case plaintextAuthenticationRefused
    /// The server refused the credentials: its response code and text, and for the OAuth
    /// mechanisms the decoded error it sent (RFC 7628 section 3.2.2).
    case authenticationFailed(String)
    /// The server answered NO or BAD to a command (the command's name, the response). The
    /// session stays usable.
    case commandFailed(command: String, response: String)
    /// The server lacks an extension the operation needs.
    case unsupported(String)
    /// The server sent something that is not IMAP, or too much of it.
    case protocolError(String)
    /// No response in time.
    case timeout(String)

    public var description: String {
        switch self {
        case .connectionRefused(let endpoint): "connection refused by \(endpoint)"
        case .connectionFailed(let text): "cannot connect to \(text)"
        case .connectionClosed(let text): "connection closed: \(text)"
        case .tlsUntrusted(let text): "TLS certificate not trusted: \(text)"
        case .tlsFailed(let text): "TLS failed: \(text)"
        case .plaintextAuthenticationRefused: "authentication refused: TLS is not active and plaintext authentication is not allowed"
        case .authenticationFailed(let text): "authentication failed: \(text)"
        case .commandFailed(let command, let response): "\(command) failed: \(response)"
        case .unsupported(let text): "not supported by the server: \(text)"
        case .protocolError(let text): "IMAP protocol error: \(text)"
        case .timeout(let text): "timed out \(text)"
        }
    }
}
