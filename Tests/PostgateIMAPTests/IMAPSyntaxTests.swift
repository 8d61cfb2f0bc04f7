import Foundation
import Testing
@testable import PostgateIMAP

/// Names, dates, addresses and string encoding as RFC 9051 and RFC 5322 write them.
@Suite struct IMAPSyntaxTests {
    @Test func listWildcards() {
        #expect(IMAPMailboxName.matches("Shared/support@acme.test", pattern: "*"))
        #expect(!IMAPMailboxName.matches("Shared/support@acme.test", pattern: "%"))
        #expect(IMAPMailboxName.matches("Shared/support@acme.test", pattern: "Shared/%"))
        #expect(IMAPMailboxName.matches("INBOX", pattern: "inbox"))
        #expect(!IMAPMailboxName.matches("Drafts", pattern: "D%x"))
        #expect(IMAPMailboxName.normalize("inbox/") == "INBOX")
        #expect(throws: IMAPCommandFailure.self) { try IMAPMailboxName.validateNew("a//b") }
        #expect(throws: IMAPCommandFailure.self) { try IMAPMailboxName.validateNew("a*") }
    }

    @Test func dateTimeRoundTrip() throws {
        let date = try #require(IMAPDateTime.parse("17-Jul-1996 02:44:25 -0700"))
        #expect(IMAPDateTime.format(date) == "17-Jul-1996 09:44:25 +0000")
        #expect(IMAPDateTime.format(Date(timeIntervalSince1970: 0)) == " 1-Jan-1970 00:00:00 +0000")
        #expect(IMAPDateTime.parse("32-Jul-1996 02:44:25 -0700") == nil)
        #expect(IMAPSentDate.parse("Mon, 23 Nov 2026 10:00:00 +0100")?.offset == 3600)
    }

    @Test func addressLists() {
        #expect(IMAPAddressParser.parse("\"Smith, John\" <john@x.test>, jane@y.test (Jane)") == [
            .init(name: "Smith, John", mailbox: "john", host: "x.test"), .init(name: "Jane", mailbox: "jane", host: "y.test"),
        ])
        #expect(IMAPAddressParser.parse("Team: a@x.test, b@x.test;") == [
            .init(name: nil, mailbox: "Team", host: nil), .init(name: nil, mailbox: "a", host: "x.test"),
            .init(name: nil, mailbox: "b", host: "x.test"), .init(name: nil, mailbox: nil, host: nil),
        ])
        #expect(IMAPAddressParser.parse("undisclosed-recipients:;").count == 2)
    }

    @Test func stringsAreQuotedOrLiterals() {
        var w = IMAPResponseWriter()
        w.string("a \"b\" \\c")
        w.raw(" ")
        w.string("Grüße")
        w.raw(" ")
        w.nstring(nil)
        w.raw(" ")
        w.astring("INBOX")
        #expect(String(decoding: w.bytes, as: UTF8.self) == "\"a \\\"b\\\" \\\\c\" {7}\r\nGrüße NIL INBOX")
    }

    /// Numbers, flag lists and literal headers written straight into the response bytes.
    @Test func writerNumbersFlagsAndLiterals() {
        var w = IMAPResponseWriter()
        for value in [0, 7, 10, 4_294_967_295] { w.number(UInt32(value)); w.raw(" ") }
        w.number(UInt64(Int64.max))
        w.raw(" ")
        w.number(-5)
        w.raw(" ")
        w.flagList([])
        w.flagList(["\\Seen", "$Label"])
        w.literal(Array("abc".utf8))
        #expect(String(decoding: w.bytes, as: UTF8.self) ==
                "0 7 10 4294967295 9223372036854775807 0 ()(\\Seen $Label){3}\r\nabc")
    }
}
