import Foundation
import PostgateCSV
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgatePolicy
import PostgateStore
import Testing
@testable import PostgateIMAP

/// Mailbox and command semantics as RFC 3501 / RFC 9051 and their extensions say, and as
/// Dovecot answers where they leave room, against a real store (SQLite, Maildir files).
@Suite struct IMAPConformanceTests {
    private func append(_ session: inout IMAPTestSession<MailStore>, _ tag: String, to mailbox: String, _ message: String = sampleMessage) -> String {
        session.run("\(tag) APPEND \(mailbox) {\(message.utf8.count)+}\r\n\(message)")
    }

    private func number(_ text: String, after prefix: String) -> UInt64? {
        guard let range = text.range(of: prefix) else { return nil }
        return UInt64(text[range.upperBound...].prefix { $0.isNumber })
    }

    // MARK: Mailboxes deleted and made again

    /// RFC 9051 section 2.3.1.1: a mailbox made again gets a new UIDVALIDITY, and nothing
    /// read of the old one (SELECT's cached summaries) shows in the new one.
    @Test func aMailboxDeletedAndCreatedAgainHasANewUIDValidityAndOnlyItsOwnMessages() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        #expect(session.run("a CREATE Orders").contains("a OK"))
        for n in 0..<5 { #expect(append(&session, "b\(n)", to: "Orders").contains("OK [APPENDUID")) }
        let first = session.run("c SELECT Orders")
        #expect(first.contains("* 5 EXISTS"), "\(first)")
        _ = session.run("d SELECT INBOX")
        #expect(session.run("e DELETE Orders").contains("e OK"))
        #expect(session.run("f CREATE Orders").contains("f OK"))
        for n in 0..<3 { #expect(append(&session, "g\(n)", to: "Orders").contains("OK [APPENDUID")) }
        let second = session.run("h SELECT Orders")
        #expect(second.contains("* 3 EXISTS"), "\(second)")
        let old = number(first, after: "[UIDVALIDITY "), new = number(second, after: "[UIDVALIDITY ")
        #expect(old != nil && new != nil && old != new, "\(first)\n\(second)")
        let sizes = session.run("i FETCH 1:* RFC822.SIZE")
        #expect(!sizes.contains("RFC822.SIZE 0)") && sizes.contains("i OK"), "\(sizes)")
        #expect(session.run("j STATUS Orders (MESSAGES)").contains("(MESSAGES 3)"))
    }

    // MARK: APPEND

    /// RFC 9051 section 6.3.12: APPEND stores, also a message whose Message-ID the folder
    /// holds (a draft saved again); a failure never names a path of the data directory.
    @Test func appendStoresAMessageTheFolderAlreadyHolds() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        let first = append(&session, "a", to: "Drafts"), second = append(&session, "b", to: "Drafts")
        #expect(first.contains("a OK [APPENDUID") && second.contains("b OK [APPENDUID"), "\(first)\(second)")
        #expect(!second.contains("agents/"), "\(second)")
        #expect(session.run("c SELECT Drafts").contains("* 2 EXISTS"))
    }

    // MARK: \Recent

    /// RFC 3501 section 2.3.2: one session sees a new message as recent; the RECENT
    /// counts, FETCH FLAGS and SEARCH RECENT / NEW / OLD say so.
    @Test func recentMessagesBelongToOneSession() throws {
        let fixture = try IMAPStoreFixture()
        var writer = fixture.session(), first = fixture.session(), second = fixture.session()
        _ = append(&writer, "a", to: "INBOX")
        #expect(writer.run("b STATUS INBOX (RECENT)").contains("(RECENT 1)"))
        #expect(first.run("c SELECT INBOX").contains("* 1 RECENT"))
        #expect(second.run("d SELECT INBOX").contains("* 0 RECENT"))
        #expect(writer.run("e STATUS INBOX (RECENT)").contains("(RECENT 0)"))
        #expect(first.run("f FETCH 1 FLAGS").contains("FLAGS (\\Recent)"))
        #expect(!second.run("g FETCH 1 FLAGS").contains("\\Recent"))

        _ = append(&writer, "h", to: "INBOX")
        let noop = second.run("i NOOP")
        #expect(noop.contains("* 2 EXISTS\r\n* 1 RECENT\r\n"), "\(noop)")
        // Its count of recent messages did not change: no RECENT, as Dovecot answers.
        let unchanged = first.run("j NOOP")
        #expect(unchanged.contains("* 2 EXISTS\r\n") && !unchanged.contains("RECENT"), "\(unchanged)")
        #expect(second.run("k SEARCH RECENT").contains("* SEARCH 2\r\n"))
        #expect(second.run("l SEARCH NEW").contains("* SEARCH 2\r\n"))
        #expect(second.run("m SEARCH OLD").contains("* SEARCH 1\r\n"))
        #expect(first.run("n SEARCH RECENT").contains("* SEARCH 1\r\n"))
        // EXAMINE takes nothing: the message stays recent for the next SELECT.
        _ = append(&writer, "o", to: "Drafts")
        #expect(writer.run("p EXAMINE Drafts").contains("* 1 RECENT"))
        #expect(writer.run("q SELECT Drafts").contains("* 1 RECENT"))
    }

