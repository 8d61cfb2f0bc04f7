import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An answer from Graph: the status, `Retry-After` in seconds where given (RFC 9110 section
/// 10.2.3, delay-seconds form), and the body, read up to a bound.
public struct GraphResponse: Sendable, Equatable {
    public var status: Int
    public var retryAfter: Int?
    public var body: [UInt8]

    public init(status: Int, retryAfter: Int? = nil, body: [UInt8] = []) {
        self.status = status
        self.retryAfter = retryAfter
        self.body = body
    }
}

/// What fetching a message's MIME (`GET …/messages/{id}/$value`) came to.
public enum GraphValueOutcome: Sendable, Equatable {
    /// The whole message went into the sink.
    case fetched
    /// 404: the message is gone (moved or deleted since the delta listed it).
    case notFound
    /// The message is larger than allowed (by `Content-Length`, or while reading).
    case tooLarge(Int)
    /// Another answer (401, 429, 503, …), its body read.
    case failed(GraphResponse)
}

/// Requests to Microsoft Graph over the process's `HTTPClient`, with a bearer token.
///
/// `baseURL` (`https://graph.microsoft.com/v1.0`, a national cloud's, or a test endpoint)
/// is a setting. Links Graph hands back (`@odata.nextLink`, `@odata.deltaLink`) are followed
/// only when they start with `baseURL`'s origin, so a token never goes to another host.
public struct GraphClient: Sendable {
    public let baseURL: String
    let httpClient: HTTPClient
    let requestTimeout: Duration
    /// The most of a JSON answer read (a delta page of Graph's largest page size fits).
    public static let maxJSONBytes = 8 << 20

    public init(baseURL: String, httpClient: HTTPClient, requestTimeout: Duration = .seconds(60)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.httpClient = httpClient
        self.requestTimeout = requestTimeout
    }

    /// `path` under `baseURL` (it starts with `/`), or an absolute link Graph gave.
    public func url(_ pathOrLink: String) throws(GraphError) -> String {
        guard pathOrLink.hasPrefix("http://") || pathOrLink.hasPrefix("https://") else { return baseURL + pathOrLink }
        guard let link = URL(string: pathOrLink), let base = URL(string: baseURL),
              link.scheme == base.scheme, link.host?.lowercased() == base.host?.lowercased(), link.port == base.port else {
            throw .protocolError("Graph handed back a link to another origin than \(baseURL); not followed")
        }
        return pathOrLink
    }

    /// One request; the answer's body is read up to `maxBytes` (`maxJSONBytes` unless
    /// given); a longer one is `GraphError.tooLarge`.
    public func send(
        _ method: HTTPMethod, _ pathOrLink: String, token: String, body: [UInt8]? = nil, contentType: String = "application/json",
        headers extra: [(String, String)] = [], maxBytes: Int = GraphClient.maxJSONBytes
    ) async throws(GraphError) -> GraphResponse {
        let request = try makeRequest(method, pathOrLink, token: token, body: body, contentType: contentType, headers: extra)
        do {
            let response = try await httpClient.execute(request, timeout: Self.timeAmount(requestTimeout))
            let body = try await response.body.collect(upTo: maxBytes)
            return GraphResponse(status: Int(response.status.code), retryAfter: Self.retryAfter(response.headers),
                                 body: Array(buffer: body))
        } catch is NIOTooManyBytesError {
            throw .tooLarge("\(method) \(pathOrLink): the answer is larger than \(maxBytes) bytes")
        } catch {
            throw .transport("\(method) \(pathOrLink): \(error)")
        }
    }

    /// A request under the rules of `GraphRetry` (a new token after a 401, `Retry-After` on
    /// 429 and 503); the answer is 2xx, or the 404 when `allowNotFound`.
    public func call(
        _ method: HTTPMethod, _ path: String, token: GraphFolderReader.TokenProvider, pause: @Sendable (_ seconds: Int) async throws -> Void,
        body: [UInt8]? = nil, contentType: String = "application/json", allowNotFound: Bool = false, maxBytes: Int = GraphClient.maxJSONBytes
    ) async throws -> GraphResponse {
        var retry = GraphRetry()
        var bearer = try await token(false)
        while true {
            try Task.checkCancellation()
            let response = try await send(method, path, token: bearer, body: body, contentType: contentType, maxBytes: maxBytes)
            if (200..<300).contains(response.status) || (allowNotFound && response.status == 404) { return response }
            switch retry.decide(status: response.status, retryAfter: response.retryAfter, body: response.body) {
            case .renewTokenAndRetry: bearer = try await token(true)
            case .wait(let seconds): try await pause(seconds)
            case .fail(let error): throw error
            }
        }
    }

    /// Streams a message's MIME (`$value`) into `sink` chunk by chunk; a message over
    /// `maxSize` octets is not read past the limit.
    public func fetchValue(_ path: String, token: String, maxSize: Int, into sink: (ByteBuffer) async throws -> Void) async throws -> GraphValueOutcome {
        let request = try makeRequest(.GET, path, token: token, body: nil, contentType: nil, headers: [])
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: Self.timeAmount(requestTimeout))
        } catch {
            throw GraphError.transport("GET \(path): \(error)")
        }
        switch response.status.code {
        case 200: break
        case 404:
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return .notFound
        default:
            let body = (try? await response.body.collect(upTo: Self.maxJSONBytes)).map { Array(buffer: $0) } ?? []
            return .failed(GraphResponse(status: Int(response.status.code), retryAfter: Self.retryAfter(response.headers), body: body))
        }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxSize {
            return .tooLarge(length)
        }
        var total = 0
        for try await chunk in response.body {
            total += chunk.readableBytes
            if total > maxSize { return .tooLarge(total) }
            try await sink(chunk)
        }
        return .fetched
    }

    private func makeRequest(
        _ method: HTTPMethod, _ pathOrLink: String, token: String, body: [UInt8]?, contentType: String?, headers extra: [(String, String)]
    ) throws(GraphError) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: try url(pathOrLink))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        // Ids that stay the same when a message moves between folders, so the ledger of
        // fetched ids still knows a message after a move.
        request.headers.add(name: "Prefer", value: "IdType=\"ImmutableId\"")
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// `Retry-After` as delay-seconds, or as an HTTP date from now (RFC 9110 section 10.2.3).
    static func retryAfter(_ headers: HTTPHeaders) -> Int? {
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Int(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: value).map { max(0, Int($0.timeIntervalSinceNow.rounded(.up))) }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
