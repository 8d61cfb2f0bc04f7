import NIOCore
import XCTest
@testable import PostgateIMAP

/// Commands from the examples of RFC 9051 section 6 (and RFC 3501), parsed into types.
final class IMAPCommandParserTests: XCTestCase {
    private func parse(_ line: String, literals: [String] = []) -> Result<IMAPTaggedCommand, IMAPParseFailure> {
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: line + "\r\n"))
        var frames: [IMAPFrameDecoder.Frame] = []
        while let event = decoder.next() {
            if case .frame(let frame) = event { frames.append(frame) }
        }
        return IMAPCommandParser.parse(frames[0])
    }

    private func command(_ line: String) throws -> IMAPCommand {
        try parse(line).get().command
    }

    func testSimpleCommands() throws {
        XCTAssertEqual(try parse("a001 LOGIN SMITH SESAME").get(), IMAPTaggedCommand(tag: "a001", command: .login(user: "SMITH", password: "SESAME")))
        XCTAssertEqual(try command("A142 SELECT INBOX"), .select(mailbox: "INBOX", readOnly: false))
        XCTAssertEqual(try command("A932 EXAMINE blurdybloop"), .select(mailbox: "blurdybloop", readOnly: true))
        XCTAssertEqual(try command("A683 RENAME blurdybloop sarasoop"), .rename(from: "blurdybloop", to: "sarasoop"))
        XCTAssertEqual(try command("a LOGIN \"fred \\\"x\\\"\" {3+}\r\nabc"), .login(user: "fred \"x\"", password: "abc"))
        XCTAssertEqual(try command("A042 STATUS blurdybloop (UIDNEXT MESSAGES)"), .status(mailbox: "blurdybloop", items: [.uidNext, .messages]))
        XCTAssertEqual(try command("A202 LIST ~/Mail/ %"), .list(reference: "~/Mail/", patterns: ["%"], options: .init()))
        XCTAssertEqual(try command("a UID EXPUNGE 3000:3002"), .expunge(uids: IMAPSequenceSet(ranges: [(.number(3000), .number(3002))])))
        XCTAssertEqual(try command("a ENABLE CONDSTORE utf8=accept"), .enable(capabilities: ["CONDSTORE", "UTF8=ACCEPT"]))
    }

    func testListReturnSpecialUse() throws {
        guard case .list(_, let patterns, let options) = try command("t1 LIST (SPECIAL-USE) \"\" (\"*\" \"%\") RETURN (SPECIAL-USE SUBSCRIBED)") else {
            return XCTFail("not a LIST")
        }
        XCTAssertEqual(patterns, ["*", "%"])
        XCTAssertTrue(options.specialUseOnly && options.returnSpecialUse && options.returnSubscribed)
    }

    func testAppendWithFlagsDateAndLiteral() throws {
        let result = try command("A003 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5+}\r\nHello")
        guard case .append(let mailbox, let flags, let date, let message) = result else { return XCTFail("not APPEND") }
        XCTAssertEqual(mailbox, "saved-messages")
        XCTAssertEqual(flags, ["\\Seen"])
        XCTAssertEqual(date, Date(timeIntervalSince1970: 837_596_665))
        XCTAssertEqual(message, Array("Hello".utf8))
    }

    func testFetchItemsAndMacros() throws {
        XCTAssertEqual(try command("a003 fetch 12 full"),
                       .fetch(set: IMAPSequenceSet(ranges: [(.number(12), .number(12))]), attributes: [.flags, .internalDate, .rfc822Size, .envelope, .body], uid: false))
        guard case .fetch(let set, let attributes, false, nil) = try command("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)] BODY.PEEK[1.2.TEXT]<0.2048>)") else {
            return XCTFail("not FETCH")
        }
        XCTAssertEqual(set, IMAPSequenceSet(ranges: [(.number(2), .number(4))]))
        XCTAssertEqual(attributes, [
            .flags,
            .section(IMAPSection(text: .headerFields(["DATE", "FROM"])), peek: false, partial: nil),
            .section(IMAPSection(part: [1, 2], text: .text), peek: true, partial: 0...2047),
        ])
        XCTAssertEqual(try command("A999 UID FETCH 4827313:* FLAGS"),
                       .fetch(set: IMAPSequenceSet(ranges: [(.number(4827313), .star)]), attributes: [.uid, .flags], uid: true))
    }

    func testStoreCopyMove() throws {
        XCTAssertEqual(try command("A003 STORE 2:4 +FLAGS (\\Deleted)"),
                       .store(set: IMAPSequenceSet(ranges: [(.number(2), .number(4))]), operation: .add, silent: false, flags: ["\\Deleted"], uid: false))
        XCTAssertEqual(try command("a UID STORE 1,3 -FLAGS.SILENT \\Seen $Label"),
                       .store(set: IMAPSequenceSet(ranges: [(.number(1), .number(1)), (.number(3), .number(3))]), operation: .remove, silent: true, flags: ["\\Seen", "$Label"], uid: true))
        XCTAssertEqual(try command("A003 COPY 2:4 MEETING"), .copy(set: IMAPSequenceSet(ranges: [(.number(2), .number(4))]), mailbox: "MEETING", uid: false))
        XCTAssertEqual(try command("a UID MOVE 42 Trash"), .move(set: IMAPSequenceSet(ranges: [(.number(42), .number(42))]), mailbox: "Trash", uid: true))
    }

    /// RFC 9051 section 6.4.4 example.
    func testSearchKeys() throws {
        XCTAssertEqual(try command("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""), .search(key: .and([
            .flag("\\Flagged", set: true), .since(IMAPDay(year: 1994, month: 2, day: 1)), .not(.header("FROM", "Smith")),
        ]), uid: false, returnOptions: nil))
        XCTAssertEqual(try command("A284 SEARCH CHARSET UTF-8 TEXT {6+}\r\nXXXXXX"), .search(key: .text("XXXXXX"), uid: false, returnOptions: nil))
        XCTAssertEqual(try command("a UID SEARCH OR (UNSEEN LARGER 100) 1:5"), .search(key: .or(
            .and([.flag("\\Seen", set: false), .larger(100)]), .sequence(IMAPSequenceSet(ranges: [(.number(1), .number(5))]))), uid: true, returnOptions: nil))
        XCTAssertEqual(try command("a SEARCH RETURN (MIN COUNT) ALL"), .search(key: .all, uid: false, returnOptions: ["MIN", "COUNT"]))
        XCTAssertEqual(parse("a SEARCH CHARSET KOI8-R ALL").failureMessage?.contains("BADCHARSET"), true)
    }

    func testSortAndThread() throws {
        XCTAssertEqual(try command("A282 SORT (SUBJECT REVERSE DATE) UTF-8 ALL"), .sort(criteria: [
            .init(key: .subject, reverse: false), .init(key: .date, reverse: true),
        ], key: .all, uid: false))
        XCTAssertEqual(try command("A283 THREAD REFERENCES UTF-8 SINCE 5-MAR-2000"),
                       .thread(algorithm: "REFERENCES", key: .since(IMAPDay(year: 2000, month: 3, day: 5)), uid: false))
    }

    func testErrors() {
        XCTAssertEqual(parse("a001 FROB").failureMessage, "unknown command FROB")
        XCTAssertEqual(parse("").failureTag, nil)
        XCTAssertEqual(parse("a1 SELECT").failureTag, "a1")
        XCTAssertNotNil(parse("a FETCH 0 FLAGS").failureMessage)
        XCTAssertNotNil(parse("a NOOP extra").failureMessage)
        let deep = "a SEARCH " + String(repeating: "(", count: 100) + "ALL" + String(repeating: ")", count: 100)
        XCTAssertEqual(parse(deep).failureMessage?.contains("nested"), true)
        let deepNot = "a SEARCH " + String(repeating: "NOT ", count: 5000) + "ALL"
        XCTAssertNotNil(parse(deepNot).failureMessage)
    }

    /// RFC 7162 section 3.1: the CONDSTORE forms, from the RFC's examples.
    func testCondStoreForms() throws {
        XCTAssertEqual(try command("A142 SELECT INBOX (CONDSTORE)"), .select(mailbox: "INBOX", readOnly: false, condStore: true))
        XCTAssertEqual(try command("A142 EXAMINE INBOX"), .select(mailbox: "INBOX", readOnly: true, condStore: false))
        XCTAssertEqual(try command("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)"),
                       .fetch(set: IMAPSequenceSet(ranges: [(.number(1), .star)]), attributes: [.uid, .flags, .modSeq], uid: true,
                              changedSince: 12345))
        XCTAssertEqual(try command("a FETCH 12 (FLAGS MODSEQ)"),
                       .fetch(set: IMAPSequenceSet(ranges: [(.number(12), .number(12))]), attributes: [.flags, .modSeq], uid: false))
        XCTAssertEqual(try command("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)"),
                       .store(set: IMAPSequenceSet(ranges: [(.number(7), .number(7)), (.number(5), .number(5)), (.number(9), .number(9))]),
                              operation: .add, silent: true, flags: ["\\Deleted"], uid: false, unchangedSince: 320162338))
        XCTAssertEqual(try command("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338"), .search(key: .modSeq(620162338), uid: false, returnOptions: nil))
        XCTAssertEqual(try command("a SEARCH OR NOT MODSEQ 720162338 LARGER 50000"),
                       .search(key: .or(.not(.modSeq(720162338)), .larger(50000)), uid: false, returnOptions: nil))
        XCTAssertEqual(try command("A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)"),
                       .status(mailbox: "blurdybloop", items: [.uidNext, .messages, .highestModSeq]))
        XCTAssertTrue(try command("a STORE 1 (UNCHANGEDSINCE 0) FLAGS ()").enablesCondStore)
        XCTAssertFalse(try command("a STORE 1 FLAGS ()").enablesCondStore)
        // Mod-sequences are 63-bit; other modifiers are refused.
        for line in ["a FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)", "a FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)",
                     "a FETCH 1 (FLAGS) (FOO 1)", "a STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)", "a SEARCH MODSEQ"] {
            XCTAssertThrowsError(try command(line), line)
        }
    }
}

extension Result where Failure == IMAPParseFailure {
    var failureMessage: String? {
        if case .failure(let failure) = self { return failure.message }
        return nil
    }

    var failureTag: String? {
        if case .failure(let failure) = self { return failure.tag }
        return nil
    }
}
