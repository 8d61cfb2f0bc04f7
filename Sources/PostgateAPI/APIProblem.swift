import Foundation
import HTTPTypes
import PostgateMaildir
import PostgateOutbound

/// An error answered as RFC 9457 problem details (`application/problem+json`).
struct APIProblem: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    /// The last part of the problem's type URI (`urn:postgate:problem:<kind>`).
    var kind: String
    var detail: String
    /// Extra header fields: `WWW-Authenticate` with 401, `Retry-After` with 429.
    var headerFields: HTTPFields = [:]

    static func badRequest(_ detail: String) -> APIProblem { APIProblem(status: .badRequest, kind: "bad-request", detail: detail) }
    static func notFound(_ detail: String) -> APIProblem { APIProblem(status: .notFound, kind: "not-found", detail: detail) }
    static func conflict(_ detail: String) -> APIProblem { APIProblem(status: .conflict, kind: "conflict", detail: detail) }
    static func invalid(_ detail: String) -> APIProblem { APIProblem(status: .unprocessableContent, kind: "invalid", detail: detail) }
    /// RFC 9110 §13.1.1: the resource changed since the ETag the client sent.
    static func preconditionFailed(_ etag: String) -> APIProblem {
        APIProblem(status: .preconditionFailed, kind: "precondition-failed",
                   detail: "the resource changed since that ETag; it is now \(etag): read it again and retry")
    }
    /// RFC 6750 §3: a missing or bad token is answered 401 with `WWW-Authenticate: Bearer`.
    static func unauthorized(_ detail: String, error: String? = nil) -> APIProblem {
        var value = "Bearer realm=\"postgate\""
        if let error { value += ", error=\"\(error)\"" }
        return APIProblem(status: .unauthorized, kind: "unauthorized", detail: detail, headerFields: [.wwwAuthenticate: value])
    }
    static func forbidden(_ detail: String) -> APIProblem { APIProblem(status: .forbidden, kind: "forbidden", detail: detail) }
    static func tooManyRequests(retryAfter seconds: Int) -> APIProblem {
        APIProblem(status: .tooManyRequests, kind: "rate-limited",
                   detail: "this token made more requests this minute than its rate allows; retry after \(seconds) s",
                   headerFields: [.retryAfter: String(seconds)])
    }
    static let internalError = APIProblem(status: .internalServerError, kind: "internal",
                                          detail: "the gateway could not complete the request; its log says why")

    var typeURI: String { "urn:postgate:problem:\(kind)" }

    /// The JSON body: `type`, `title` (the status's reason phrase), `status`, `detail`.
    func body() -> Data {
        let object: [String: Any] = ["type": typeURI, "title": status.reasonPhrase, "status": status.code, "detail": detail]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}

extension APIProblem {
    /// The problem a store refusal is: 404 for what is not there, 409 for a conflict with what
    /// is, 422 for a setting that breaks a rule. Errors of the files or the database are 500,
    /// their text (which names paths) kept for the log.
    init(_ error: StoreError) {
        switch error {
        case .addressNotFound, .aliasNotFound, .domainNotHosted, .mailboxNotFound, .sessionNotFound, .queueNotFound,
             .filterNotFound, .dkimKeyNotFound, .blocklistEntryNotFound, .quarantinedMessageNotFound, .agentNotFound,
             .folderNotFound, .messageNotFound, .gatewayNotFound, .responseNotFound:
            self = .notFound(error.description)
        case .domainAlreadyHosted, .domainNotEmpty, .addressInUse, .addressGivenTwice, .queueExists, .queueInUse,
             .dkimSelectorExists, .blocklistEntryExists, .agentAlreadyExists, .agentAlreadyGranted, .folderExists,
             .folderNotRemovable, .notAnAddress, .responseExists:
            self = .conflict(error.description)
        case .invalidSetting, .limitReached, .publishFailed, .agentNotGranted:
            self = .invalid(error.description)
        default:
            self = .internalError
        }
    }

    init(_ error: OutboundQueueError) {
        switch error {
        case .store(let error): self.init(error)
        case .messageNotFound: self = .notFound(error.description)
        case .noRecipients, .autoReplyHeld: self = .invalid(error.description)
        }
    }

    /// The problem an error of the store, the outbound queue or a handler is.
    init(refusal error: any Error) {
        switch error {
        case let problem as APIProblem: self = problem
        case let error as StoreError: self.init(error)
        case let error as OutboundQueueError: self.init(error)
        default: self = .internalError
        }
    }
}
