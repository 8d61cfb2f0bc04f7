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
    private(set) var link: String
    private var page: GraphDeltaPage?
    private var retry: GraphRetry
    private var resynced = false

    /// - Parameters:
    ///   - initialURL: the folder's first delta URL (`…/mailFolders/{folder}/messages/delta`).
    ///   - storedLink: where the last round stopped, or its delta link; nil for a first round.
    public init(initialURL: String, storedLink: String?, maxRetryAfter: Int = 300, maxWaits: Int = 5) {
        self.initialURL = initialURL
        self.link = storedLink ?? initialURL
        self.retry = GraphRetry(maxRetryAfter: maxRetryAfter, maxWaits: maxWaits)
    }

    public func start() -> Action { .get(link) }

    /// The answer to the last GET: its status, `Retry-After` in seconds if present, and body.
    public mutating func received(status: Int, retryAfter: Int?, body: [UInt8]) -> Action {
        if status == 200 {
            retry.succeeded()
            let page: GraphDeltaPage
            do {
                page = try GraphDeltaPage.parse(body)
            } catch {
                return .fail(error)
            }
            self.page = page
            return .importPage(page, link: link)
        }
        let code = GraphErrorBody.parse(body)?.code ?? ""
        if status == 410 || Self.expiredSyncCodes.contains(code) {
            guard !resynced else { return .fail(.status(status, GraphRetry.text(body, status))) }
            resynced = true
            link = initialURL
            return .resync(initialURL)
        }
        switch retry.decide(status: status, retryAfter: retryAfter, body: body) {
        case .renewTokenAndRetry: return .refreshTokenThenGet(link)
        case .wait(let seconds): return .wait(seconds: seconds, thenGet: link)
        case .fail(let error): return .fail(error)
        }
    }

    /// The page handed out by `importPage` is in: the next page, or the end of the round.
    public mutating func pageImported() -> Action {
        guard let page else { return .fail(.protocolError("no page was being imported")) }
        self.page = nil
        if let next = page.nextLink {
            link = next
            return .get(next)
        }
        guard let delta = page.deltaLink else { return .fail(.protocolError("a delta page without a next or delta link")) }
        link = delta
        return .finished(deltaLink: delta)
    }
}
