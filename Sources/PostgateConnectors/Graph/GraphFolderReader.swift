/// Runs `GraphFolderSync` rounds over a `GraphClient`: one round of a folder's delta query,
/// page by page, each page handed to the caller to import before the next is asked for.
public struct GraphFolderReader: Sendable {
    /// An access token; `renewing` asks for a new one (the last was refused).
    public typealias TokenProvider = @Sendable (_ renewing: Bool) async throws -> String

    public let client: GraphClient
    let token: TokenProvider
    let pause: @Sendable (_ seconds: Int) async throws -> Void
    /// Entries per page asked for (`Prefer: odata.maxpagesize`); Graph may send fewer.
    public let pageSize: Int

    public init(client: GraphClient, pageSize: Int = 50, token: @escaping TokenProvider,
                pause: @escaping @Sendable (_ seconds: Int) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }) {
        self.client = client
        self.pageSize = pageSize
        self.token = token
        self.pause = pause
    }

    /// One round from `storedLink` (or `initialPath` under the base URL): `importPage` gets
    /// each page and the link its messages' checkpoints resume at; `resync` is called when
    /// the stored link expired and the folder starts over. Returns the new delta link.
    public func round(
        initialPath: String, storedLink: String?,
        resync: () async throws -> Void,
        importPage: (_ page: GraphDeltaPage, _ resumeLink: String) async throws -> Void
    ) async throws -> String {
        var sync = GraphFolderSync(initialURL: try client.url(initialPath), storedLink: storedLink)
        var action = sync.start()
        var bearer = try await token(false)
        while true {
            try Task.checkCancellation()
            switch action {
            case .get(let url):
                let response = try await client.send(.GET, url, token: bearer, headers: [("Prefer", "odata.maxpagesize=\(pageSize)")])
                action = sync.received(status: response.status, retryAfter: response.retryAfter, body: response.body)
            case .refreshTokenThenGet(let url):
                bearer = try await token(true)
                action = .get(url)
            case .wait(let seconds, let url):
                try await pause(seconds)
                action = .get(url)
            case .resync(let url):
                try await resync()
                action = .get(url)
            case .importPage(let page, let link):
                try await importPage(page, link)
                action = sync.pageImported()
            case .finished(let deltaLink):
                return deltaLink
            case .fail(let error):
                throw error
            }
        }
    }
}
