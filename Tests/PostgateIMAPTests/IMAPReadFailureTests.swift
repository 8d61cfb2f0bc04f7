import Foundation
import PostgateStore
import Testing
@testable import PostgateIMAP

/// FETCH, SEARCH, SORT and THREAD when a message file cannot be read (RFC 9051 section 7.1:
/// NO [SERVERBUG] naming it) or is gone because another session expunged the message
/// meanwhile (RFC 2180 section 4.1.2, RFC 5530 section 3: EXPUNGEISSUED). A store failure
/// is never taken for "no such message" or "no match".
@Suite struct IMAPReadFailureTests {
    /// A session with two messages in INBOX (UID 1: `sampleMessage`, UID 2: `multipartMessage`), selected.
    private func selectedSession(_ fixture: IMAPStoreFixture) -> IMAPTestSession<MailStore> {
        var session = fixture.session()
        _ = session.run("a APPEND INBOX {\(sampleMessage.utf8.count)+}\r\n\(sampleMessage)")
        _ = session.run("b APPEND INBOX {\(multipartMessage.utf8.count)+}\r\n\(multipartMessage)")
        _ = session.run("c SELECT INBOX")
        return session
    }

    /// Replaces the file of message `uid` in INBOX with a directory: reading it fails (EISDIR).
    private func breakFile(_ fixture: IMAPStoreFixture, uid: UInt32) throws {
        let inbox = try #require(try fixture.store.visibleMailboxes(agent: fixture.agent).first { $0.name == "INBOX" })
        let filename = try #require(try fixture.store.details(in: inbox, uids: uid...uid).first?.filename)
        let maildir = fixture.root + "/data/" + inbox.path
        var found: String?
        for folder in ["new", "cur"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: maildir + "/" + folder) where name.hasPrefix(filename) {
                found = maildir + "/" + folder + "/" + name
            }
        }
        let path = try #require(found)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    /// Another session expunges message `uid` of INBOX.
    private func expungeElsewhere(_ fixture: IMAPStoreFixture, uid: UInt32) {
        var other = fixture.session()
        _ = other.run("x SELECT INBOX")
        _ = other.run("y UID STORE \(uid) +FLAGS (\\Deleted)")
        #expect(other.run("z EXPUNGE").contains("z OK"))
    }

    @Test func aFetchThatCannotReadAFileAnswersServerBugAfterTheOthers() throws {
        let fixture = try IMAPStoreFixture()
        var session = selectedSession(fixture)
        try breakFile(fixture, uid: 1)
        let fetch = session.run("f FETCH 1:2 (UID BODY.PEEK[])")
        #expect(!fetch.contains("* 1 FETCH"), "\(fetch)")
        #expect(fetch.contains("* 2 FETCH (UID 2 BODY[] {\(multipartMessage.utf8.count)}"), "\(fetch)")
        #expect(fetch.contains("f NO [SERVERBUG] FETCH failed: cannot read message UID 1: "), "\(fetch)")
        // ENVELOPE of a message without a cache row needs the file as well.
        #expect(session.run("g FETCH 1 ENVELOPE").contains("g NO [SERVERBUG]"))
        // What needs no file is still answered.
        #expect(session.run("h FETCH 1 (UID FLAGS)").contains("h OK FETCH completed"))
    }

    @Test func aFetchOfAMessageExpungedMeanwhileSaysExpungeIssued() throws {
        let fixture = try IMAPStoreFixture()
        var session = selectedSession(fixture)
        expungeElsewhere(fixture, uid: 1)
        let fetch = session.run("f FETCH 1:2 (UID BODY.PEEK[])")
        #expect(!fetch.contains("* 1 FETCH"), "\(fetch)")
        #expect(fetch.contains("* 2 FETCH (UID 2 "), "\(fetch)")
        #expect(fetch.contains("f NO [EXPUNGEISSUED] Some of the requested messages no longer exist (UID 1)"), "\(fetch)")
        #expect(!fetch.contains("EXPUNGE\r\n"), "no EXPUNGE while answering a FETCH (RFC 9051 section 7.5.1): \(fetch)")
        #expect(session.run("n NOOP").contains("* 1 EXPUNGE"))
    }

    @Test func searchSortAndThreadThatCannotReadAFileAnswerServerBug() throws {
        let fixture = try IMAPStoreFixture()
        var session = selectedSession(fixture)
        try breakFile(fixture, uid: 1)
        let search = session.run("s SEARCH BODY order")
        #expect(!search.contains("* SEARCH"), "a result without a message that may match would be wrong: \(search)")
        #expect(search.contains("s NO [SERVERBUG] Cannot read message UID 1: "), "\(search)")
        #expect(session.run("t SORT (SUBJECT) UTF-8 ALL").contains("t NO [SERVERBUG] Cannot read message UID 1: "))
        #expect(session.run("u THREAD REFERENCES UTF-8 ALL").contains("u NO [SERVERBUG] Cannot read message UID 1: "))
        // Keys the index answers need no file.
        #expect(session.run("v SEARCH UID 1:*").contains("* SEARCH 1 2\r\nv OK SEARCH completed"))
    }

    @Test func searchAndSortOfAMessageExpungedMeanwhileSayExpungeIssued() throws {
        let fixture = try IMAPStoreFixture()
        var session = selectedSession(fixture)
        expungeElsewhere(fixture, uid: 1)
        // TEXT is answered from the index's search text, which went with the message;
        // a header field the index does not keep is read from the files.
        #expect(session.run("r SEARCH TEXT order").contains("* SEARCH 2\r\nr OK SEARCH completed"))
        let search = session.run("s SEARCH HEADER References order")
        #expect(search.contains("* SEARCH 2\r\n"), "\(search)")
        #expect(search.contains("s OK [EXPUNGEISSUED] SEARCH completed; some messages no longer exist (UID 1)"), "\(search)")
        let sort = session.run("t UID SORT (SUBJECT) UTF-8 ALL")
        #expect(sort.contains("* SORT 1 2\r\n") || sort.contains("* SORT 2 1\r\n"), "\(sort)")
        #expect(sort.contains("t OK [EXPUNGEISSUED] SORT completed"), "\(sort)")
    }
}
