import Foundation
import NIOCore
import PostgateStore
import Testing
@testable import PostgateIMAP

/// CONDSTORE (RFC 7162 section 3.1) against a real store, following the RFC's examples
/// (with the mod-sequences this store hands out instead of the RFC's numbers).
@Suite struct IMAPCondStoreTests {
    /// A store whose INBOX holds three messages, appended in order.
    let fixture: IMAPStoreFixture

    init() throws {
        fixture = try IMAPStoreFixture()
        try fixture.appendSamples(3)
    }

    /// The number in `name (n)` or `[name n]` or `name n` after `after` in `text`.
    private func number(_ name: String, in text: String, after: String = "") -> UInt64? {
        let tail = after.isEmpty ? text[...] : text.range(of: after).map { text[$0.upperBound...] } ?? ""
        guard let range = tail.range(of: #"\#(name) \(?(\d+)"#, options: .regularExpression) else { return nil }
        return UInt64(tail[range].split(separator: " ")[1].trimmingCharacters(in: CharacterSet(charactersIn: "(")))
    }

    private func fetchLines(_ text: String) -> [String] {
        text.components(separatedBy: "\r\n").filter { $0.hasPrefix("* ") && $0.contains(" FETCH ") }
    }

    /// RFC 7162 section 3.1.2.1 and 3.1.8: `A142 SELECT INBOX (CONDSTORE)`; STATUS (3.1.6).
    @Test func selectAndStatusReportHighestModSeq() throws {
        var session = fixture.session()
        let select = session.run("A142 SELECT INBOX (CONDSTORE)")
        #expect(select.hasSuffix("A142 OK [READ-WRITE] SELECT completed, CONDSTORE is now enabled\r\n"))
        let highest = try #require(number("HIGHESTMODSEQ", in: select), "\(select)")
        let fetch = session.run("a FETCH 1:* (MODSEQ)")
        let values = (1...3).compactMap { number("MODSEQ", in: fetch, after: "* \($0) FETCH") }
        try #require(values.count == 3, "\(fetch)")
        #expect(values == values.sorted())
        #expect(values.last == highest)
        #expect(fetch.contains("* 1 FETCH (MODSEQ (\(values[0])))\r\n"))
        #expect(session.run("A042 STATUS INBOX (UIDNEXT MESSAGES HIGHESTMODSEQ)") ==
                "* STATUS INBOX (UIDNEXT 4 MESSAGES 3 HIGHESTMODSEQ \(highest))\r\nA042 OK STATUS completed\r\n")
        var plain = fixture.session()
        #expect(plain.run("b EXAMINE INBOX").contains("* OK [HIGHESTMODSEQ \(highest)]"),
                "kept for every mailbox, so always reported")
    }

    /// RFC 7162 section 3.1.4.1: `s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)` names
    /// exactly the messages changed since, with MODSEQ; the change made in another session.
    @Test func fetchChangedSinceNamesOnlyChangedMessages() throws {
        var other = fixture.session()
        var session = fixture.session()
        _ = other.run("a SELECT INBOX")
        let highest = try #require(number("HIGHESTMODSEQ", in: session.run("a SELECT INBOX (CONDSTORE)")))
        #expect(other.run("b STORE 2 +FLAGS (\\Flagged)").contains("b OK"))
        let fetch = session.run("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(highest))")
        let lines = fetchLines(fetch)
        #expect(!lines.isEmpty, "\(fetch)")
        #expect(lines.allSatisfy { $0.hasPrefix("* 2 FETCH (UID 2 ") && $0.contains("FLAGS (\\Flagged)") }, "\(fetch)")
        let changed = try #require(number("MODSEQ", in: fetch))
        #expect(changed > highest)
        #expect(fetch.hasSuffix("s100 OK FETCH completed\r\n"))
        // Nothing changed since the new value: no FETCH at all.
        #expect(session.run("s101 UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(changed))") == "s101 OK FETCH completed\r\n")
        #expect(session.run("s102 FETCH 1:* (FLAGS) (CHANGEDSINCE \(changed) VANISHED)") ==
                "unparsable: s102 FETCH 1:* (FLAGS) (CHANGEDSINCE \(changed) VANISHED)", "VANISHED needs QRESYNC")
    }

    /// RFC 7162 section 3.1.3: `d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT
    /// (\Deleted)`: the message changed since is left alone and named in MODIFIED; the
    /// others are changed and reported with their MODSEQ only (.SILENT).
    @Test func storeUnchangedSinceLeavesChangedMessagesAlone() throws {
        var other = fixture.session()
        var session = fixture.session()
        _ = other.run("a SELECT INBOX")
        let highest = try #require(number("HIGHESTMODSEQ", in: session.run("a SELECT INBOX (CONDSTORE)")))
        _ = other.run("b STORE 2 +FLAGS (\\Answered)")
        let store = session.run("d105 STORE 3,1,2 (UNCHANGEDSINCE \(highest)) +FLAGS.SILENT (\\Deleted)")
        #expect(store.hasSuffix("d105 OK [MODIFIED 2] Conditional STORE failed\r\n"))
        for sequence in [1, 3] {
            let line = try #require(fetchLines(store).first { $0.hasPrefix("* \(sequence) FETCH") }, "\(store)")
            #expect(line.range(of: #"^\* \d FETCH \(MODSEQ \(\d+\)\)$"#, options: .regularExpression) != nil, "\(line)")
            #expect((number("MODSEQ", in: line) ?? 0) > highest)
        }
        let flags = session.run("e FETCH 1:3 (FLAGS)")
        #expect(flags.contains("* 1 FETCH (FLAGS (\\Deleted))") && flags.contains("* 3 FETCH (FLAGS (\\Deleted))"), "\(flags)")
        #expect(flags.contains("* 2 FETCH (FLAGS (\\Answered))"))
        // UNCHANGEDSINCE 0 always fails (section 3.1.3); UID STORE names UIDs.
        #expect(session.run("f UID STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)").hasSuffix("f OK [MODIFIED 1] Conditional STORE failed\r\n"))
        // A plain STORE once CONDSTORE is on: FLAGS with MODSEQ.
        let plain = session.run("g STORE 2 +FLAGS (\\Flagged)")
        #expect(plain.range(of: #"\* 2 FETCH \(MODSEQ \(\d+\) FLAGS \(\\Flagged \\Answered\)\)"#, options: .regularExpression) != nil, "\(plain)")
    }

    /// RFC 7162 section 3.1.5: `a SEARCH MODSEQ "/flags/\\draft" all 620162338` answers the
    /// matches and the highest mod-sequence among them.
    @Test func searchModSeq() throws {
        var session = fixture.session()
        let highest = try #require(number("HIGHESTMODSEQ", in: session.run("a SELECT INBOX (CONDSTORE)")))
        _ = session.run("b STORE 1,3 +FLAGS (\\Draft)")
        let changed = try #require(number("MODSEQ", in: session.run("c FETCH 3 (MODSEQ)")))
        #expect(session.run("d SEARCH MODSEQ \"/flags/\\\\draft\" all \(highest + 1)") ==
                "* SEARCH 1 3 (MODSEQ \(changed))\r\nd OK SEARCH completed\r\n")
        #expect(session.run("e UID SEARCH MODSEQ \(changed + 1)") == "* SEARCH\r\ne OK SEARCH completed\r\n")
        #expect(session.run("f SEARCH RETURN (COUNT) MODSEQ \(highest + 1)").contains("COUNT 2 MODSEQ \(changed)"))
    }

    /// Unsolicited FETCH responses carry MODSEQ once enabled (section 3.1.4.1); an expunge
    /// raises HIGHESTMODSEQ (section 3.1.2.1); a copy gets a new mod-sequence.
    @Test func otherSessionsChangesArriveWithModSeq() throws {
        var other = fixture.session()
        var session = fixture.session()
        _ = other.run("a SELECT INBOX")
        _ = session.run("a SELECT INBOX (CONDSTORE)")
        _ = other.run("b STORE 1 +FLAGS (\\Seen \\Deleted)")
        let update = session.poll()
        #expect(update.range(of: #"^\* 1 FETCH \(UID 1 MODSEQ \(\d+\) FLAGS \(\\Seen \\Deleted\)\)\r\n$"#,
                             options: .regularExpression) != nil, "\(update)")
        let afterStore = try #require(number("HIGHESTMODSEQ", in: session.run("c STATUS INBOX (HIGHESTMODSEQ)")))
        #expect(number("MODSEQ", in: update) == afterStore)
        #expect(other.run("d EXPUNGE").contains("* 1 EXPUNGE"))
        #expect((number("HIGHESTMODSEQ", in: session.run("e STATUS INBOX (HIGHESTMODSEQ)")) ?? 0) > afterStore)
        #expect(session.run("f CREATE Kept").contains("f OK"))
        #expect(session.run("g COPY 1 Kept").contains("g OK"))
        let kept = session.run("h EXAMINE Kept")
        #expect((number("HIGHESTMODSEQ", in: kept) ?? 0) > afterStore, "\(kept)")
    }

    /// A private `\Seen` (a queue keeping read state per agent) is a change too: the
    /// message gets a new mod-sequence, which every agent sees (the flags stay per agent).
    @Test func privateSeenGivesANewModSeq() throws {
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.store.setPrivateSeen(true, of: .address(.init("support@acme.test")))
        try fixture.deliver(sampleMessage)
        var session = fixture.session()
        let highest = try #require(number("HIGHESTMODSEQ", in: session.run("a SELECT Shared/support@acme.test (CONDSTORE)")))
        let store = session.run("b STORE 1 +FLAGS (\\Seen)")
        #expect((number("MODSEQ", in: store) ?? 0) > highest, "\(store)")
        #expect(session.run("c FETCH 1:* (FLAGS) (CHANGEDSINCE \(highest))").contains("FLAGS (\\Seen \\Recent)"))
    }
}
