import Foundation
import HTTPTypes
import Testing
@testable import PostgateAPI

@Suite struct APIContractTests {
    static let document = Data("""
        openapi: 3.1.0
        paths:
          /v1/things/{name}:
            parameters:
              - name: name
                in: path
                required: true
                schema:
                  type: string
                  maxLength: 5
            put:
              operationId: putThing
              parameters:
                - $ref: '#/components/parameters/Limit'
              requestBody:
                content:
                  application/json:
                    schema:
                      $ref: '#/components/schemas/Thing'
            get:
              operationId: getThing
        components:
          parameters:
            Limit:
              name: limit
              in: query
              schema:
                type: integer
                minimum: 1
                maximum: 10
          schemas:
            Thing:
              type: object
              additionalProperties: false
              properties:
                title:
                  type: [string, 'null']
                  maxLength: 3
                tags:
                  type: array
                  maxItems: 2
                  items:
                    type: string
                    minLength: 1
                count:
                  type: integer
                  minimum: 0
                on:
                  type: boolean
                line:
                  type: string
                  pattern: '^[^\\r\\n]*$'
                weight:
                  type: number
        """.utf8)

    private func violation(path: String = "/v1/things/abc", parameters: [String: Substring] = ["name": "abc"], _ body: String?) throws -> String? {
        let contract = try APIContract(document: Self.document)
        let request = HTTPRequest(method: .put, scheme: "https", authority: "x", path: path)
        return contract.violation(operationID: "putThing", request: request, pathParameters: parameters, body: body.map { Data($0.utf8) })
    }

    @Test func aRequestWithinEveryBoundPasses() throws {
        #expect(try violation(#"{"title": "abc", "tags": ["a", "b"], "count": 0, "on": true}"#) == nil)
        #expect(try violation(#"{"title": null}"#) == nil)
        #expect(try violation(path: "/v1/things/abc?limit=10", nil) == nil)
    }

    @Test func eachBoundIsChecked() throws {
        #expect(try violation(#"{"title": "abcd"}"#) == "body.title is longer than 3 characters")
        #expect(try violation(#"{"tags": ["a", "b", "c"]}"#) == "body.tags has more than 2 items")
        #expect(try violation(#"{"tags": [""]}"#) == "body.tags[0] is shorter than 1 characters")
        #expect(try violation(#"{"count": -1}"#) == "body.count is less than 0")
        #expect(try violation(#"{"count": 1.5}"#) == "body.count must be an integer")
        #expect(try violation(#"{"count": true}"#) == "body.count must be an integer")
        #expect(try violation(#"{"on": 1}"#) == "body.on must be true or false")
        #expect(try violation(#"{"title": 5}"#) == "body.title must be a string")
        #expect(try violation(#"{"colour": "red"}"#) == "body.colour is not a property this request takes")
        #expect(try violation(#"["not", "an", "object"]"#) == "body must be an object")
        #expect(try violation("{not json") == "the body is not JSON")
        #expect(try violation(path: "/v1/things/abc?limit=11", nil) == "limit is more than 10")
        #expect(try violation(path: "/v1/things/abc?limit=ten", nil) == "limit must be an integer")
        #expect(try violation(path: "/v1/things/abcdef", parameters: ["name": "abcdef"], nil) == "name is longer than 5 characters")
    }

    @Test func patternsAndNumbersAreChecked() throws {
        #expect(try violation(#"{"line": "one line", "weight": 2.5}"#) == nil)
        #expect(try violation(#"{"line": "two\nlines"}"#) == #"body.line does not match ^[^\r\n]*$"#)
        // ECMA-262's $ matches only at the end: a final line break does not match.
        #expect(try violation(#"{"line": "ends with a break\n"}"#) == #"body.line does not match ^[^\r\n]*$"#)
        #expect(try violation(#"{"weight": null}"#) == "body.weight must be a number")
        #expect(try violation(#"{"weight": true}"#) == "body.weight must be a number")
        #expect(try violation(#"{"weight": "2"}"#) == "body.weight must be a number")
    }

    @Test func lengthsCountUnicodeScalarsAsJSONSchemaDoes() throws {
        #expect(try violation(#"{"title": "äöü"}"#) == nil)
        #expect(try violation(#"{"title": "äöüß"}"#) == "body.title is longer than 3 characters")
    }

    @Test func knownPathsAnswerTheirMethods() {
        let paths = APIPaths(document: Self.document)
        #expect(paths.methods(of: "/v1/things/x") == ["PUT", "GET", "HEAD"])
        #expect(paths.methods(of: "/v1/things") == nil)
        #expect(paths.methods(of: "/openapi.yaml") == ["GET", "HEAD"])
    }
}

@Suite struct APIRateLimiterTests {
    final class Clock: @unchecked Sendable {
        var now = 1000.0
    }

    @Test func aTokenBurstsToItsRateThenGoesAtItsRate() {
        let clock = Clock()
        let limiter = APIRateLimiter(now: { clock.now })
        for _ in 0..<60 { #expect(limiter.admit("a", perMinute: 60) == nil) }
        #expect(limiter.admit("a", perMinute: 60) == 1)
        #expect(limiter.admit("b", perMinute: 60) == nil, "one token's bucket is its own")
        clock.now += 1
        #expect(limiter.admit("a", perMinute: 60) == nil)
        #expect(limiter.admit("a", perMinute: 60) != nil)
        clock.now += 3600
        for _ in 0..<60 { #expect(limiter.admit("a", perMinute: 60) == nil) }
        #expect(limiter.admit("a", perMinute: 60) != nil, "a long pause fills the bucket only to its size")
    }
}

@Suite struct PaginationTests {
    @Test func pagesWalkEveryItemOnceInOrder() throws {
        let names = (0..<7).map { "n\($0)" }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try Pagination.page(names, key: { $0 }, limit: 3, cursor: cursor)
            seen += page.items
            cursor = page.next
        } while cursor != nil
        #expect(seen == names)
        #expect(throws: APIProblem.self) { try Pagination.page(names, key: { $0 }, limit: 0, cursor: nil) }
        #expect(throws: APIProblem.self) { try Pagination.decode("%%%") }
    }

    @Test func entityTagsFollowTheContentAndIfMatchTakesAListOrAStar() throws {
        let a = EntityTag.of(["k": 1])
        #expect(a == EntityTag.of(["k": 1]) && a != EntityTag.of(["k": 2]) && a.hasPrefix("\"") && a.hasSuffix("\""))
        try EntityTag.check(nil, against: a)
        try EntityTag.check("*", against: a)
        try EntityTag.check("\"x\", \(a)", against: a)
        #expect(throws: APIProblem.self) { try EntityTag.check("\"x\"", against: a) }
    }
}
