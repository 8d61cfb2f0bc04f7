import Foundation
import Testing
@testable import PostgateGateway

/// The MIME a Graph sending gateway hands to `sendMail`: Graph takes its recipients from
/// To, Cc and Bcc, so envelope recipients no field names are added as Bcc.
@Suite struct GraphMessageSubmitterTests {
    static let body = "\r\nHello,\r\nthe order shipped.\r\n"

    static func message(_ header: String) -> [UInt8] { Array((header + body).utf8) }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func recipientsNamedInToOrCcLeaveTheMessageAsItIs() {
        let original = Self.message("From: support@acme.test\r\nTo: Jo <jo@customer.example>\r\nCc: ann@customer.example\r\nSubject: Re: order\r\n")
        #expect(GraphMessageSubmitter.addressed(original, to: ["jo@customer.example", "Ann@Customer.example"]) == original)
    }

    @Test func envelopeRecipientsNotInToOrCcBecomeBccAtTheEndOfTheHeader() {
        let original = Self.message("From: support@acme.test\r\nTo: jo@customer.example\r\nSubject: Re: order\r\n")
        let addressed = Self.text(GraphMessageSubmitter.addressed(original, to: ["jo@customer.example", "queue@acme.test", "lead@acme.test"]))
        #expect(addressed == "From: support@acme.test\r\nTo: jo@customer.example\r\nSubject: Re: order\r\nBcc: queue@acme.test,\r\n lead@acme.test\r\n" + Self.body)
    }

    @Test func aBccFieldTheMessageHadIsReplacedWithItsFoldedLines() {
        let original = Self.message("From: support@acme.test\r\nBcc: old@acme.test,\r\n\tother@acme.test\r\nTo: jo@customer.example\r\n")
        let addressed = Self.text(GraphMessageSubmitter.addressed(original, to: ["jo@customer.example"]))
        #expect(addressed == "From: support@acme.test\r\nTo: jo@customer.example\r\n" + Self.body)
        let withHidden = Self.text(GraphMessageSubmitter.addressed(original, to: ["jo@customer.example", "queue@acme.test"]))
        #expect(withHidden == "From: support@acme.test\r\nTo: jo@customer.example\r\nBcc: queue@acme.test\r\n" + Self.body)
    }

    @Test func aSendPermissionIsReadFromTheTokensRolesOrScopes() throws {
        func token(_ claims: String) -> String {
            let payload = Data(claims.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return "eyJhbGciOiJub25lIn0.\(payload).c2ln"
        }
        #expect(try GraphGatewayProbe.sendPermission(in: token(#"{"roles":["Mail.ReadWrite","Mail.Send"]}"#)) == "application permission Mail.Send")
        #expect(try GraphGatewayProbe.sendPermission(in: token(#"{"scp":"Mail.ReadWrite Mail.Send offline_access"}"#)) == "delegated permission Mail.Send")
        #expect(throws: FetchError.self) { try GraphGatewayProbe.sendPermission(in: token(#"{"roles":["Mail.ReadWrite"]}"#)) }
        #expect(try GraphGatewayProbe.sendPermission(in: "opaque-token").contains("not a readable JWT"))
    }
}