    // MARK: Keywords

    /// RFC 3501 section 7.2.6: a new keyword is announced in FLAGS and PERMANENTFLAGS
    /// before a FETCH shows it, to this session and to others with the mailbox selected,
    /// and a later SELECT lists it.
    @Test func newKeywordsAreAnnouncedInFlagsAndPermanentFlags() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session(), other = fixture.session()
        _ = append(&session, "a", to: "INBOX")
        let select = session.run("b SELECT INBOX")
        #expect(select.contains("[PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)]"), "\(select)")
        _ = other.run("c SELECT INBOX")
        let store = session.run("d STORE 1 +FLAGS ($Label1)")
        let flags = store.range(of: "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Label1)\r\n")
        let permanent = store.range(of: "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Label1 \\*)]")
        let fetch = store.range(of: "* 1 FETCH (FLAGS (")
        #expect(flags != nil && permanent != nil && fetch != nil, "\(store)")
        if let flags, let fetch { #expect(flags.lowerBound < fetch.lowerBound, "\(store)") }
        let noop = other.run("e NOOP")
        #expect(noop.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Label1)\r\n"), "\(noop)")
        #expect(!session.run("f STORE 1 +FLAGS ($Label1)").contains("* FLAGS"), "announced once")
        var third = fixture.session()
        let again = third.run("g SELECT INBOX")
        #expect(again.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Label1)"), "\(again)")
        var examine = fixture.session()
        #expect(examine.run("h EXAMINE INBOX").contains("* OK [PERMANENTFLAGS ()]"))
    }

    // MARK: LIST and subscriptions

