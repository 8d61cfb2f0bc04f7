import Crypto
import Foundation
import NIOPosix
import PostgateBlocking
import PostgateDirectory
import PostgateMaildir
import PostgateOutbound
import PostgateStore
import Synchronization

/// The API's operations (openapi.yaml) over the store: each runs its store work on the
/// gateway's thread pool, maps a refusal to problem details, and records every change in the
/// audit log with the caller's token.
struct APIHandler: APIProtocol {
    let store: MailStore
    let outbound: OutboundQueue
    let threadPool: NIOThreadPool
    /// The per-kind limits new domains and addresses are checked against (`channels.limits`).
    let limits: ChannelLimits
    /// The key that seals webhook and bot secrets; nil: the data directory's `secret.key`.
    let secretKeyPath: String?
    /// What `/readyz` reports.
    let readiness: @Sendable () async -> [APIReadinessCheck]
    /// What `/metrics` answers: the Prometheus text exposition.
    let metrics: @Sendable () async -> [UInt8]

    /// Runs `body` on the thread pool; a store refusal becomes its problem.
    func blocking<T: Sendable>(_ body: @escaping @Sendable (MailStore) throws(StoreError) -> T) async throws -> T {
        let store = self.store
        return try await threadPool.runToCompletion { () throws -> T in
            do { return try body(store) } catch { throw APIProblem(refusal: error) }
        }
    }

    /// Records a change made by the caller. A change is made before it is recorded (each in
    /// its own transaction); a failure to record is logged by the caller's problem, not hidden.
    func audit(_ action: String, _ target: String, _ detail: String? = nil) async throws {
        let actor = APICaller.actor
        _ = try await blocking { store throws(StoreError) in try store.recordAudit(actor: actor, action: action, target: target, detail: detail) }
    }
}

/// One line of `/readyz`.
package struct APIReadinessCheck: Sendable {
    package enum Name: String, Sendable { case listeners, store, disk }
    package var name: Name
    package var ok: Bool
    package var detail: String

    package init(name: Name, ok: Bool, detail: String) {
        self.name = name
        self.ok = ok
        self.detail = detail
    }
}

/// Strong entity tags (RFC 9110 §8.8.3): SHA-256 of a resource's JSON with sorted keys.
enum EntityTag {
    static func of<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        let data = (try? encoder.encode(value)) ?? Data()
        let digest = SHA256.hash(data: data).prefix(16).map { String(format: "%02x", $0) }.joined()
        return "\"\(digest)\""
    }

    /// Sets the response's `ETag` to the tag of `value`. The header is written by
    /// `APIProblemMiddleware` as it is: the generated code would percent-encode its quotes.
    /// - Returns: nil, for the generated header parameter.
    static func respond<T: Encodable>(_ value: T) -> String? {
        ResponseTag.current?.set(of(value))
        return nil
    }

    /// Refuses the change when `ifMatch` is given and names neither `current` nor `*`
    /// (RFC 9110 §13.1.1; a list of tags is allowed).
    static func check(_ ifMatch: String?, against current: String) throws {
        guard let ifMatch else { return }
        let tags = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard tags.contains("*") || tags.contains(current) else { throw APIProblem.preconditionFailed(current) }
    }
}

/// The `ETag` a handler chose for the response being made.
final class ResponseTag: Sendable {
    @TaskLocal static var current: ResponseTag?
    private let tag = Mutex<String?>(nil)

    func set(_ value: String) { tag.withLock { $0 = value } }
    var value: String? { tag.withLock { $0 } }
}

/// Pages of a collection ordered by a key: the cursor is the last key of the page, in
/// base64url so that it is opaque and safe in a query.
enum Pagination {
    static let defaultLimit = 100
    static let maxLimit = 500

    static func limit(_ requested: Int?) throws -> Int {
        guard let requested else { return defaultLimit }
        guard (1...maxLimit).contains(requested) else { throw APIProblem.badRequest("limit must be 1 to \(maxLimit), not \(requested)") }
        return requested
    }

    static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String?) throws -> String? {
        guard let cursor else { return nil }
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: text), let key = String(data: data, encoding: .utf8), !key.isEmpty else {
            throw APIProblem.invalid("cursor is not a nextCursor this API gave")
        }
        return key
    }

    /// The page of `items` (sorted by `key` ascending) after `cursor`.
    static func page<T>(_ items: [T], key: (T) -> String, limit: Int?, cursor: String?) throws -> (items: [T], next: String?) {
        let limit = try self.limit(limit)
        let after = try decode(cursor)
        let rest = after.map { after in items.filter { key($0) > after } } ?? items
        let page = Array(rest.prefix(limit))
        return (page, rest.count > limit ? page.last.map { encode(key($0)) } : nil)
    }

    /// The numeric key of a cursor over ids (sessions, outbound messages, audit events).
    static func decodeID(_ cursor: String?) throws -> Int64? {
        guard let key = try decode(cursor) else { return nil }
        guard let id = Int64(key) else { throw APIProblem.invalid("cursor is not a nextCursor this API gave") }
        return id
    }
}
