import Foundation
import NIOCore
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import Testing
@testable import PostgateIMAP

/// PREVIEW (RFC 8970), STATUS=SIZE (RFC 8438), LIST-STATUS (RFC 5819) and SAVEDATE (RFC 8514): the parser,
/// the capability list, and the executor's answers against `InMemoryIMAPStore`.
@Suite struct IMAPExtensionsTests {
    private func parse(_ line: String) -> Result<IMAPTaggedCommand, IMAPParseFailure> {
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: line + "\r\n"))
        guard case .frame(let frame)? = decoder.next() else { return .failure(IMAPParseFailure(tag: nil, message: "no frame")) }
        return IMAPCommandParser.parse(frame)
    }

    private func fetchAttributes(_ line: String) throws -> [IMAPFetchAttribute] {
        guard case .fetch(_, let attributes, _, _, _) = try parse(line).get().command else { throw IMAPParseFailure(tag: nil, message: "not FETCH") }
        return attributes
    }

    private func session(_ store: InMemoryIMAPStore) -> IMAPTestSession<InMemoryIMAPStore> {
        IMAPTestSession(executor: IMAPCommandExecutor(store: store), context: IMAPSessionContext(agent: store.agent, selected: nil))
    }

    // MARK: - PREVIEW

    /// RFC 8970 section 7: `PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"]`, LAZY the one modifier.
    @Test func previewIsParsedWithAndWithoutLazy() throws {
        #expect(try fetchAttributes("a FETCH 1 PREVIEW") == [.preview(lazy: false)])
        #expect(try fetchAttributes("a FETCH 1 (UID PREVIEW FLAGS)") == [.uid, .preview(lazy: false), .flags])
        #expect(try fetchAttributes("a FETCH 1 (PREVIEW (LAZY) UID)") == [.preview(lazy: true), .uid])
        #expect(try fetchAttributes("a UID FETCH 1:* (PREVIEW (lazy))") == [.uid, .preview(lazy: true)])
        for bad in ["a FETCH 1 (PREVIEW (FUZZY))", "a FETCH 1 (PREVIEW ())", "a FETCH 1 (PREVIEW (LAZY FOO))"] {
            guard case .failure(let failure) = parse(bad) else { Issue.record("\(bad) was taken"); continue }
            #expect(failure.tag == "a")
        }
    }

    /// RFC 8970 section 3.1: the text, decoded, without header fields or markup, quoted
    /// lines left out, whitespace collapsed, at most 200 characters (Dovecot's length).
    @Test func previewTextIsDecodedCollapsedAndCut() {
        let quotedPrintable = "From: a@example.com\r\nSubject: =?utf-8?q?K=C3=B6ln?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
            + "Content-Transfer-Encoding: quoted-printable\r\n\r\nHallo  Gr=FC=DFe\r\n\r\n> quoted line\r\nsecond\tline\r\n"
        #expect(IMAPPreview.make(Array(quotedPrintable.utf8)) == "Hallo Grüße second line")
        let html = "From: a@example.com\r\nContent-Type: text/html\r\n\r\n<html><head><style>p{}</style></head>"
            + "<body><p>Hello <b>there</b></p><p>next &amp; more</p></body></html>\r\n"
        #expect(IMAPPreview.make(Array(html.utf8)) == "Hello there next & more")
        #expect(IMAPPreview.make(Array("From: a@example.com\r\n\r\n".utf8)) == "")
        #expect(IMAPPreview.make(Array("From: a@example.com\r\n\r\n> only quoted\r\n>> text here\r\n".utf8)) == ">only quoted text here")
        // An attached message's text is not the message's own (Dovecot gives "" too).
        let attached = "From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\nSubject: inner\r\n\r\ninner body\r\n"
        #expect(IMAPPreview.make(Array(attached.utf8)) == "")
        let long = IMAPPreview.make(text: String(repeating: "äöü ", count: 70))
        #expect(long.count == 199 && long.hasSuffix("äöü") && !long.contains("  "))
    }

    @Test func fetchPreviewAnswersWithAStringOrALiteral() {
        let store = InMemoryIMAPStore()
        store.deliver("From: a@example.com\r\nSubject: x\r\n\r\nWhere is   my order?\r\n")
        store.deliver("From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n")
        var session = session(store)
        _ = session.run("a SELECT INBOX")
        let fetch = session.run("b FETCH 1:2 (UID PREVIEW (LAZY))")
        #expect(fetch == "* 1 FETCH (UID 1 PREVIEW \"Where is my order?\")\r\n* 2 FETCH (UID 2 PREVIEW {7}\r\nGrüße)\r\nb OK FETCH completed\r\n")
        // PREVIEW does not set \Seen (RFC 8970 section 3.2).
        #expect(!session.run("c FETCH 1 FLAGS").contains("\\Seen"))
        // The previews were kept: a second FETCH reads no message.
        #expect(store.with { ($0.contentReads, $0.previewStores) } == (2, 1))
        #expect(session.run("d FETCH 1:2 (UID PREVIEW)") == fetch.replacingOccurrences(of: "b OK", with: "d OK"))
        #expect(store.with { ($0.contentReads, $0.previewStores) } == (2, 1))
    }

    // MARK: - STATUS=SIZE and LIST-STATUS

    @Test func listStatusIsParsed() throws {
        guard case .list(_, let patterns, let options) = try parse("a LIST \"\" (INBOX Archive) RETURN (STATUS (MESSAGES UNSEEN SIZE))").get().command else {
            Issue.record("not LIST")
            return
        }
        #expect(patterns == ["INBOX", "Archive"])
        #expect(options.returnStatus == [.messages, .unseen, .size])
        for bad in ["a LIST \"\" * RETURN (STATUS (MESSAGES FOO))", "a LIST \"\" * RETURN (STATUS ())", "a STATUS INBOX ()"] {
            guard case .failure = parse(bad) else { Issue.record("\(bad) was taken"); continue }
        }
    }

    @Test func capabilitiesNameTheExtensions() {
        var machine = IMAPSessionStateMachine(configuration: IMAPServerConfiguration(hostname: "imap.test"), tlsAvailable: false, tlsActive: true)
        _ = machine.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        let words = machine.capabilities.split(separator: " ")
        for capability in ["PREVIEW", "STATUS=SIZE", "LIST-STATUS", "LIST-EXTENDED", "SAVEDATE", "OBJECTID"] {
            #expect(words.contains(Substring(capability)), "\(capability) in \(words)")
        }
    }

    /// RFC 8438 section 4: SIZE is the total of RFC822.SIZE; RFC 5819 section 2: a STATUS
    /// after each selectable mailbox listed, none for a `\Noselect` level.
    @Test func statusSizeAndListStatus() {
        let store = InMemoryIMAPStore(folders: ["INBOX", "Archive", "Projects/2026"])
        let first = "From: a@example.com\r\n\r\none\r\n", second = "From: b@example.com\r\n\r\nsecond message\r\n"
        store.deliver(first)
        store.deliver(second, flags: MessageFlags(letters: "S"))
        var session = session(store)
        let size = first.utf8.count + second.utf8.count
        #expect(session.run("a STATUS INBOX (MESSAGES SIZE)") == "* STATUS INBOX (MESSAGES 2 SIZE \(size))\r\na OK STATUS completed\r\n")
        let list = session.run("b LIST \"\" * RETURN (STATUS (MESSAGES UNSEEN SIZE))")
        let lines = list.split(separator: "\r\n").map(String.init)
        #expect(lines.contains("* STATUS INBOX (MESSAGES 2 UNSEEN 1 SIZE \(size))"), "\(list)")
        #expect(lines.contains("* STATUS Archive (MESSAGES 0 UNSEEN 0 SIZE 0)"), "\(list)")
        // Each STATUS follows its mailbox's LIST; the `\Noselect` parent has none.
        let inbox = lines.firstIndex { $0.hasPrefix("* LIST") && $0.hasSuffix(" INBOX") }!
        #expect(lines[inbox + 1].hasPrefix("* STATUS INBOX "))
        let parent = lines.firstIndex { $0.hasPrefix("* LIST (\\Noselect") && $0.hasSuffix(" Projects") }!
        #expect(!lines[parent + 1].hasPrefix("* STATUS"), "\(list)")
        #expect(lines.contains("* STATUS Projects/2026 (MESSAGES 0 UNSEEN 0 SIZE 0)"), "\(list)")
        #expect(lines.last == "b OK LIST completed")
    }

    // MARK: - SAVEDATE

    @Test func saveDateItemAndSearchKeysAreParsed() throws {
        #expect(try fetchAttributes("a FETCH 1:* (UID SAVEDATE)") == [.uid, .saveDate])
        guard case .search(let key, _, _) = try parse("a SEARCH SAVEDBEFORE 1-Feb-2026 SAVEDON 2-Feb-2026 SAVEDSINCE 3-Feb-2026 SAVEDATESUPPORTED").get().command else {
            Issue.record("not SEARCH")
            return
        }
        #expect(key == .and([.savedBefore(IMAPDay(year: 2026, month: 2, day: 1)), .savedOn(IMAPDay(year: 2026, month: 2, day: 2)),
                             .savedSince(IMAPDay(year: 2026, month: 2, day: 3)), .saveDateSupported]))
        guard case .failure = parse("a SEARCH SAVEDON yesterday") else { Issue.record("a bad date was taken"); return }
    }

    /// The save date is the time at the start of the Maildir unique name (when the file
    /// was made in this mailbox), else the internal date.
    @Test func saveDateComesFromTheFileName() {
        var message = MessageSummary(uid: 1, flags: MessageFlags(), size: 10, internalDate: Date(timeIntervalSince1970: 1_000_000_000),
                                     filename: "1733590000.M1P2Q3.mail.acme.test,S=10,U=1", fileLetters: "", modSeq: 1)
        #expect(message.saveDate == Date(timeIntervalSince1970: 1_733_590_000))
        message.filename = "courier-import.host,S=10,U=1"
        #expect(message.saveDate == Date(timeIntervalSince1970: 1_000_000_000))
    }

    @Test func fetchAndSearchSaveDate() {
        let store = InMemoryIMAPStore()
        store.deliver("From: a@example.com\r\n\r\none\r\n")
        var session = session(store)
        _ = session.run("a SELECT INBOX")
        // The store in memory has no Maildir names: the internal date, 15-Jan-2027 08:00:00 UTC.
        #expect(session.run("b FETCH 1 SAVEDATE") == "* 1 FETCH (SAVEDATE \"15-Jan-2027 08:00:00 +0000\")\r\nb OK FETCH completed\r\n")
        #expect(session.run("c SEARCH SAVEDON 15-Jan-2027").hasPrefix("* SEARCH 1\r\n"))
        #expect(session.run("d SEARCH SAVEDSINCE 16-Jan-2027").hasPrefix("* SEARCH\r\n"))
        #expect(session.run("e SEARCH SAVEDBEFORE 16-Jan-2027").hasPrefix("* SEARCH 1\r\n"))
        #expect(session.run("f SEARCH SAVEDATESUPPORTED").hasPrefix("* SEARCH 1\r\n"))
    }

    // MARK: - OBJECTID

    @Test func objectIDItemsAndKeysAreParsed() throws {
        #expect(try fetchAttributes("a UID FETCH 1 (EMAILID THREADID)") == [.uid, .emailID, .threadID])
        guard case .status(_, let items) = try parse("a STATUS INBOX (MAILBOXID MESSAGES)").get().command else { Issue.record("not STATUS"); return }
        #expect(items == [.mailboxID, .messages])
        guard case .search(let key, _, _) = try parse("a SEARCH EMAILID M6d99ebc8bb1ed2c5 THREADID T_x-1").get().command else {
            Issue.record("not SEARCH")
            return
        }
        #expect(key == .and([.emailID("M6d99ebc8bb1ed2c5"), .threadID("T_x-1")]))
        // RFC 8474 section 8: `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`.
        guard case .failure = parse("a SEARCH EMAILID M.1") else { Issue.record("a bad objectid was taken"); return }
    }

    /// RFC 8474: MAILBOXID in SELECT, CREATE and STATUS, the same each time; EMAILID kept
    /// by COPY; THREADID the session's, NIL outside one; SEARCH EMAILID / THREADID.
    @Test func objectIDsAreStableAndSurviveCopy() throws {
        let store = InMemoryIMAPStore()
        store.deliver("From: a@example.com\r\n\r\none\r\n")
        store.deliver("From: b@example.com\r\n\r\ntwo\r\n")
        store.setSession(7, uid: 1)
        var session = session(store)
        let select = session.run("a SELECT INBOX")
        let mailboxID = try #require(select.firstMatch(of: #/\* OK \[MAILBOXID \((F[0-9a-f]{24})\)\] /#)?.1)
        #expect(session.run("b STATUS INBOX (MAILBOXID)") == "* STATUS INBOX (MAILBOXID (\(mailboxID)))\r\nb OK STATUS completed\r\n")
        let created = session.run("c CREATE Later")
        let laterID = try #require(created.firstMatch(of: #/c OK \[MAILBOXID \((F[0-9a-f]{24})\)\] CREATE completed/#)?.1)
        #expect(laterID != mailboxID)
        #expect(session.run("d STATUS Later (MAILBOXID)").contains("MAILBOXID (\(laterID))"))

        let fetch = session.run("e FETCH 1:2 (EMAILID THREADID)")
        let lines = fetch.split(separator: "\r\n")
        let first = try #require(lines[0].firstMatch(of: #/\* 1 FETCH \(EMAILID \((M[0-9a-f]{24})\) THREADID \((T[0-9a-f]{24})\)\)/#))
        let second = try #require(lines[1].firstMatch(of: #/\* 2 FETCH \(EMAILID \((M[0-9a-f]{24})\) THREADID NIL\)/#))
        #expect(first.1 != second.1)
        #expect(session.run("f SEARCH EMAILID \(second.1)").hasPrefix("* SEARCH 2\r\n"))
        #expect(session.run("g SEARCH THREADID \(first.2)").hasPrefix("* SEARCH 1\r\n"))
        #expect(session.run("h SEARCH EMAILID Mnothing").hasPrefix("* SEARCH\r\n"))

        #expect(session.run("i COPY 1 Archive").contains("i OK [COPYUID"))
        _ = session.run("j SELECT Archive")
        #expect(session.run("k FETCH 1 (EMAILID THREADID)").hasPrefix("* 1 FETCH (EMAILID (\(first.1)) THREADID (\(first.2)))\r\n"))
    }

    // MARK: - Against the real store

    /// The index keeps EMAILID and THREADID through COPY and MOVE (RFC 8474 section 5.1),
    /// MAILBOXID through RENAME (section 4); SAVEDATE is when the file was made in the
    /// mailbox, not the INTERNALDATE an APPEND gave (RFC 8514 section 4.1).
    @Test func objectIDsAndSaveDateInTheRealStore() throws {
        let fixture = try IMAPStoreFixture()
        try fixture.store.grant(agent: "alice", address: .init("support@acme.test"))
        try fixture.deliver(sampleMessage)
        var session = fixture.session()
        _ = session.run("a SELECT Shared/support@acme.test")
        let source = try #require(session.run("b FETCH 1 (EMAILID THREADID)").firstMatch(of: #/\* 1 FETCH \((EMAILID \(M[0-9a-f]{24}\) THREADID [^)]+\)?)\)/#)?.1)
        #expect(session.run("c COPY 1 Drafts").contains("c OK [COPYUID"))
        #expect(session.run("d UID MOVE 1 Trash").contains("d OK MOVE completed"))
        for folder in ["Drafts", "Trash"] {
            _ = session.run("e SELECT \(folder)")
            #expect(session.run("f FETCH 1 (EMAILID THREADID)").hasPrefix("* 1 FETCH (\(source))\r\n"), "\(folder)")
        }

        let created = session.run("g CREATE Clients")
        let mailboxID = try #require(created.firstMatch(of: #/MAILBOXID \((F[0-9a-f]{24})\)/#)?.1)
        #expect(session.run("h RENAME Clients Customers").contains("h OK"))
        #expect(session.run("i STATUS Customers (MAILBOXID)").contains("MAILBOXID (\(mailboxID))"))
        _ = session.run("j DELETE Customers")
        let again = session.run("k CREATE Clients")
        #expect(!again.contains(String(mailboxID)), "a mailbox made again is a new mailbox")

        let message = "From: a@example.com\r\nSubject: old\r\n\r\nfrom 2020\r\n"
        #expect(session.run("l APPEND Clients \"01-Feb-2020 10:00:00 +0000\" {\(message.utf8.count)+}\r\n\(message)").contains("l OK"))
        _ = session.run("m SELECT Clients")
        let fetch = session.run("n FETCH 1 (INTERNALDATE SAVEDATE)")
        #expect(fetch.contains("INTERNALDATE \" 1-Feb-2020 10:00:00 +0000\" SAVEDATE \""), "\(fetch)")
        #expect(!fetch.contains("SAVEDATE \" 1-Feb-2020"), "\(fetch)")
        #expect(session.run("o SEARCH SAVEDBEFORE 1-Jan-2021").hasPrefix("* SEARCH\r\n"))
        #expect(session.run("p SEARCH SAVEDSINCE 1-Jan-2021 BEFORE 1-Jan-2021").hasPrefix("* SEARCH 1\r\n"))
    }
}
