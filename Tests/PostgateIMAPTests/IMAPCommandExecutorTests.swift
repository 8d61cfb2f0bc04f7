import Foundation
import NIOCore
import PostgateStore
import XCTest
@testable import PostgateIMAP

/// Store commands against a real store (SQLite, Maildir files).
final class IMAPCommandExecutorTests: XCTestCase {
    func testAgentSeesPersonalAndGrantedMailboxes() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        var list = session.run("a LIST \"\" *")
        XCTAssertTrue(list.contains("* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts"), list)
        XCTAssertFalse(list.contains("Shared"), list)
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        list = session.run("a LIST \"\" * RETURN (SPECIAL-USE)")
        XCTAssertTrue(list.contains("* LIST (\\Noselect \\HasChildren) \"/\" Shared"), list)
        XCTAssertTrue(list.contains("* LIST (\\HasNoChildren) \"/\" Shared/support@acme.test"), list)
        XCTAssertTrue(session.run("b LIST \"\" %").contains("\"/\" INBOX"))
        XCTAssertFalse(session.run("b LIST \"\" %").contains("Shared/support"))
        XCTAssertTrue(session.run("c LSUB \"\" *").contains("* LSUB (\\HasNoChildren) \"/\" Trash"))
    }

    func testCreateRenameDeleteFolders() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        XCTAssertTrue(session.run("a CREATE Clients/Acme").hasSuffix("a OK CREATE completed\r\n"))
        XCTAssertTrue(session.run("b CREATE Clients/Acme").contains("b NO [ALREADYEXISTS]"))
        XCTAssertTrue(session.run("c CREATE Shared/x").contains("c NO [NOPERM]"))
        XCTAssertTrue(session.run("d RENAME Clients/Acme Clients/Beta").contains("d OK"))
        let list = session.run("e LIST \"\" Clients/*")
        XCTAssertTrue(list.contains("Clients/Beta") && !list.contains("Clients/Acme"), list)
        XCTAssertTrue(session.run("f DELETE Clients/Beta").contains("f OK"))
        XCTAssertTrue(session.run("g DELETE INBOX").contains("g NO"))
        XCTAssertTrue(session.run("h SELECT Clients/Beta").contains("h NO [NONEXISTENT]"))
    }

    func testAppendSelectFetchStoreExpunge() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        let append = session.run("a APPEND INBOX (\\Seen $Urgent) \"01-Feb-2026 10:00:00 +0000\" {\(sampleMessage.utf8.count)+}\r\n\(sampleMessage)")
        XCTAssertTrue(append.contains("a OK [APPENDUID "), append)
        _ = session.run("b APPEND INBOX {\(multipartMessage.utf8.count)+}\r\n\(multipartMessage)")
        let select = session.run("c SELECT inbox")
        XCTAssertTrue(select.contains("* 2 EXISTS\r\n"), select)
        XCTAssertTrue(select.contains("* OK [UNSEEN 2]"), select)
        XCTAssertTrue(select.contains("c OK [READ-WRITE] SELECT completed"), select)

        let fetch = session.run("d FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
        XCTAssertTrue(fetch.contains("* 1 FETCH (UID 1 FLAGS (\\Seen $Urgent) INTERNALDATE \" 1-Feb-2026 10:00:00 +0000\" RFC822.SIZE \(sampleMessage.utf8.count) ENVELOPE (\"Mon, 23 Nov 2026 10:00:00 +0100\" \"Order 1234 is late\" ((\"Carol Customer\" NIL \"carol\" \"example.com\"))"), fetch)
        XCTAssertTrue(fetch.contains("((NIL NIL \"support\" \"acme.test\")) NIL NIL NIL \"<order-1234@example.com>\")"), fetch)

        let body = session.run("e FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[2.MIME] BODY[1]<0.3>)")
        XCTAssertTrue(body.contains("BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: Photo\r\n\r\n"), body)
        XCTAssertTrue(body.contains("BODY[1]<0> {3}\r\nSee"), body)
        XCTAssertTrue(body.contains("FLAGS (\\Seen)"), "a BODY[] fetch sets \\Seen: \(body)")

        let structure = session.run("f FETCH 2 BODYSTRUCTURE")
        XCTAssertTrue(structure.contains("BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 13 1 NIL NIL NIL NIL)(\"image\" \"png\" (\"name\" \"a.png\") NIL NIL \"base64\" 12 NIL (\"attachment\" (\"filename\" \"a.png\")) NIL NIL) \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)"), structure)

        XCTAssertTrue(session.run("g STORE 1 +FLAGS (\\Deleted)").contains("* 1 FETCH (FLAGS (\\Seen \\Deleted $Urgent))"))
        let expunge = session.run("h EXPUNGE")
        XCTAssertTrue(expunge.contains("* 1 EXPUNGE\r\nh OK"), expunge)
        XCTAssertTrue(session.run("i FETCH 1 UID").contains("* 1 FETCH (UID 2)"))
        let files = try FileManager.default.subpathsOfDirectory(atPath: fixture.root + "/data/agents").filter { $0.contains(",U=") }
        XCTAssertEqual(files.count, 1, "\(files)")
        XCTAssertTrue(files[0].contains("/cur/") && files[0].hasSuffix(":2,S"), "\(files)")
    }

    func testSearchSortThread() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.deliver(sampleMessage)
        try fixture.deliver(multipartMessage)
        var session = fixture.session()
        XCTAssertTrue(session.run("a EXAMINE Shared/support@acme.test").contains("[READ-ONLY]"))
        XCTAssertTrue(session.run("b SEARCH FROM carol").contains("* SEARCH 1\r\n"))
        XCTAssertTrue(session.run("b2 SEARCH FROM \"%\"").contains("* SEARCH\r\n"), "LIKE wildcards in the text are literal")
        XCTAssertTrue(session.run("b3 SEARCH SUBJECT PHOTO").contains("* SEARCH 2\r\n"))
        XCTAssertTrue(session.run("c UID SEARCH TEXT \"see attached\"").contains("* SEARCH 2\r\n"))
        XCTAssertTrue(session.run("d SEARCH NOT SUBJECT photo LARGER 10").contains("* SEARCH 1\r\n"))
        XCTAssertTrue(session.run("e SEARCH UNSEEN SENTSINCE 22-Nov-2026").contains("* SEARCH 1\r\n"))
        XCTAssertTrue(session.run("f SEARCH RETURN (COUNT MAX) ALL").contains("* ESEARCH (TAG \"f\") MAX 2 COUNT 2"))
        XCTAssertTrue(session.run("g SORT (REVERSE SUBJECT) UTF-8 ALL").contains("* SORT 2 1\r\n"))
        XCTAssertTrue(session.run("h THREAD REFERENCES UTF-8 ALL").contains("* THREAD (1 2)\r\n"))
        XCTAssertTrue(session.run("i STORE 1 +FLAGS (\\Seen)").contains("i NO [READ-ONLY]"))
    }

    func testCopyMoveReportUIDPlus() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.deliver(sampleMessage)
        try fixture.deliver(multipartMessage)
        var session = fixture.session()
        _ = session.run("a SELECT Shared/support@acme.test")
        let copy = session.run("b COPY 1:2 Drafts")
        XCTAssertTrue(copy.contains("b OK [COPYUID ") && copy.contains(" 1:2 1:2]"), copy)
        let move = session.run("c UID MOVE 2 Trash")
        XCTAssertTrue(move.contains("* OK [COPYUID ") && move.contains("* 2 EXPUNGE\r\nc OK MOVE completed"), move)
        XCTAssertTrue(session.run("d STATUS Trash (MESSAGES UIDNEXT UNSEEN)").contains("* STATUS Trash (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"))
        XCTAssertTrue(session.run("e COPY 1 Nowhere").contains("e NO [TRYCREATE]"))
        XCTAssertTrue(session.run("f FETCH 5 FLAGS").contains("f BAD"))
    }

    func testSecondSessionSeesFlagsExpungesAndNewMail() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.deliver(sampleMessage)
        try fixture.deliver(multipartMessage)
        var first = fixture.session()
        var second = fixture.session()
        _ = first.run("a SELECT Shared/support@acme.test")
        _ = second.run("a SELECT Shared/support@acme.test")
        _ = first.run("b STORE 1 +FLAGS.SILENT (\\Flagged \\Deleted)")
        XCTAssertEqual(second.run("b NOOP"), "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted))\r\nb OK NOOP completed\r\n")
        _ = first.run("c EXPUNGE")
        XCTAssertTrue(second.run("c FETCH 1 UID").contains("* 1 FETCH (UID 1)"), "no EXPUNGE during FETCH")
        XCTAssertEqual(second.run("d NOOP"), "* 1 EXPUNGE\r\nd OK NOOP completed\r\n")
        try fixture.deliver(sampleMessage)
        XCTAssertEqual(second.poll(), "* 2 EXISTS\r\n")
        XCTAssertEqual(second.poll(), "")
    }

    func testMoveIsSeenByASessionWhoseMailboxSummaryIsCached() throws {
        let fixture = try IMAPStoreFixture()
        var first = fixture.session()
        var second = fixture.session()
        for message in [sampleMessage, multipartMessage] {
            _ = first.run("a APPEND INBOX {\(message.utf8.count)+}\r\n\(message)")
        }
        _ = first.run("b SELECT INBOX")
        _ = second.run("b SELECT INBOX")
        _ = first.run("c STORE 2 +FLAGS (\\Flagged)")
        XCTAssertEqual(second.run("c NOOP"), "* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\nc OK NOOP completed\r\n")
        _ = first.run("d MOVE 1 Trash")
        XCTAssertEqual(second.run("d NOOP"), "* 1 EXPUNGE\r\nd OK NOOP completed\r\n")
        XCTAssertTrue(second.run("e SELECT INBOX").contains("* 1 EXISTS"))
        XCTAssertTrue(second.run("f SELECT Trash").contains("* 1 EXISTS"))
    }

    func testPrivateSeenIsPerAgent() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.addAgent("bob", password: "battery staple")
        let bob = try XCTUnwrap(try fixture.store.authenticate(agent: "BOB", password: "battery staple"))
        XCTAssertNil(try fixture.store.authenticate(agent: "bob", password: "wrong"))
        for name in ["alice", "bob"] { try fixture.store.grant(agent: name, address: .init("support@acme.test")) }
        try fixture.store.setPrivateSeen(true, of: .address(.init("support@acme.test")))
        try fixture.deliver(sampleMessage)
        var alice = fixture.session()
        var bobSession = IMAPTestSession(executor: IMAPCommandExecutor(store: fixture.store), context: IMAPSessionContext(agent: bob, selected: nil))
        _ = alice.run("a SELECT Shared/support@acme.test")
        _ = bobSession.run("a SELECT Shared/support@acme.test")
        _ = alice.run("b STORE 1 +FLAGS (\\Seen \\Answered)")
        XCTAssertTrue(bobSession.run("b FETCH 1 FLAGS").contains("FLAGS (\\Answered)"))
        XCTAssertTrue(alice.run("c FETCH 1 FLAGS").contains("FLAGS (\\Answered \\Seen)"))
    }

    func testQueueFolderHoldsRoutedMailWithPrivateSeenPerQueue() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.addAgent("bob", password: "battery staple")
        let bob = try XCTUnwrap(try fixture.store.authenticate(agent: "bob", password: "battery staple"))
        for name in ["alice", "bob"] { try fixture.store.grant(agent: name, to: .queue("general")) }
        try fixture.store.grant(agent: "alice", to: .address(.init("support@acme.test")))
        try fixture.store.setPrivateSeen(true, of: .queue("general"))
        let copy = { (id: String) in sampleMessage.replacingOccurrences(of: "<order-1234@", with: "<\(id)@") }
        try fixture.deliver(copy("ordinary"), routed: true)
        try fixture.deliver(copy("blocked"), policy: "blocked")
        try fixture.deliver(copy("auto-reply"), policy: "auto-reply")
        var alice = fixture.session()
        var bobSession = IMAPTestSession(executor: IMAPCommandExecutor(store: fixture.store), context: IMAPSessionContext(agent: bob, selected: nil))
        let list = alice.run("a LIST \"\" *")
        XCTAssertTrue(list.contains("* LIST (\\Noselect \\HasChildren) \"/\" Shared/Queues\r\n"), list)
        XCTAssertTrue(list.contains("* LIST (\\HasNoChildren) \"/\" Shared/Queues/general\r\n"), list)
        XCTAssertTrue(alice.run("b SELECT Shared/Queues/general").contains("* 1 EXISTS"), "only the ordinary message is routed")
        XCTAssertTrue(bobSession.run("b SELECT Shared/Queues/general").contains("* 1 EXISTS"))
        _ = alice.run("c STORE 1 +FLAGS (\\Seen \\Flagged)")
        XCTAssertTrue(bobSession.run("c FETCH 1 FLAGS").contains("FLAGS (\\Flagged)"), "\\Seen is per agent, other flags shared")
        XCTAssertTrue(alice.run("d FETCH 1 FLAGS").contains("FLAGS (\\Flagged \\Seen)"))
        XCTAssertTrue(alice.run("e CREATE Shared/Queues/mine").contains("e NO [NOPERM]"))

        _ = alice.run("f SELECT Shared/support@acme.test")
        let flags = alice.run("g FETCH 1:3 FLAGS")
        XCTAssertTrue(flags.contains("* 2 FETCH (FLAGS ($Blocked))") && flags.contains("* 3 FETCH (FLAGS ($AutoReply))"), flags)
        XCTAssertTrue(alice.run("h SEARCH KEYWORD $AutoReply").contains("* SEARCH 3\r\n"))
        XCTAssertTrue(alice.run("i SEARCH UNKEYWORD $Blocked UNKEYWORD $AutoReply").contains("* SEARCH 1\r\n"))

        // A copy into a personal folder keeps the inbound policy's label, so its keyword.
        XCTAssertTrue(alice.run("j CREATE Kept").contains("j OK"))
        XCTAssertTrue(alice.run("k COPY 2:3 Kept").contains("k OK"))
        _ = alice.run("l SELECT Kept")
        let copies = alice.run("m FETCH 1:2 FLAGS")
        XCTAssertTrue(copies.contains("* 1 FETCH (FLAGS ($Blocked))") && copies.contains("* 2 FETCH (FLAGS ($AutoReply))"), copies)
        let kept = try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "Kept" }
        let labels = try fixture.store.messages(mailboxPath: XCTUnwrap(kept).path).map(\.policy)
        XCTAssertEqual(labels, ["blocked", "auto-reply"])
    }

    func testLongFetchIsEmittedInPieces() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        let big = "Subject: big\r\n\r\n" + String(repeating: "0123456789abcdef\r\n", count: 40_000)
        for _ in 0..<3 { _ = session.run("a APPEND INBOX {\(big.utf8.count)+}\r\n\(big)") }
        _ = session.run("b SELECT INBOX")
        let pieces = LockedPieces()
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: "c FETCH 1:* BODY.PEEK[]\r\n"))
        guard case .frame(let frame)? = decoder.next(), case .success(let command) = IMAPCommandParser.parse(frame) else { return XCTFail() }
        let result = session.executor.execute(command, context: session.context) { pieces.append($0) }
        // Messages of 720 KB: the first goes out at once (past the 32 KiB of a first piece,
        // so the client starts reading), the second once as much again is written; the
        // third, below 1 MiB, comes with the OK.
        XCTAssertEqual(pieces.sizes.count, 2, "\(pieces.sizes)")
        XCTAssertTrue(pieces.sizes[0] < 1 << 20, "\(pieces.sizes)")
        XCTAssertTrue(pieces.sizes.allSatisfy { $0 < 2 << 20 })
        let rest = String(decoding: result.output, as: UTF8.self)
        XCTAssertTrue(rest.hasPrefix("* 3 FETCH (BODY[] {") && rest.hasSuffix("c OK FETCH completed\r\n"))
    }
}

final class LockedPieces: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int] = []
    var sizes: [Int] { lock.withLock { stored } }
    func append(_ bytes: [UInt8]) { lock.withLock { stored.append(bytes.count) } }
}
