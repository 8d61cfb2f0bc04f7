import Foundation
import Testing
@testable import PostgateConnectors

/// The Graph delta page reader and the folder's delta state machine, without a socket.
@Suite struct GraphFolderSyncTests {
    static let first = "https://graph.test/v1.0/users/u/mailFolders/inbox/messages/delta?$select=receivedDateTime"

    static func body(_ json: String) -> [UInt8] { Array(json.utf8) }

    static func page(ids: [String], removed: [String] = [], next: String? = nil, delta: String? = nil) -> [UInt8] {
        var entries = ids.map { #"{"@odata.etag":"W/\"x\"","id":"\#($0)","receivedDateTime":"2026-12-01T08:30:00Z","isRead":false}"# }
        entries += removed.map { #"{"id":"\#($0)","@removed":{"reason":"deleted"}}"# }
        var members = [#""@odata.context":"https://graph.test/v1.0/$metadata#Collection(message)""#, #""value":[\#(entries.joined(separator: ","))]"#]
        if let next { members.append(#""@odata.nextLink":"\#(next)""#) }
        if let delta { members.append(#""@odata.deltaLink":"\#(delta)""#) }
        return body("{" + members.joined(separator: ",") + "}")
    }

    @Test func aPageIsReadWithItsEntriesAndItsLink() throws {
        let page = try GraphDeltaPage.parse(Self.page(ids: ["a", "b"], removed: ["c"], next: "https://graph.test/next?$skiptoken=1"))
        #expect(page.entries.map(\.id) == ["a", "b", "c"])
        #expect(page.entries.map(\.removed) == [false, false, true])
        #expect(page.entries[0].receivedAt == Date(timeIntervalSince1970: 1_796_113_800))
        #expect(page.nextLink == "https://graph.test/next?$skiptoken=1" && page.deltaLink == nil)
        let fractional = try GraphDeltaPage.parse(Self.body(#"{"value":[{"id":"x","receivedDateTime":"2026-12-01T08:30:00.123Z"}],"@odata.deltaLink":"d"}"#))
        #expect(fractional.entries[0].receivedAt != nil && fractional.deltaLink == "d")
    }

    @Test(arguments: [
        #"[]"#, #"{"value":{}}"#, #"{"value":[{"subject":"no id"}],"@odata.deltaLink":"d"}"#,
        #"{"value":[]}"#, #"{"value":[],"@odata.nextLink":"n","@odata.deltaLink":"d"}"#, "not json",
    ])
    func aBodyThatIsNotADeltaPageIsAProtocolError(_ text: String) {
        #expect(throws: GraphError.self) { try GraphDeltaPage.parse(Self.body(text)) }
    }

    @Test func aRoundFollowsNextLinksToTheDeltaLink() {
        var sync = GraphFolderSync(initialURL: Self.first, storedLink: nil)
        #expect(sync.start() == .get(Self.first))
        let one = sync.received(status: 200, retryAfter: nil, body: Self.page(ids: ["a", "b"], next: "https://graph.test/p2"))
        guard case .importPage(let page, let link) = one else { Issue.record("expected a page, got \(one)"); return }
        #expect(page.entries.map(\.id) == ["a", "b"] && link == Self.first)
        #expect(sync.pageImported() == .get("https://graph.test/p2"))
        let two = sync.received(status: 200, retryAfter: nil, body: Self.page(ids: ["c"], delta: "https://graph.test/d1"))
        guard case .importPage(_, let link2) = two else { Issue.record("expected a page, got \(two)"); return }
        #expect(link2 == "https://graph.test/p2")
        #expect(sync.pageImported() == .finished(deltaLink: "https://graph.test/d1"))
    }

    @Test func aStoredLinkIsWhereTheRoundStarts() {
        let sync = GraphFolderSync(initialURL: Self.first, storedLink: "https://graph.test/d0")
        #expect(sync.start() == .get("https://graph.test/d0"))
    }

    @Test func unauthorizedGetsOneNewTokenThenAClearFailure() {
        var sync = GraphFolderSync(initialURL: Self.first, storedLink: nil)
        let refused = Self.body(#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}"#)
        #expect(sync.received(status: 401, retryAfter: nil, body: refused) == .refreshTokenThenGet(Self.first))
        guard case .fail(.unauthorized(let text)) = sync.received(status: 401, retryAfter: nil, body: refused) else {
            Issue.record("a second 401 must fail"); return
        }
        #expect(text.contains("InvalidAuthenticationToken"))
        // A success in between allows one more refresh later (a token that expired mid-round).
        var again = GraphFolderSync(initialURL: Self.first, storedLink: nil)
        _ = again.received(status: 401, retryAfter: nil, body: refused)
        _ = again.received(status: 200, retryAfter: nil, body: Self.page(ids: [], next: "https://graph.test/p2"))
        _ = again.pageImported()
        #expect(again.received(status: 401, retryAfter: nil, body: refused) == .refreshTokenThenGet("https://graph.test/p2"))
    }

    @Test func throttlingWaitsRetryAfterABoundedNumberOfTimes() {
        var sync = GraphFolderSync(initialURL: Self.first, storedLink: nil, maxRetryAfter: 60, maxWaits: 2)
        #expect(sync.received(status: 429, retryAfter: 3, body: []) == .wait(seconds: 3, thenGet: Self.first))
        #expect(sync.received(status: 503, retryAfter: nil, body: []) == .wait(seconds: 10, thenGet: Self.first))
        #expect(sync.received(status: 429, retryAfter: 3, body: []) == .fail(.throttled(retryAfterSeconds: 3)))
        var long = GraphFolderSync(initialURL: Self.first, storedLink: nil, maxRetryAfter: 60)
        #expect(long.received(status: 429, retryAfter: 3600, body: []) == .fail(.throttled(retryAfterSeconds: 3600)))
    }

    @Test(arguments: [
        (410, #"{"error":{"code":"SyncStateNotFound","message":"gone"}}"#),
        (400, #"{"error":{"code":"syncStateNotFound","message":"The sync state is not found."}}"#),
        (400, #"{"error":{"code":"resyncRequired","message":"Resync required."}}"#),
    ])
    func anExpiredLinkStartsTheFolderOverOnce(status: Int, json: String) {
        var sync = GraphFolderSync(initialURL: Self.first, storedLink: "https://graph.test/old")
        #expect(sync.received(status: status, retryAfter: nil, body: Self.body(json)) == .resync(Self.first))
        #expect(sync.start() == .get(Self.first))
        guard case .fail = sync.received(status: status, retryAfter: nil, body: Self.body(json)) else {
            Issue.record("a second expiry in one round must fail"); return
        }
    }

    @Test func otherStatusesFailWithGraphsErrorText() {
        var sync = GraphFolderSync(initialURL: Self.first, storedLink: nil)
        let body = Self.body(#"{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}"#)
        #expect(sync.received(status: 404, retryAfter: nil, body: body)
                == .fail(.status(404, "ErrorItemNotFound: The specified object was not found in the store.")))
        var forbidden = GraphFolderSync(initialURL: Self.first, storedLink: nil)
        guard case .fail(.forbidden) = forbidden.received(status: 403, retryAfter: nil, body: []) else {
            Issue.record("403 must fail as forbidden"); return
        }
    }
}

/// The rules every Graph request follows on a failed answer.
@Suite struct GraphRetryTests {
    static func error(_ code: String) -> [UInt8] { Array(#"{"error":{"code":"\#(code)","message":"m"}}"#.utf8) }

    @Test func oneNewTokenAfterA401ThenAClearFailure() {
        var retry = GraphRetry()
        #expect(retry.decide(status: 401, retryAfter: nil, body: Self.error("InvalidAuthenticationToken")) == .renewTokenAndRetry)
        guard case .fail(.unauthorized) = retry.decide(status: 401, retryAfter: nil, body: []) else {
            Issue.record("a second 401 must fail")
            return
        }
        retry.succeeded()
        #expect(retry.decide(status: 401, retryAfter: nil, body: []) == .renewTokenAndRetry, "a success restores the allowance")
    }

    @Test func throttlingWaitsRetryAfterBoundedInCountAndLength() {
        var retry = GraphRetry(maxRetryAfter: 60, maxWaits: 2)
        #expect(retry.decide(status: 429, retryAfter: 7, body: Self.error("ApplicationThrottled")) == .wait(seconds: 7))
        #expect(retry.decide(status: 503, retryAfter: nil, body: []) == .wait(seconds: 10))
        #expect(retry.decide(status: 429, retryAfter: 7, body: []) == .fail(.throttled(retryAfterSeconds: 7)))
        var long = GraphRetry(maxRetryAfter: 60, maxWaits: 2)
        #expect(long.decide(status: 429, retryAfter: 3600, body: []) == .fail(.throttled(retryAfterSeconds: 3600)))
    }

    @Test func otherStatusesFailWithGraphsCode() {
        var retry = GraphRetry()
        #expect(retry.decide(status: 403, retryAfter: nil, body: Self.error("ErrorAccessDenied")) == .fail(.forbidden("ErrorAccessDenied: m")))
        #expect(retry.decide(status: 400, retryAfter: nil, body: Self.error("ErrorInvalidIdMalformed")) == .fail(.status(400, "ErrorInvalidIdMalformed: m")))
    }
}