    /// RFC 5258 section 3.1 and 6: RECURSIVEMATCH alone and unknown return options are BAD.
    @Test func listRefusesRecursiveMatchAloneAndUnknownReturnOptions() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        #expect(session.run("a LIST (RECURSIVEMATCH) \"\" \"\"").hasPrefix("unparsable"))
        #expect(session.run("b LIST \"\" % RETURN (FOO)").hasPrefix("unparsable"))
        #expect(session.run("c LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %").contains("c OK"))
        #expect(session.run("d LIST \"\" % RETURN (CHILDREN SUBSCRIBED)").contains("d OK"))
    }

    /// RFC 3501 sections 6.3.6 and 6.3.9, RFC 5258 sections 3.4 and 3.5.
    @Test func subscriptionsOutliveMailboxesAndStandBehindTheirParents() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        _ = session.run("a CREATE Projects/Acme")
        _ = session.run("b SUBSCRIBE Projects/Acme")
        let lsub = session.run("c LSUB \"\" %")
        #expect(lsub.contains("* LSUB (\\Noselect) \"/\" Projects\r\n") && !lsub.contains("Projects/Acme"), "\(lsub)")
        #expect(session.run("d LSUB \"\" Projects/%").contains("* LSUB () \"/\" Projects/Acme\r\n"))
        let childInfo = session.run("e LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %")
        #expect(childInfo.contains("* LIST (\\NonExistent) \"/\" Projects (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"), "\(childInfo)")
        #expect(!session.run("f LIST (SUBSCRIBED) \"\" %").contains("Projects"))

        _ = session.run("g CREATE Gone")
        _ = session.run("h SUBSCRIBE Gone")
        #expect(session.run("i DELETE Gone").contains("i OK"))
        #expect(session.run("j LSUB \"\" Gone").contains("* LSUB () \"/\" Gone\r\n"))
        #expect(session.run("k LIST (SUBSCRIBED) \"\" Gone").contains("* LIST (\\Subscribed \\NonExistent) \"/\" Gone\r\n"))
        #expect(!session.run("l LIST \"\" Gone").contains("* LIST"))
    }

    /// A granted shared folder is subscribed, as Dovecot's `auto = subscribe` does.
    @Test func grantedSharedFoldersAreSubscribed() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: EmailAddress("support@acme.test"))
        var session = fixture.session()
        #expect(session.run("a LSUB \"\" Shared/*").contains("* LSUB () \"/\" Shared/support@acme.test\r\n"))
    }

    // MARK: CONDSTORE and ESEARCH

    /// RFC 7162 section 3.1: the first CONDSTORE enabling command with a mailbox selected
    /// is told HIGHESTMODSEQ; RFC 4731 section 3.2: with MIN or MAX only, MODSEQ is that
    /// of the message returned.
    @Test func firstModSeqFetchSaysHighestModSeqAndMinMaxReportTheirOwnModSeq() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        for tag in ["a", "b", "c"] { _ = append(&session, tag, to: "INBOX") }
        _ = session.run("d SELECT INBOX")
        let fetch = session.run("e FETCH 1 (MODSEQ)")
        #expect(fetch.hasPrefix("* OK [HIGHESTMODSEQ "), "\(fetch)")
        #expect(!session.run("f FETCH 1 (MODSEQ)").contains("HIGHESTMODSEQ"))
        let modSeqs = session.run("g FETCH 1:3 (MODSEQ)")
        _ = session.run("h STORE 3 +FLAGS (\\Flagged)")
        let changed = session.run("i FETCH 3 (MODSEQ)")
        let low = number(modSeqs, after: "* 1 FETCH (MODSEQ (")!, high = number(changed, after: "* 3 FETCH (MODSEQ (")!
        #expect(session.run("j SEARCH RETURN (MIN) MODSEQ 1").contains("* ESEARCH (TAG \"j\") MIN 1 MODSEQ \(low)\r\n"))
        #expect(session.run("k SEARCH RETURN (MAX) MODSEQ 1").contains("* ESEARCH (TAG \"k\") MAX 3 MODSEQ \(high)\r\n"))
        #expect(session.run("l SEARCH RETURN (MIN COUNT) MODSEQ 1").contains("MODSEQ \(high)\r\n"))
    }

    // MARK: Body sections

    /// RFC 3501 section 6.4.5: HEADER and TEXT of a part exist for message/rfc822 parts
    /// only; a section that does not exist is empty, as Dovecot answers.
    @Test func headerAndTextOfANonMessagePartAndMissingSectionsAreEmpty() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        _ = append(&session, "a", to: "INBOX", multipartMessage)
        _ = session.run("b SELECT INBOX")
        let fetch = session.run("c FETCH 1 (BODY.PEEK[1.HEADER] BODY.PEEK[1.TEXT] BODY.PEEK[5] BODY.PEEK[1.MIME])")
        #expect(fetch.contains("BODY[1.HEADER] \"\" BODY[1.TEXT] \"\" BODY[5] \"\" BODY[1.MIME] {"), "\(fetch)")
        #expect(!fetch.contains("NIL"), "\(fetch)")
    }

    // MARK: Work bounded by the answer

    /// RFC 9051 section 6.3.9 wildcards, matched in polynomial time: a pattern that would
    /// backtrack exponentially finishes, and the answers are those of the definition.
    @Test func listPatternsMatchWithoutBacktracking() {
        let name = String(repeating: "a", count: 200)
        let hostile = String(repeating: "*a", count: 12) + "b"
        #expect(!IMAPMailboxName.matches(name, pattern: hostile))
        #expect(!IMAPMailboxName.matches(name, pattern: String(repeating: "%a", count: 12) + "b"))
        #expect(IMAPMailboxName.matches(name + "b", pattern: hostile))
        let cases: [(String, String, Bool)] = [
            ("INBOX", "inbox", true), ("INBOX/Sub", "inbox/%", true), ("a/b/c", "a/%", false), ("a/b/c", "a/*", true),
            ("a/b/c", "%/%/%", true), ("a/b", "*b", true), ("ab", "a%b", true), ("a/b", "a%b", false), ("abc", "a*c*", true),
            ("", "*", true), ("x", "", false), ("Shared/Queues/general", "Shared/%", false),
        ]
        for (name, pattern, expected) in cases {
            #expect(IMAPMailboxName.matches(name, pattern: pattern) == expected, "\(name) ~ \(pattern)")
        }
    }

    /// Many ranges naming the same messages cost what the messages cost: they are merged
    /// before anything is expanded; a name's trailing `/`s go in one pass.
    @Test func sequenceSetsAreMergedBeforeTheyAreExpanded() throws {
        let many = IMAPSequenceSet(ranges: Array(repeating: (.number(1), .star), count: 10_000))
        #expect(many.resolved(largest: 1_510) == [1...1_510])
        let mixed = IMAPSequenceSet(ranges: [(.number(7), .number(9)), (.number(1), .number(3)), (.number(4), .number(4)),
                                             (.star, .number(20)), (.number(12), .star)])
        #expect(mixed.resolved(largest: 15) == [1...4, 7...9, 12...20])
        #expect(mixed.resolved(largest: 30) == [1...4, 7...9, 12...30])
        #expect(mixed.contains(8, largest: 15) && !mixed.contains(5, largest: 15) && mixed.contains(20, largest: 15))
        #expect(mixed.members(of: [1, 2, 5, 8, 13, 40]) == [1, 2, 8, 13, 40])

        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        for tag in ["a", "b", "c"] { _ = append(&session, tag, to: "INBOX") }
        _ = session.run("d SELECT INBOX")
        let set = Array(repeating: "1:*", count: 10_000).joined(separator: ",")
        let fetch = session.run("e FETCH \(set) (UID)")
        #expect(fetch == "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\ne OK FETCH completed\r\n", "\(fetch.prefix(300))")
        #expect(session.run("f UID SEARCH UID \(set)").contains("* SEARCH 1 2 3\r\n"))

        #expect(IMAPMailboxName.normalize("Drafts" + String(repeating: "/", count: 100_000)) == "Drafts")
        #expect(IMAPMailboxName.normalize("inbox/Sub/") == "INBOX/Sub" && IMAPMailboxName.normalize("inboxes") == "inboxes")
        #expect(IMAPMailboxName.normalize("/") == "/")
        #expect(session.run("g SELECT Drafts" + String(repeating: "/", count: 30_000)).contains("g OK"))
    }

    // MARK: Names and imports

    /// RENAME measures names in code points, as SQLite's substr does: a name with a
    /// combining accent moves whole, with its children.
    @Test func renameOfANameWithACombiningCharacterMovesItAndItsChildren() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        #expect(session.run("a CREATE \"e\u{301}x\"").contains("a OK"))
        #expect(session.run("a CREATE \"e\u{301}x/child\"").contains("a OK"))
        #expect(session.run("b RENAME \"e\u{301}x\" moved").contains("b OK"))
        let list = session.run("c LIST \"\" *")
        #expect(list.contains("\"/\" moved\r\n") && list.contains("\"/\" moved/child\r\n"), "\(list)")
        #expect(!list.contains("movedx") && !list.contains("e\u{301}x"), "\(list)")
    }

    /// Levels `.` and `..` are refused, as Dovecot refuses them.
    @Test func dotLevelsAreRefused() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        for (n, name) in ["..", ".", "../../x", "a/../b", "a/..", "x/./y"].enumerated() {
            #expect(session.run("c\(n) CREATE \"\(name)\"").contains("c\(n) NO [CANNOT]"), "\(name)")
        }
        _ = session.run("r CREATE Real")
        #expect(session.run("s RENAME Real \"../Real\"").contains("s NO [CANNOT]"))
        #expect(session.run("t CREATE \"a..b/.hidden\"").contains("t OK"), "dots inside a level are a name")
    }

    @Test func csvOfBinaryDataIsRefused() throws {
        var garbage: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0xFF, 0xFE]
        garbage += (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        #expect(throws: CSVError.notText(line: 1)) { try CSVParser.records(garbage) }
        #expect(throws: CSVError.notText(line: 2)) { try CSVParser.records(Array("a@b.example\nx\0y\n".utf8)) }
        #expect(try CSVParser.records(Array("Jürgen@b.example\n".utf8)).map(\.fields) == [["Jürgen@b.example"]])
    }

    @Test func blocklistEntryOfInvalidUTF8IsRefused() {
        let text = String(decoding: [0x61, 0xFF, 0x40, 0x62, 0x2E, 0x65, 0x78], as: UTF8.self)
        #expect(throws: BlocklistEntryError.self) { try BlocklistEntry(parsing: text) }
        #expect(throws: BlocklistEntryError.self) { try BlocklistEntry(parsing: "@b\u{FFFD}.example") }
        #expect((try? BlocklistEntry(parsing: "spam@b.example")) != nil)
    }

    @Test func importNamingOneAddressTwiceWithDifferentSettingsIsRefused() throws {
        let fixture = try IMAPStoreFixture()
        var export = try fixture.store.exportChannels()
        guard var entry = export.addresses.first else { Issue.record("no address exported"); return }
        export.addresses.append(entry)
        #expect(throws: Never.self) { try fixture.store.importChannels(export, dryRun: true) }
        entry.settings.enabled.toggle()
        export.addresses.append(entry)
        #expect(throws: StoreError.self) { try fixture.store.importChannels(export, dryRun: true) }
    }
}
