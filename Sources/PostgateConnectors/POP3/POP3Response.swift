import NIOCore

/// The status line of a POP3 response (RFC 1939 section 3): `+OK` or `-ERR` with the
/// server's text, or the `+ ` continuation of a SASL exchange (RFC 5034 section 4).
public enum POP3Status: Sendable, Equatable, CustomStringConvertible {
    case ok(String)
    case err(String)
    /// The server's challenge, still base64 as sent.
    case continuation(String)

    public var description: String {
        switch self {
        case .ok(let text): text.isEmpty ? "+OK" : "+OK \(text)"
        case .err(let text): text.isEmpty ? "-ERR" : "-ERR \(text)"
        case .continuation(let text): "+ \(text)"
        }
    }
}

/// What shape of response a command gets. POP3 responses do not say whether lines follow
/// (RFC 1939 section 3: it depends on the command), so the framer is told, command by
/// command, in the order the commands were sent.
public enum POP3ResponseKind: Sendable, Equatable {
    /// One status line (also the greeting, and a `+ ` continuation during AUTH).
    case singleLine
    /// `+OK` and lines up to a line holding only `.`, dot-unstuffed and kept (CAPA, UIDL,
    /// LIST); bounded. `-ERR` is one line.
    case multiLine
    /// Like `multiLine`, but the lines are streamed out as chunks of bytes, CRLFs kept and
    /// dots unstuffed, never held whole (RETR).
    case message
    /// One status line; after `+OK` every further byte is discarded until the TLS
    /// handshake completes (RFC 2595 section 4: nothing received before TLS is trusted).
    case startTLS
}

/// One framed piece of what the server sent.
public enum POP3ResponseEvent: Sendable, Equatable {
    /// A complete one-line response (also `-ERR` to a command that expects lines).
    case status(POP3Status)
    /// A complete multi-line response: the text after `+OK`, then its lines.
    case lines(String, [String])
    /// The `+OK` of a streamed message; chunks and then `messageEnd` follow.
    case messageStart(String)
    /// Bytes of the message, as sent minus dot-stuffing.
    case messageChunk(ByteBuffer)
    /// The terminating `.` line of a streamed message.
    case messageEnd
    /// The TLS handshake completed (implicit TLS, or after STLS).
    case tlsEstablished
}
