import Foundation

/// The delta query of one mail folder as a value-type state machine: fed each HTTP answer,
/// it says what to do next. No I/O; `GraphMailbox` performs the actions.
///
/// A round starts at the stored link (the page being read when the last round stopped, else
/// the `@odata.deltaLink` of the last complete round, else the folder's first delta URL),
/// follows `@odata.nextLink` page after page, and ends at the page carrying the new
/// `@odata.deltaLink`. Faults:
/// - 401: one new access token, the same request again; a second 401 fails with a clear status.
/// - 429 and 503: wait `Retry-After` seconds (RFC 9110 section 10.2.3; Graph throttling),
///   at most `maxWaits` times a round and never longer than `maxRetryAfter`, then fail as
///   throttled so the schedule retries later.
/// - 410 Gone, or an error `syncStateNotFound` / `syncStateInvalid` / `resyncRequired`: the
///   stored link expired; the folder is read again from its first delta URL, once a round.
///   Messages fetched before are in the ledger of fetched ids and are not imported twice.
public struct GraphFolderSync: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// GET the URL with the access token.
        case get(String)
        /// Obtain a new access token, then GET the URL.
        case refreshTokenThenGet(String)
        /// Wait, then GET the URL.
        case wait(seconds: Int, thenGet: String)
        /// The stored link is no longer valid: forget it and GET the folder's first delta URL.
        case resync(String)
        /// Import the page's messages (those not `removed`, and not in the ledger); each one's
        /// checkpoint resumes at `link`, and with `deltaLink` the last one's ends the round.
        /// Then call `pageImported()`.
        case importPage(GraphDeltaPage, link: String)
        /// The round is complete: `deltaLink` is what the next one starts from.
        case finished(deltaLink: String)
        case fail(GraphError)
    }

    /// Error codes Graph answers when a delta or skip token can no longer be used.
    public static let expiredSyncCodes: Set<String> = ["syncStateNotFound", "syncStateInvalid", "resyncRequired"]

    public let initialURL: String
    public let maxRetryAfter: Int
    public let maxWaits: Int
    private(set) var link: String
    private var page: GraphDeltaPage?
    private var refreshed = false
    private var resynced = false
    private var waits = 0

    /// - Parameters:
    ///   - initialURL: the folder's first delta URL (`…/mailFolders/{folder}/messages/delta`).
    ///   - storedLink: where the last round stopped, or its delta link; nil for a first round.
    public init(initialURL: String, storedLink: String?, maxRetryAfter: Int = 300, maxWaits: Int = 5) {
        self.initialURL = initialURL
        self.link = storedLink ?? initialURL
        self.maxRetryAfter = maxRetryAfter
        self.maxWaits = maxWaits
    }

    public func start() -> Action { .get(link) }

    /// The answer to the last GET: its status, `Retry-After` in seconds if present, and body.
    public mutating func received(status: Int, retryAfter: Int?, body: [UInt8]) -> Action {
        switch status {
        case 200:
            refreshed = false
            let page: GraphDeltaPage
            do {
                page = try GraphDeltaPage.parse(body)
            } catch {
                return .fail(error)
            }
            self.page = page
            return .importPage(page, link: link)
        case 401:
            guard !refreshed else { return .fail(.unauthorized(Self.text(body, status))) }
            refreshed = true
            return .refreshTokenThenGet(link)
        case 403:
            return .fail(.forbidden(Self.text(body, status)))
        case 429, 503:
            let seconds = max(1, retryAfter ?? 10)
            guard waits < maxWaits, seconds <= maxRetryAfter else { return .fail(.throttled(retryAfterSeconds: seconds)) }
            waits += 1
            return .wait(seconds: seconds, thenGet: link)
        default:
            let code = GraphErrorBody.parse(body)?.code ?? ""
            if status == 410 || Self.expiredSyncCodes.contains(code) {
                guard !resynced else { return .fail(.status(status, Self.text(body, status))) }
                resynced = true
                link = initialURL
                return .resync(initialURL)
            }
            return .fail(.status(status, Self.text(body, status)))
        }
    }

    /// The page handed out by `importPage` is in: the next page, or the end of the round.
    public mutating func pageImported() -> Action {
        guard let page else { return .fail(.protocolError("no page was being imported")) }
        self.page = nil
        waits = 0
        if let next = page.nextLink {
            link = next
            return .get(next)
        }
        guard let delta = page.deltaLink else { return .fail(.protocolError("a delta page without a next or delta link")) }
        link = delta
        return .finished(deltaLink: delta)
    }

    static func text(_ body: [UInt8], _ status: Int) -> String {
        guard let error = GraphErrorBody.parse(body) else { return "HTTP \(status)" }
        let text = error.message.isEmpty ? error.code : "\(error.code): \(error.message)"
        return String(text.prefix(300)).replacingOccurrences(of: "\n", with: " ")
    }
}
