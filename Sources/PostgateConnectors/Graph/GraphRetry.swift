/// What to do with a Graph answer that is not a success, for any request: the rules every
/// call to Graph follows, as a value type (no I/O).
/// - 401: one new access token, the same request again; a second 401 fails with a clear status.
/// - 403: fails; the application lacks a permission.
/// - 429 and 503: wait `Retry-After` seconds (RFC 9110 section 10.2.3; Graph throttling), at
///   most `maxWaits` times in a row and never longer than `maxRetryAfter`, then fail as
///   throttled so the schedule retries later.
/// - Anything else fails with Graph's error code and message.
public struct GraphRetry: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        case renewTokenAndRetry
        case wait(seconds: Int)
        case fail(GraphError)
    }

    public let maxRetryAfter: Int
    public let maxWaits: Int
    private var renewed = false
    private var waits = 0

    public init(maxRetryAfter: Int = 300, maxWaits: Int = 5) {
        self.maxRetryAfter = maxRetryAfter
        self.maxWaits = maxWaits
    }

    /// A request succeeded: the next one starts with a fresh allowance.
    public mutating func succeeded() {
        renewed = false
        waits = 0
    }

    public mutating func decide(status: Int, retryAfter: Int?, body: [UInt8]) -> Decision {
        switch status {
        case 401:
            guard !renewed else { return .fail(.unauthorized(Self.text(body, status))) }
            renewed = true
            return .renewTokenAndRetry
        case 403:
            return .fail(.forbidden(Self.text(body, status)))
        case 429, 503:
            let seconds = max(1, retryAfter ?? 10)
            guard waits < maxWaits, seconds <= maxRetryAfter else { return .fail(.throttled(retryAfterSeconds: seconds)) }
            waits += 1
            return .wait(seconds: seconds)
        default:
            return .fail(.status(status, Self.text(body, status)))
        }
    }

    /// Graph's error code and message in one line, or the status.
    static func text(_ body: [UInt8], _ status: Int) -> String {
        guard let error = GraphErrorBody.parse(body) else { return "HTTP \(status)" }
        let text = error.message.isEmpty ? error.code : "\(error.code): \(error.message)"
        return String(text.prefix(300)).replacingOccurrences(of: "\n", with: " ")
    }
}
