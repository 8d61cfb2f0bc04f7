import Foundation
import NIOCore
import PostgateStore
import Synchronization
import Testing
@testable import PostgateIMAP

/// Store commands against a real store (SQLite, Maildir files).
@Suite struct IMAPCommandExecutorTests {
    @Test func agentSeesPersonalAndGrantedMailboxes() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        var list = session.run("a LIST \"\" *")
        #expect(list.contains("* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts"), "\(list)")
        #expect(!list.contains("Shared"), "\(list)")
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        list = session.run("a LIST \"\" * RETURN (SPECIAL-USE)")
        #expect(list.contains("* LIST (\\Noselect \\HasChildren) \"/\" Shared"), "\(list)")
        #expect(list.contains("* LIST (\\HasNoChildren) \"/\" Shared/support@acme.test"), "\(list)")
        #expect(session.run("b LIST \"\" %").contains("\"/\" INBOX"))
        #expect(!session.run("b LIST \"\" %").contains("Shared/support"))
        #expect(session.run("c LSUB \"\" *").contains("* LSUB () \"/\" Trash"))
    }

    @Test func createRenameDeleteFolders() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        let created = session.run("a CREATE Clients/Acme")
        #expect(created.hasPrefix("a OK [MAILBOXID (F") && created.hasSuffix(")] CREATE completed\r\n"), "\(created)")
        #expect(session.run("b CREATE Clients/Acme").contains("b NO [ALREADYEXISTS]"))
        #expect(session.run("c CREATE Shared/x").contains("c NO [NOPERM]"))
        #expect(session.run("d RENAME Clients/Acme Clients/Beta").contains("d OK"))
        let list = session.run("e LIST \"\" Clients/*")
        #expect(list.contains("Clients/Beta") && !list.contains("Clients/Acme"), "\(list)")
        #expect(session.run("f DELETE Clients/Beta").contains("f OK"))
        #expect(session.run("g DELETE INBOX").contains("g NO"))
        #expect(session.run("h SELECT Clients/Beta").contains("h NO [NONEXISTENT]"))
    }

    @Test func appendSelectFetchStoreExpunge() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        let append = session.run("a APPEND INBOX (\\Seen $Urgent) \"01-Feb-2026 10:00:00 +0000\" {\(sampleMessage.utf8.count)+}\r\n\(sampleMessage)")
        #expect(append.contains("a OK [APPENDUID "), "\(append)")
        _ = session.run("b APPEND INBOX {\(multipartMessage.utf8.count)+}\r\n\(multipartMessage)")
        let select = session.run("c SELECT inbox")
        #expect(select.contains("* 2 EXISTS\r\n"), "\(select)")
        #expect(select.contains("* OK [UNSEEN 2]"), "\(select)")
        #expect(select.contains("c OK [READ-WRITE] SELECT completed"), "\(select)")

        let fetch = session.run("d FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
        #expect(fetch.contains("* 1 FETCH (UID 1 FLAGS (\\Seen $Urgent \\Recent) INTERNALDATE \" 1-Feb-2026 10:00:00 +0000\" RFC822.SIZE \(sampleMessage.utf8.count) ENVELOPE (\"Mon, 23 Nov 2026 10:00:00 +0100\" \"Order 1234 is late\" ((\"Carol Customer\" NIL \"carol\" \"example.com\"))"), "\(fetch)")
        #expect(fetch.contains("((NIL NIL \"support\" \"acme.test\")) NIL NIL NIL \"<order-1234@example.com>\")"), "\(fetch)")

        let body = session.run("e FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[2.MIME] BODY[1]<0.3>)")
        #expect(body.contains("BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: Photo\r\n\r\n"), "\(body)")
        #expect(body.contains("BODY[1]<0> {3}\r\nSee"), "\(body)")
        #expect(body.contains("FLAGS (\\Seen \\Recent)"), "a BODY[] fetch sets \\Seen: \(body)")

        let structure = session.run("f FETCH 2 BODYSTRUCTURE")
        #expect(structure.contains("BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 13 0 NIL NIL NIL NIL)(\"image\" \"png\" (\"name\" \"a.png\") NIL NIL \"base64\" 12 NIL (\"attachment\" (\"filename\" \"a.png\")) NIL NIL) \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)"), "\(structure)")

        #expect(session.run("g STORE 1 +FLAGS (\\Deleted)").contains("* 1 FETCH (FLAGS (\\Seen \\Deleted $Urgent \\Recent))"))
        let expunge = session.run("h EXPUNGE")
        #expect(expunge.contains("* 1 EXPUNGE\r\nh OK"), "\(expunge)")
        #expect(session.run("i FETCH 1 UID").contains("* 1 FETCH (UID 2)"))
        let files = try FileManager.default.subpathsOfDirectory(atPath: fixture.root + "/data/agents").filter { $0.contains(",U=") }
        try #require(files.count == 1, "\(files)")
        #expect(files[0].contains("/cur/") && files[0].hasSuffix(":2,S"), "\(files)")
    }

    @Test func searchSortThread() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.deliver(sampleMessage)
        try fixture.deliver(multipartMessage)
        var session = fixture.session()
        #expect(session.run("a EXAMINE Shared/support@acme.test").contains("[READ-ONLY]"))
        #expect(session.run("b SEARCH FROM carol").contains("* SEARCH 1\r\n"))
        #expect(session.run("b2 SEARCH FROM \"%\"").contains("* SEARCH\r\n"), "LIKE wildcards in the text are literal")
        #expect(session.run("b3 SEARCH SUBJECT PHOTO").contains("* SEARCH 2\r\n"))
        #expect(session.run("c UID SEARCH TEXT \"see attached\"").contains("* SEARCH 2\r\n"))
        #expect(session.run("d SEARCH NOT SUBJECT photo LARGER 10").contains("* SEARCH 1\r\n"))
        #expect(session.run("e SEARCH UNSEEN SENTSINCE 22-Nov-2026").contains("* SEARCH 1\r\n"))
        #expect(session.run("f SEARCH RETURN (COUNT MAX) ALL").contains("* ESEARCH (TAG \"f\") MAX 2 COUNT 2"))
        #expect(session.run("g SORT (REVERSE SUBJECT) UTF-8 ALL").contains("* SORT 2 1\r\n"))
        #expect(session.run("h THREAD REFERENCES UTF-8 ALL").contains("* THREAD (1 2)\r\n"))
        #expect(session.run("i STORE 1 +FLAGS (\\Seen)").contains("i NO [READ-ONLY]"))
    }

    @Test func copyMoveReportUIDPlus() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.deliver(sampleMessage)
        try fixture.deliver(multipartMessage)
        var session = fixture.session()
        _ = session.run("a SELECT Shared/support@acme.test")
        let copy = session.run("b COPY 1:2 Drafts")
        #expect(copy.contains("b OK [COPYUID ") && copy.contains(" 1:2 1:2]"), "\(copy)")
        let move = session.run("c UID MOVE 2 Trash")
        #expect(move.contains("* OK [COPYUID ") && move.contains("* 2 EXPUNGE\r\nc OK MOVE completed"), "\(move)")
        #expect(session.run("d STATUS Trash (MESSAGES UIDNEXT UNSEEN)").contains("* STATUS Trash (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"))
        #expect(session.run("e COPY 1 Nowhere").contains("e NO [TRYCREATE]"))
        #expect(session.run("f FETCH 5 FLAGS").contains("f BAD"))
    }

    @Test func secondSessionSeesFlagsExpungesAndNewMail() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.deliver(sampleMessage)
        try fixture.deliver(multipartMessage)
        var first = fixture.session()
        var second = fixture.session()
        _ = first.run("a SELECT Shared/support@acme.test")
        _ = second.run("a SELECT Shared/support@acme.test")
        _ = first.run("b STORE 1 +FLAGS.SILENT (\\Flagged \\Deleted)")
        #expect(second.run("b NOOP") == "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted))\r\nb OK NOOP completed\r\n")
        _ = first.run("c EXPUNGE")
        #expect(second.run("c FETCH 1 UID").contains("* 1 FETCH (UID 1)"), "no EXPUNGE during FETCH")
        #expect(second.run("d NOOP") == "* 1 EXPUNGE\r\nd OK NOOP completed\r\n")
        try fixture.deliver(sampleMessage)
        #expect(second.poll() == "* 2 EXISTS\r\n* 1 RECENT\r\n")
        #expect(second.poll() == "")
    }

    @Test func moveIsSeenByASessionWhoseMailboxSummaryIsCached() throws {
        let fixture = try IMAPStoreFixture()
        var first = fixture.session()
        var second = fixture.session()
        for message in [sampleMessage, multipartMessage] {
            _ = first.run("a APPEND INBOX {\(message.utf8.count)+}\r\n\(message)")
        }
        _ = first.run("b SELECT INBOX")
        _ = second.run("b SELECT INBOX")
        _ = first.run("c STORE 2 +FLAGS (\\Flagged)")
        #expect(second.run("c NOOP") == "* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\nc OK NOOP completed\r\n")
        _ = first.run("d MOVE 1 Trash")
        #expect(second.run("d NOOP") == "* 1 EXPUNGE\r\nd OK NOOP completed\r\n")
        #expect(second.run("e SELECT INBOX").contains("* 1 EXISTS"))
        #expect(second.run("f SELECT Trash").contains("* 1 EXISTS"))
    }

    @Test func privateSeenIsPerAgent() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.addAgent("bob", password: "battery staple")
        let bob = try #require(try fixture.store.authenticate(agent: "BOB", password: "battery staple"))
        #expect(try fixture.store.authenticate(agent: "bob", password: "wrong") == nil)
        for name in ["alice", "bob"] { try fixture.store.grant(agent: name, address: .init("support@acme.test")) }
        try fixture.store.setPrivateSeen(true, of: .address(.init("support@acme.test")))
        try fixture.deliver(sampleMessage)
        var alice = fixture.session()
        var bobSession = IMAPTestSession(executor: IMAPCommandExecutor(store: fixture.store), context: IMAPSessionContext(agent: bob, selected: nil))
        _ = alice.run("a SELECT Shared/support@acme.test")
        _ = bobSession.run("a SELECT Shared/support@acme.test")
        _ = alice.run("b STORE 1 +FLAGS (\\Seen \\Answered)")
        #expect(bobSession.run("b FETCH 1 FLAGS").contains("FLAGS (\\Answered)"))
        #expect(alice.run("c FETCH 1 FLAGS").contains("FLAGS (\\Answered \\Seen \\Recent)"))
    }

    @Test func queueFolderHoldsRoutedMailWithPrivateSeenPerQueue() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.addAgent("bob", password: "battery staple")
        let bob = try #require(try fixture.store.authenticate(agent: "bob", password: "battery staple"))
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
        #expect(list.contains("* LIST (\\Noselect \\HasChildren) \"/\" Shared/Queues\r\n"), "\(list)")
        #expect(list.contains("* LIST (\\HasNoChildren) \"/\" Shared/Queues/general\r\n"), "\(list)")
        #expect(alice.run("b SELECT Shared/Queues/general").contains("* 1 EXISTS"), "only the ordinary message is routed")
        #expect(bobSession.run("b SELECT Shared/Queues/general").contains("* 1 EXISTS"))
        _ = alice.run("c STORE 1 +FLAGS (\\Seen \\Flagged)")
        #expect(bobSession.run("c FETCH 1 FLAGS").contains("FLAGS (\\Flagged)"), "\\Seen is per agent, other flags shared")
        #expect(alice.run("d FETCH 1 FLAGS").contains("FLAGS (\\Flagged \\Seen \\Recent)"))
        #expect(alice.run("e CREATE Shared/Queues/mine").contains("e NO [NOPERM]"))

        _ = alice.run("f SELECT Shared/support@acme.test")
        let flags = alice.run("g FETCH 1:3 FLAGS")
        #expect(flags.contains("* 2 FETCH (FLAGS ($Blocked \\Recent))") && flags.contains("* 3 FETCH (FLAGS ($AutoReply \\Recent))"), "\(flags)")
        #expect(alice.run("h SEARCH KEYWORD $AutoReply").contains("* SEARCH 3\r\n"))
        #expect(alice.run("i SEARCH UNKEYWORD $Blocked UNKEYWORD $AutoReply").contains("* SEARCH 1\r\n"))

        // A copy into a personal folder keeps the inbound policy's label, so its keyword.
        #expect(alice.run("j CREATE Kept").contains("j OK"))
        #expect(alice.run("k COPY 2:3 Kept").contains("k OK"))
        _ = alice.run("l SELECT Kept")
        let copies = alice.run("m FETCH 1:2 FLAGS")
        #expect(copies.contains("* 1 FETCH (FLAGS ($Blocked \\Recent))") && copies.contains("* 2 FETCH (FLAGS ($AutoReply \\Recent))"), "\(copies)")
        let kept = try #require(try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "Kept" })
        let labels = try fixture.store.messages(mailboxPath: kept.path).map(\.policy)
        #expect(labels == ["blocked", "auto-reply"])
    }

    @Test func longFetchIsEmittedInPieces() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        let big = "Subject: big\r\n\r\n" + String(repeating: "0123456789abcdef\r\n", count: 40_000)
        for _ in 0..<3 { _ = session.run("a APPEND INBOX {\(big.utf8.count)+}\r\n\(big)") }
        _ = session.run("b SELECT INBOX")
        let pieces = Mutex<[Int]>([])
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: "c FETCH 1:* BODY.PEEK[]\r\n"))
        guard case .frame(let frame)? = decoder.next(), case .success(let command) = IMAPCommandParser.parse(frame) else {
            Issue.record("the FETCH command did not parse")
            return
        }
        let result = session.executor.execute(command, context: session.context) { bytes in pieces.withLock { $0.append(bytes.count) } }
        // Messages of 720 KB: the first goes out at once (past the 32 KiB of a first piece,
        // so the client starts reading), the second once as much again is written; the
        // third, below 1 MiB, comes with the OK.
        let sizes = pieces.withLock { $0 }
        try #require(sizes.count == 2, "\(sizes)")
        #expect(sizes[0] < 1 << 20, "\(sizes)")
        #expect(sizes.allSatisfy { $0 < 2 << 20 }, "\(sizes)")
        let rest = String(decoding: result.output, as: UTF8.self)
        #expect(rest.hasPrefix("* 3 FETCH (BODY[] {") && rest.hasSuffix("c OK FETCH completed\r\n"))
    }
}
