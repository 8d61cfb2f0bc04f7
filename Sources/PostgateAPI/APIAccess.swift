import Foundation
import HTTPTypes
import HTTPTypes
import Logging
import NIOPosix
import OpenAPIRuntime
import PostgateBlocking
import PostgateDirectory
import PostgateMaildir
import PostgateStore
import Synchronization

/// Who is making the request being handled: its token, for scopes and the audit log.
enum APICaller {
    @TaskLocal static var token: APITokenRecord?

    /// The audit log's name for the caller: `token:NAME`.
    static var actor: String { token.map { "token:\($0.name)" } ?? "anonymous" }
}

/// Checks every operation's token (RFC 6750 bearer tokens), its scope and its rate, and runs
/// the operation with the token as `APICaller.token`. Health and readiness need no token.
struct APIAccessMiddleware: ServerMiddleware {
    let store: MailStore
    let threadPool: NIOThreadPool
    let limiter: APIRateLimiter
    /// When each token's last use was last written, so it is written at most once a minute.
    let lastMarked = TokenUseMarks()

    static let publicOperations: Set<String> = ["getHealth", "getReadiness", "getMetrics"]

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        if Self.publicOperations.contains(operationID) { return try await next(request, body, metadata) }
        let token = try await authenticate(request)
        // Reads need `read` (which `admin` includes); every other method changes something.
        let needed: APITokenScope = request.method == .get || request.method == .head ? .read : .admin
        guard token.allows(needed) else {
            throw APIProblem.forbidden("the token \(token.name) has the scopes \(token.scopes.map(\.rawValue).joined(separator: ", ")); this request needs \(needed.rawValue)")
        }
        if let wait = limiter.admit(token.id, perMinute: token.ratePerMinute) { throw APIProblem.tooManyRequests(retryAfter: wait) }
        await markUsed(token)
        return try await APICaller.$token.withValue(token) { try await next(request, body, metadata) }
    }

    private func authenticate(_ request: HTTPRequest) async throws -> APITokenRecord {
        guard let header = request.headerFields[.authorization] else {
            throw APIProblem.unauthorized("this request needs an API token: Authorization: Bearer TOKEN (`postgate token add`)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let text = APITokenText(parsing: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw APIProblem.unauthorized("the Authorization header is not `Bearer TOKEN` with a Postgate API token", error: "invalid_request")
        }
        let store = self.store
        let token = try await threadPool.runToCompletion { () throws -> APITokenRecord? in
            do { return try store.token(matching: text) } catch { throw APIProblem(refusal: error) }
        }
        guard let token else {
            throw APIProblem.unauthorized("the token is unknown or revoked", error: "invalid_token")
        }
        return token
    }

    private func markUsed(_ token: APITokenRecord) async {
        let now = Date().timeIntervalSince1970
        guard lastMarked.due(token.id, now: now) else { return }
        let store = self.store
        _ = try? await threadPool.runToCompletion { try store.markTokenUsed(id: token.id) }
    }
}

/// Turns every error of an operation into problem details: an `APIProblem` as it is, the
/// runtime's refusals of a malformed request (bad JSON, a wrong type, a missing parameter)
/// with their status, and anything else as 500 with its text only in the log.
struct APIProblemMiddleware: ServerMiddleware {
    let logger: Logger

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            let tag = ResponseTag()
            var (response, responseBody) = try await ResponseTag.$current.withValue(tag) { try await next(request, body, metadata) }
            if let value = tag.value { response.headerFields[.eTag] = value }
            return (response, responseBody)
        } catch {
            let problem = Self.problem(for: error, logger: logger, operationID: operationID)
            return Self.response(problem)
        }
    }

    static func problem(for error: any Error, logger: Logger, operationID: String) -> APIProblem {
        if let problem = error as? APIProblem { return problem }
        if let serverError = error as? ServerError {
            if let problem = serverError.underlyingError as? APIProblem { return problem }
            if serverError.underlyingError is DecodingError {
                return APIProblem(status: .badRequest, kind: "bad-request", detail: Self.describe(serverError))
            }
            if let convertible = serverError.underlyingError as? any HTTPResponseConvertible,
               convertible.httpStatus.kind == .clientError {
                return APIProblem(status: convertible.httpStatus, kind: "bad-request", detail: Self.describe(serverError))
            }
            logger.error("API operation failed", metadata: ["operation": "\(operationID)", "error": "\(serverError.underlyingError)"])
            return .internalError
        }
        logger.error("API operation failed", metadata: ["operation": "\(operationID)", "error": "\(error)"])
        return .internalError
    }

    /// The runtime's reason (its text names the parameter, or the JSON path and what was
    /// wrong there).
    private static func describe(_ error: ServerError) -> String {
        "the request does not match the API's contract: \(error.underlyingError)"
    }

    static func response(_ problem: APIProblem) -> (HTTPResponse, HTTPBody?) {
        var fields = problem.headerFields
        fields[.contentType] = "application/problem+json"
        return (HTTPResponse(status: problem.status, headerFields: fields), HTTPBody(problem.body()))
    }
}

/// When each token's last use was last written.
final class TokenUseMarks: Sendable {
    private let marks = Mutex<[String: Double]>([:])

    /// Whether a minute has passed since the last write for `id` (and if so, notes `now`).
    func due(_ id: String, now: Double) -> Bool {
        marks.withLock { marks in
            guard now - (marks[id] ?? 0) >= 60 else { return false }
            marks[id] = now
            return true
        }
    }
}
