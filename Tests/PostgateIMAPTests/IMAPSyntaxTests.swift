import Foundation
import XCTest
@testable import PostgateIMAP

/// Names, dates, addresses and string encoding as RFC 9051 and RFC 5322 write them.
final class IMAPSyntaxTests: XCTestCase {
    func testListWildcards() {
        XCTAssertTrue(IMAPMailboxName.matches("Shared/support@acme.test", pattern: "*"))
        XCTAssertFalse(IMAPMailboxName.matches("Shared/support@acme.test", pattern: "%"))
        XCTAssertTrue(IMAPMailboxName.matches("Shared/support@acme.test", pattern: "Shared/%"))
        XCTAssertTrue(IMAPMailboxName.matches("INBOX", pattern: "inbox"))
        XCTAssertFalse(IMAPMailboxName.matches("Drafts", pattern: "D%x"))
        XCTAssertEqual(IMAPMailboxName.normalize("inbox/"), "INBOX")
        XCTAssertThrowsError(try IMAPMailboxName.validateNew("a//b"))
        XCTAssertThrowsError(try IMAPMailboxName.validateNew("a*"))
    }

    func testDateTimeRoundTrip() throws {
        let date = try XCTUnwrap(IMAPDateTime.parse("17-Jul-1996 02:44:25 -0700"))
        XCTAssertEqual(IMAPDateTime.format(date), "17-Jul-1996 09:44:25 +0000")
        XCTAssertEqual(IMAPDateTime.format(Date(timeIntervalSince1970: 0)), " 1-Jan-1970 00:00:00 +0000")
        XCTAssertNil(IMAPDateTime.parse("32-Jul-1996 02:44:25 -0700"))
        XCTAssertEqual(IMAPSentDate.parse("Mon, 23 Nov 2026 10:00:00 +0100")?.offset, 3600)
    }

    func testAddressLists() {
        XCTAssertEqual(IMAPAddressParser.parse("\"Smith, John\" <john@x.test>, jane@y.test (Jane)"), [
            .init(name: "Smith, John", mailbox: "john", host: "x.test"), .init(name: nil, mailbox: "jane", host: "y.test"),
        ])
        XCTAssertEqual(IMAPAddressParser.parse("Team: a@x.test, b@x.test;"), [
            .init(name: nil, mailbox: "Team", host: nil), .init(name: nil, mailbox: "a", host: "x.test"),
            .init(name: nil, mailbox: "b", host: "x.test"), .init(name: nil, mailbox: nil, host: nil),
        ])
        XCTAssertEqual(IMAPAddressParser.parse("undisclosed-recipients:;").count, 2)
    }

    func testStringsAreQuotedOrLiterals() {
        var w = IMAPResponseWriter()
        w.string("a \"b\" \\c")
        w.raw(" ")
        w.string("Grüße")
        w.raw(" ")
        w.nstring(nil)
        w.raw(" ")
        w.astring("INBOX")
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), "\"a \\\"b\\\" \\\\c\" {7}\r\nGrüße NIL INBOX")
    }

    /// Numbers, flag lists and literal headers written straight into the response bytes.
    func testWriterNumbersFlagsAndLiterals() {
        var w = IMAPResponseWriter()
        for value in [0, 7, 10, 4_294_967_295] { w.number(UInt32(value)); w.raw(" ") }
        w.number(UInt64(Int64.max))
        w.raw(" ")
        w.number(-5)
        w.raw(" ")
        w.flagList([])
        w.flagList(["\\Seen", "$Label"])
        w.literal(Array("abc".utf8))
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self),
                       "0 7 10 4294967295 9223372036854775807 0 ()(\\Seen $Label){3}\r\nabc")
    }
}
