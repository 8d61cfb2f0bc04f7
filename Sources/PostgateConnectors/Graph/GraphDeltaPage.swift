import Foundation

/// One page of a Microsoft Graph delta query on a mail folder's messages
/// (`GET /users/{id}/mailFolders/{folder}/messages/delta`): the changed messages, and either
/// `@odata.nextLink` (another page of this round follows) or `@odata.deltaLink` (the round is
/// complete; the link asks for the changes after it next time).
///
/// Only what fetching needs is read: each entry's `id`, `receivedDateTime`, and `@removed`
/// (the message left the folder or was deleted). Unknown members are ignored, as OData
/// clients must (OData JSON Format 4.01 section 4.5).
public struct GraphDeltaPage: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var receivedAt: Date?
        /// The entry reports a message gone from the folder (`@removed`), not a message to fetch.
        public var removed: Bool

        public init(id: String, receivedAt: Date? = nil, removed: Bool = false) {
            self.id = id
            self.receivedAt = receivedAt
            self.removed = removed
        }
    }

    public var entries: [Entry]
    public var nextLink: String?
    public var deltaLink: String?

    public init(entries: [Entry], nextLink: String? = nil, deltaLink: String? = nil) {
        self.entries = entries
        self.nextLink = nextLink
        self.deltaLink = deltaLink
    }

    /// Reads a page; a body that is not a delta page is a `GraphError.protocolError`.
    public static func parse(_ body: [UInt8]) throws(GraphError) -> GraphDeltaPage {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let values = object["value"] as? [Any] else {
            throw .protocolError("the delta response is not a JSON object with a value array")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(values.count)
        for value in values {
            guard let message = value as? [String: Any], let id = message["id"] as? String, !id.isEmpty else {
                throw .protocolError("a delta entry has no message id")
            }
            let received = (message["receivedDateTime"] as? String).flatMap(GraphDate.parse)
            entries.append(Entry(id: id, receivedAt: received, removed: message["@removed"] != nil))
        }
        let next = object["@odata.nextLink"] as? String
        let delta = object["@odata.deltaLink"] as? String
        guard (next == nil) != (delta == nil) else {
            throw .protocolError("a delta page must carry exactly one of @odata.nextLink and @odata.deltaLink")
        }
        return GraphDeltaPage(entries: entries, nextLink: next, deltaLink: delta)
    }
}

/// Graph's timestamps: ISO 8601 in UTC, with or without fractional seconds.
enum GraphDate {
    static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// A Graph error response's `error.code` and `error.message` (Graph's JSON error shape).
public struct GraphErrorBody: Sendable, Equatable {
    public var code: String
    public var message: String

    public static func parse(_ body: [UInt8]) -> GraphErrorBody? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let error = object["error"] as? [String: Any] else { return nil }
        return GraphErrorBody(code: error["code"] as? String ?? "", message: error["message"] as? String ?? "")
    }
}

/// Why a Graph request failed, each a one-line description.
public enum GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The response is not what the documented shape says.
    case protocolError(String)
    /// The access token was refused again after a new one was obtained (HTTP 401).
    case unauthorized(String)
    /// The application lacks a permission (HTTP 403).
    case forbidden(String)
    /// Throttled (HTTP 429 or 503) longer than the caller waits.
    case throttled(retryAfterSeconds: Int)
    /// Any other HTTP status, with Graph's error code and message.
    case status(Int, String)
    /// The request could not be sent or answered (connection, TLS, timeout).
    case transport(String)
    /// A folder or mailbox named in the settings does not exist.
    case notFound(String)
    /// An answer longer than the caller reads.
    case tooLarge(String)

    public var description: String {
        switch self {
        case .protocolError(let text): "Graph protocol error: \(text)"
        case .unauthorized(let text): "Graph refused the access token (HTTP 401): \(text); check the application's credentials and consent"
        case .forbidden(let text): "Graph refused the request (HTTP 403): \(text); the application needs Mail.ReadWrite (and Mail.Send to send) for a mailbox, Group-Conversation.Read.All or Group.Read.All for a group, with admin consent"
        case .throttled(let seconds): "Graph is throttling this mailbox: retry after \(seconds) seconds"
        case .status(let code, let text): "Graph answered HTTP \(code): \(text)"
        case .transport(let text): "cannot reach Graph: \(text)"
        case .notFound(let text): "not found in Graph: \(text)"
        case .tooLarge(let text): "Graph's answer is too large: \(text)"
        }
    }
}
