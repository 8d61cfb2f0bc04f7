import Foundation
import NIOCore
import Testing
@testable import PostgateIMAP

/// Commands from the examples of RFC 9051 section 6 (and RFC 3501), parsed into types.
@Suite struct IMAPCommandParserTests {
    private func parse(_ line: String, literals: [String] = []) -> Result<IMAPTaggedCommand, IMAPParseFailure> {
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: line + "\r\n"))
        var frames: [IMAPFrameDecoder.Frame] = []
        while let event = decoder.next() {
            if case .frame(let frame) = event { frames.append(frame) }
            if case .messageLiteral = event { decoder.streamMessageLiteral() }
        }
        return IMAPCommandParser.parse(frames[0])
    }

    private func command(_ line: String) throws -> IMAPCommand {
        try parse(line).get().command
    }

    @Test func simpleCommands() throws {
        #expect(try parse("a001 LOGIN SMITH SESAME").get() == IMAPTaggedCommand(tag: "a001", command: .login(user: "SMITH", password: "SESAME")))
        #expect(try command("A142 SELECT INBOX") == .select(mailbox: "INBOX", readOnly: false))
        #expect(try command("A932 EXAMINE blurdybloop") == .select(mailbox: "blurdybloop", readOnly: true))
        #expect(try command("A683 RENAME blurdybloop sarasoop") == .rename(from: "blurdybloop", to: "sarasoop"))
        #expect(try command("a LOGIN \"fred \\\"x\\\"\" {3+}\r\nabc") == .login(user: "fred \"x\"", password: "abc"))
        #expect(try command("A042 STATUS blurdybloop (UIDNEXT MESSAGES)") == .status(mailbox: "blurdybloop", items: [.uidNext, .messages]))
        #expect(try command("A202 LIST ~/Mail/ %") == .list(reference: "~/Mail/", patterns: ["%"], options: .init()))
        #expect(try command("a UID EXPUNGE 3000:3002") == .expunge(uids: IMAPSequenceSet(ranges: [(.number(3000), .number(3002))])))
        #expect(try command("a ENABLE CONDSTORE utf8=accept") == .enable(capabilities: ["CONDSTORE", "UTF8=ACCEPT"]))
    }

    @Test func listReturnSpecialUse() throws {
        guard case .list(_, let patterns, let options) = try command("t1 LIST (SPECIAL-USE) \"\" (\"*\" \"%\") RETURN (SPECIAL-USE SUBSCRIBED)") else {
            Issue.record("not a LIST")
            return
        }
        #expect(patterns == ["*", "%"])
        #expect(options.specialUseOnly && options.returnSpecialUse && options.returnSubscribed)
    }

    @Test func appendWithFlagsDateAndLiteral() throws {
        let result = try command("A003 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5+}\r\nHello")
        #expect(result == .append(mailbox: "saved-messages", messages: [
            IMAPAppendMessage(flags: ["\\Seen"], date: Date(timeIntervalSince1970: 837_596_665), size: 5),
        ]))
        // The mailbox as a literal of its own; the message is the literal after it.
        #expect(try command("a APPEND {5+}\r\nINBOX {2+}\r\nhi") == .append(mailbox: "INBOX", messages: [IMAPAppendMessage(size: 2)]))
        // RFC 9051 section 9: the message is a literal, never a quoted string.
        guard case .failure = parse("a APPEND INBOX \"hello\"") else { Issue.record("a quoted message was taken"); return }
    }

    @Test func fetchItemsAndMacros() throws {
        #expect(try command("a003 fetch 12 full") ==
                .fetch(set: IMAPSequenceSet(ranges: [(.number(12), .number(12))]), attributes: [.flags, .internalDate, .rfc822Size, .envelope, .body], uid: false))
        guard case .fetch(let set, let attributes, false, nil, false) = try command("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)] BODY.PEEK[1.2.TEXT]<0.2048>)") else {
            Issue.record("not FETCH")
            return
        }
        #expect(set == IMAPSequenceSet(ranges: [(.number(2), .number(4))]))
        #expect(attributes == [
            .flags,
            .section(IMAPSection(text: .headerFields(["DATE", "FROM"])), peek: false, partial: nil),
            .section(IMAPSection(part: [1, 2], text: .text), peek: true, partial: 0...2047),
        ])
        #expect(try command("A999 UID FETCH 4827313:* FLAGS") ==
                .fetch(set: IMAPSequenceSet(ranges: [(.number(4827313), .star)]), attributes: [.uid, .flags], uid: true))
    }

    @Test func storeCopyMove() throws {
        #expect(try command("A003 STORE 2:4 +FLAGS (\\Deleted)") ==
                .store(set: IMAPSequenceSet(ranges: [(.number(2), .number(4))]), operation: .add, silent: false, flags: ["\\Deleted"], uid: false))
        #expect(try command("a UID STORE 1,3 -FLAGS.SILENT \\Seen $Label") ==
                .store(set: IMAPSequenceSet(ranges: [(.number(1), .number(1)), (.number(3), .number(3))]), operation: .remove, silent: true, flags: ["\\Seen", "$Label"], uid: true))
        #expect(try command("A003 COPY 2:4 MEETING") == .copy(set: IMAPSequenceSet(ranges: [(.number(2), .number(4))]), mailbox: "MEETING", uid: false))
        #expect(try command("a UID MOVE 42 Trash") == .move(set: IMAPSequenceSet(ranges: [(.number(42), .number(42))]), mailbox: "Trash", uid: true))
    }

    /// RFC 9051 section 6.4.4 example.
    @Test func searchKeys() throws {
        #expect(try command("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"") == .search(key: .and([
            .flag("\\Flagged", set: true), .since(IMAPDay(year: 1994, month: 2, day: 1)), .not(.header("FROM", "Smith")),
        ]), uid: false, returnOptions: nil))
        #expect(try command("A284 SEARCH CHARSET UTF-8 TEXT {6+}\r\nXXXXXX") == .search(key: .text("XXXXXX"), uid: false, returnOptions: nil))
        #expect(try command("a UID SEARCH OR (UNSEEN LARGER 100) 1:5") == .search(key: .or(
            .and([.flag("\\Seen", set: false), .larger(100)]), .sequence(IMAPSequenceSet(ranges: [(.number(1), .number(5))]))), uid: true, returnOptions: nil))
        #expect(try command("a SEARCH RETURN (MIN COUNT) ALL") == .search(key: .all, uid: false, returnOptions: ["MIN", "COUNT"]))
        #expect(parse("a SEARCH CHARSET KOI8-R ALL").failureMessage?.contains("BADCHARSET") == true)
    }

    @Test func sortAndThread() throws {
        #expect(try command("A282 SORT (SUBJECT REVERSE DATE) UTF-8 ALL") == .sort(criteria: [
            .init(key: .subject, reverse: false), .init(key: .date, reverse: true),
        ], key: .all, uid: false))
        #expect(try command("A283 THREAD REFERENCES UTF-8 SINCE 5-MAR-2000") ==
                .thread(algorithm: "REFERENCES", key: .since(IMAPDay(year: 2000, month: 3, day: 5)), uid: false))
    }

    @Test func errors() {
        #expect(parse("a001 FROB").failureMessage == "unknown command FROB")
        let emptyLine = #expect(throws: IMAPParseFailure.self, "an empty line is refused") { try parse("").get() }
        #expect(emptyLine?.tag == nil, "with no tag to answer")
        #expect(parse("a1 SELECT").failureTag == "a1")
        #expect(parse("a FETCH 0 FLAGS").failureMessage != nil)
        #expect(parse("a NOOP extra").failureMessage != nil)
        let deep = "a SEARCH " + String(repeating: "(", count: 100) + "ALL" + String(repeating: ")", count: 100)
        #expect(parse(deep).failureMessage?.contains("nested") == true)
        let deepNot = "a SEARCH " + String(repeating: "NOT ", count: 5000) + "ALL"
        #expect(parse(deepNot).failureMessage != nil)
    }

    /// RFC 7162 section 3.1: the CONDSTORE forms, from the RFC's examples.
    @Test func condStoreForms() throws {
        #expect(try command("A142 SELECT INBOX (CONDSTORE)") == .select(mailbox: "INBOX", readOnly: false, condStore: true))
        #expect(try command("A142 EXAMINE INBOX") == .select(mailbox: "INBOX", readOnly: true, condStore: false))
        #expect(try command("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)") ==
                .fetch(set: IMAPSequenceSet(ranges: [(.number(1), .star)]), attributes: [.uid, .flags, .modSeq], uid: true,
                       changedSince: 12345))
        #expect(try command("a FETCH 12 (FLAGS MODSEQ)") ==
                .fetch(set: IMAPSequenceSet(ranges: [(.number(12), .number(12))]), attributes: [.flags, .modSeq], uid: false))
        #expect(try command("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)") ==
                .store(set: IMAPSequenceSet(ranges: [(.number(7), .number(7)), (.number(5), .number(5)), (.number(9), .number(9))]),
                       operation: .add, silent: true, flags: ["\\Deleted"], uid: false, unchangedSince: 320162338))
        #expect(try command("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338") == .search(key: .modSeq(620162338), uid: false, returnOptions: nil))
        #expect(try command("a SEARCH OR NOT MODSEQ 720162338 LARGER 50000") ==
                .search(key: .or(.not(.modSeq(720162338)), .larger(50000)), uid: false, returnOptions: nil))
        #expect(try command("A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)") ==
                .status(mailbox: "blurdybloop", items: [.uidNext, .messages, .highestModSeq]))
        #expect(try command("a STORE 1 (UNCHANGEDSINCE 0) FLAGS ()").enablesCondStore)
        #expect(try command("a STORE 1 FLAGS ()").enablesCondStore == false)
        // Mod-sequences are 63-bit; other modifiers are refused.
        for line in ["a FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)", "a FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)",
                     "a FETCH 1 (FLAGS) (FOO 1)", "a STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)", "a SEARCH MODSEQ"] {
            #expect(throws: IMAPParseFailure.self, "\(line)") { try command(line) }
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
