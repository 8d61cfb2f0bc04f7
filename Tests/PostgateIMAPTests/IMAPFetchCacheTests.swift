import Foundation
import PostgateStore
import Testing
@testable import PostgateIMAP
import PostgateIndex

/// FETCH from the index's fetch cache, whole bodies sent as stored, and SEARCH over raw
/// message files, against a real store.
@Suite struct IMAPFetchCacheTests {
    private func inbox(_ fixture: IMAPStoreFixture) throws -> VisibleMailbox {
        try #require(try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "INBOX" })
    }

    private func appendBoth(_ session: inout IMAPTestSession<MailStore>) {
        _ = session.run("a APPEND INBOX {\(sampleMessage.utf8.count)+}\r\n\(sampleMessage)")
        _ = session.run("b APPEND INBOX {\(multipartMessage.utf8.count)+}\r\n\(multipartMessage)")
        _ = session.run("c SELECT INBOX")
    }

    @Test func firstFetchFillsTheCacheAndLaterFetchesReadIt() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        appendBoth(&session)
        let mailbox = try inbox(fixture)
        #expect(try fixture.store.cachedFetchItems(in: mailbox, uids: 1...2).isEmpty)

        let first = session.run("d FETCH 1:2 (ENVELOPE BODY BODYSTRUCTURE)")
        let cached = try fixture.store.cachedFetchItems(in: mailbox, uids: 1...2)
        try #require(cached.count == 2)
        let structure = String(decoding: try #require(cached[2]).bodyStructure, as: UTF8.self)
        #expect(structure.hasPrefix("((\"text\" \"plain\" (\"charset\" \"utf-8\")"), "\(structure)")
        #expect(first.contains("BODYSTRUCTURE " + structure + ")"), "\(first)")
        #expect(first.contains("ENVELOPE (\"Mon, 23 Nov 2026 10:00:00 +0100\" \"Order 1234 is late\""), "\(first)")
        #expect(session.run("d FETCH 1:2 (ENVELOPE BODY BODYSTRUCTURE)") == first, "the same answer from the cache")

        // A row planted in the cache is what FETCH sends: it does not read the file again.
        let planted = CachedFetchItems(envelope: Array("(\"planted\")".utf8), bodyStructure: Array("(\"x\")".utf8), body: Array("(\"y\")".utf8))
        try fixture.store.storeFetchItems([1: planted], in: mailbox)
        #expect(session.run("e FETCH 1 (ENVELOPE BODY)").contains("* 1 FETCH (ENVELOPE (\"planted\") BODY (\"y\"))"))

        _ = session.run("f STORE 1 +FLAGS (\\Deleted)")
        _ = session.run("g EXPUNGE")
        #expect(Array(try fixture.store.cachedFetchItems(in: mailbox, uids: 1...2).keys) == [2], "the row goes with its message")
    }

