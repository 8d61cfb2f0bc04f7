/// Why a POP3 session or one of its commands failed; each a one-line description.
public enum POP3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing accepts connections at the address (ECONNREFUSED).
    case connectionRefused(String)
    /// The connection could not be made for another reason (name resolution, unreachable).
    case connectionFailed(String)
    /// The connection was closed before the response came.
    case connectionClosed(String)
    /// The server's certificate is not trusted (unknown issuer, wrong name, expired).
    case tlsUntrusted(String)
    /// TLS could not be started: STLS not offered or refused, or the handshake failed.
    case tlsFailed(String)
    /// Credentials would go out without TLS and the caller did not allow it.
    case plaintextAuthenticationRefused
    /// The server refused the credentials; its text.
    case authenticationFailed(String)
    /// The server answered `-ERR` to a command; its text. The session stays usable.
    case commandFailed(String)
    /// The server sent something that is not POP3, or too much of it.
    case protocolError(String)
    /// No response in time.
    case timeout(String)

    public var description: String {
        switch self {
        case .connectionRefused(let text): "connection refused: \(text)"
        case .connectionFailed(let text): "cannot connect: \(text)"
        case .connectionClosed(let text): "connection closed: \(text)"
        case .tlsUntrusted(let text): "TLS certificate not trusted: \(text)"
        case .tlsFailed(let text): "TLS failed: \(text)"
        case .plaintextAuthenticationRefused: "authentication refused: TLS is not active and plaintext authentication is not allowed"
        case .authenticationFailed(let text): "authentication failed: \(text)"
        case .commandFailed(let text): "command failed: \(text)"
        case .protocolError(let text): "POP3 protocol error: \(text)"
        case .timeout(let text): "timeout: \(text)"
        }
    }
}