    @Test func aBatchReadsOnlyTheItemsAskedFor() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        appendBoth(&session)
        _ = session.run("d FETCH 1:2 (ENVELOPE BODY BODYSTRUCTURE)")
        let mailbox = try inbox(fixture)
        let all = try fixture.store.cachedFetchItems(in: mailbox, uids: 1...2)
        let batch = try fixture.store.cachedFetchBatch(in: mailbox, uids: 2...9, items: [.bodyStructure])
        #expect(batch.uids == [2])
        #expect(batch.position(of: 1) == nil, "outside the range")
        let position = try #require(batch.position(of: 2))
        let bodyStructure = try #require(all[2]).bodyStructure
        #expect(Array(batch.octets(.bodyStructure, at: position)) == bodyStructure)
        #expect(batch.octets(.envelope, at: position).isEmpty, "not asked for, not read")
        #expect(batch.octets(.body, at: position).isEmpty)
        #expect(session.run("e FETCH 2 BODYSTRUCTURE") ==
                "* 2 FETCH (BODYSTRUCTURE \(String(decoding: bodyStructure, as: UTF8.self)))\r\ne OK FETCH completed\r\n")
    }

    @Test func flagListsOfEverySetAreWrittenAsTheyAre() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        appendBoth(&session)
        _ = session.run("e STORE 1 FLAGS (\\Seen \\Flagged)")
        _ = session.run("f STORE 2 FLAGS ($Urgent \\Answered)")
        #expect(session.run("g FETCH 1:2 (FLAGS UID)") == """
            * 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent) UID 1)\r
            * 2 FETCH (FLAGS (\\Answered $Urgent \\Recent) UID 2)\r
            g OK FETCH completed\r

            """)
        _ = session.run("h STORE 2 FLAGS (\\Flagged \\Seen)")
        #expect(session.run("i FETCH 1:2 FLAGS") == """
            * 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r
            * 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r
            i OK FETCH completed\r

            """)
    }

    @Test func flagsOnlyFetchNeitherReadsFilesNorFillsTheCache() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        appendBoth(&session)
        #expect(session.run("d FETCH 1:* (UID FLAGS RFC822.SIZE)").contains("* 2 FETCH (UID 2 FLAGS (\\Recent) RFC822.SIZE"))
        #expect(try fixture.store.cachedFetchItems(in: inbox(fixture), uids: 1...2).isEmpty)
    }

    @Test func wholeMessageIsSentAsStoredAndPartsStillParse() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        appendBoth(&session)
        let size = multipartMessage.utf8.count
        let whole = session.run("d FETCH 2 (BODY.PEEK[] RFC822.SIZE)")
        #expect(whole.contains("BODY[] {\(size)}\r\n\(multipartMessage) RFC822.SIZE \(size))"), "\(whole)")
        #expect(session.run("e FETCH 2 BODY.PEEK[]<0.5>").contains("BODY[]<0> {5}\r\nFrom:"))
        #expect(session.run("f FETCH 1 RFC822").contains("RFC822 {\(sampleMessage.utf8.count)}\r\n\(sampleMessage)"))
        #expect(session.run("g FETCH 2 (BODY.PEEK[1] ENVELOPE)").contains("BODY[1] {13}\r\nSee attached. ENVELOPE (NIL \"Photo\""))
        #expect(session.run("h FETCH 1 BODY.PEEK[TEXT]").contains("BODY[TEXT] {20}\r\nWhere is my order?\r\n"))
    }

    @Test func searchTextAndBodyOnRawFiles() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        appendBoth(&session)
        #expect(session.run("d SEARCH TEXT \"ORDER 1234\"").contains("* SEARCH 1\r\n"), "TEXT includes the header, any case")
        #expect(session.run("e SEARCH BODY \"order 1234\"").contains("* SEARCH\r\n"), "BODY skips the header")
        #expect(session.run("f SEARCH BODY \"MY ORDER\"").contains("* SEARCH 1\r\n"))
        #expect(session.run("g SEARCH TEXT attached").contains("* SEARCH 2\r\n"))
        #expect(session.run("h SEARCH TEXT \"order-1234@\"").contains("* SEARCH 1 2\r\n"), "References of 2 names it")
        #expect(session.run("i SEARCH TEXT \"nowhere\"").contains("* SEARCH\r\n"))
    }

    @Test func byteSearchFoldsASCIICase() {
        let hay = Array("Hello World, hello again".utf8)[...]
        #expect(IMAPTextSearch.contains(hay, "WORLD"))
        #expect(IMAPTextSearch.contains(hay, "again"))
        #expect(IMAPTextSearch.contains(hay[18...], "again"), "a slice that does not start at 0")
        #expect(!IMAPTextSearch.contains(hay[..<22], "again"))
        #expect(!IMAPTextSearch.contains(hay, "worlds"))
        #expect(IMAPTextSearch.contains(Array("Grüße aus KÖLN".utf8)[...], "köln"), "non-ASCII folds too")
    }
}
