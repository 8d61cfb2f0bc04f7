import Foundation
import NIOCore
import PostgateStore
import Testing
@testable import PostgateIMAP
import PostgateDirectory

/// QRESYNC (RFC 7162 section 3.2): parsing, the session state machine, and resynchronisation
/// against a real store, following the RFC's examples with this store's numbers.
@Suite struct IMAPQResyncTests {
    /// A store whose INBOX holds five messages (UIDs 1 to 5), appended in order.
    let fixture: IMAPStoreFixture

    init() throws {
        fixture = try IMAPStoreFixture()
        try fixture.appendSamples(5)
        var session = fixture.session()
        _ = session.run("b CREATE Archive")
    }

    /// A session that has sent ENABLE QRESYNC (the state machine's part is tested below).
    private func qresyncSession() -> IMAPTestSession<MailStore> {
        var session = fixture.session()
        session.context.condStore = true
        session.context.qresync = true
        return session
    }

    /// UIDVALIDITY and HIGHESTMODSEQ as a SELECT reported them.
    private func state(_ select: String) throws -> (uidValidity: UInt32, highest: UInt64) {
        func value(_ name: String) -> String? {
            guard let range = select.range(of: #"\[\#(name) (\d+)\]"#, options: .regularExpression) else { return nil }
            return String(select[range].dropFirst(name.count + 2).dropLast())
        }
        return (try #require(value("UIDVALIDITY").flatMap { UInt32($0) }, "\(select)"),
                try #require(value("HIGHESTMODSEQ").flatMap { UInt64($0) }, "\(select)"))
    }

    private func lines(_ text: String) -> [String] {
        text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    /// Another session: adds `flag` to `uids`.
    private func flagElsewhere(_ uids: String, _ flag: String) {
        var other = fixture.session()
        _ = other.run("x SELECT INBOX")
        _ = other.run("x UID STORE \(uids) +FLAGS (\(flag))")
    }

    /// Another session: marks `uids` \Deleted and expunges them.
    private func expungeElsewhere(_ uids: String) {
        var other = fixture.session()
        _ = other.run("x SELECT INBOX")
        _ = other.run("x UID STORE \(uids) +FLAGS.SILENT (\\Deleted)")
        _ = other.run("x UID EXPUNGE \(uids)")
    }

    // MARK: - Parsing (RFC 7162 section 7)

    private func parse(_ line: String) -> Result<IMAPTaggedCommand, IMAPParseFailure> {
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: line + "\r\n"))
        guard case .frame(let frame)? = decoder.next() else { return .failure(IMAPParseFailure(tag: nil, message: "no frame")) }
        return IMAPCommandParser.parse(frame)
    }

    private func set(_ ranges: (UInt32, UInt32)...) -> IMAPSequenceSet {
        IMAPSequenceSet(ranges: ranges.map { (.number($0.0), .number($0.1)) })
    }

    @Test func selectQResyncParameterIsParsed() throws {
        #expect(try parse("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))").get().command ==
                .select(mailbox: "INBOX", readOnly: false, qresync: IMAPQResyncParameters(
                    uidValidity: 67890007, modSeq: 20050715194045000, knownUIDs: set((41, 41), (43, 211), (214, 541)))))
        // RFC 7162 section 3.2.5.2's example, with the message sequence match data.
        let line = "B04 EXAMINE INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))"
        guard case .select(_, true, false, let parameters?) = try parse(line).get().command else {
            Issue.record("not EXAMINE with QRESYNC")
            return
        }
        #expect(parameters.knownUIDs == set((1, 29997)))
        #expect(parameters.sequenceMatch?.sequences.valueCount == 13)
        #expect(try parse("a SELECT INBOX (QRESYNC (1 2) CONDSTORE)").get().command ==
                .select(mailbox: "INBOX", readOnly: false, condStore: true, qresync: IMAPQResyncParameters(uidValidity: 1, modSeq: 2)))
        #expect(try parse("a SELECT INBOX (QRESYNC (1 2 (3 4)))").get().command ==
                .select(mailbox: "INBOX", readOnly: false, qresync: IMAPQResyncParameters(
                    uidValidity: 1, modSeq: 2, sequenceMatch: .init(sequences: set((3, 3)), uids: set((4, 4))))))
        for bad in [
            "a SELECT INBOX (QRESYNC (1))",                 // no mod-sequence
            "a SELECT INBOX (QRESYNC (0 5))",               // UIDVALIDITY is nz-number
            "a SELECT INBOX (QRESYNC (1 5 1:*))",           // `*` is not allowed in known-uids
            "a SELECT INBOX (QRESYNC (1 5 1:9 (1:3 4,7)))", // three numbers, two UIDs
            "a SELECT INBOX (QRESYNC (1 5) QRESYNC (1 5))",
            "a SELECT INBOX (FOO)",                          // RFC 4466: an unknown parameter is BAD
        ] {
            guard case .failure = parse(bad) else { Issue.record("accepted: \(bad)"); continue }
        }
    }

    @Test func fetchVanishedModifierIsParsed() throws {
        let all = IMAPSequenceSet(ranges: [(.number(1), .star)])
        #expect(try parse("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)").get().command ==
                .fetch(set: all, attributes: [.uid, .flags, .modSeq], uid: true, changedSince: 12345, vanished: true))
        #expect(try parse("s100 UID FETCH 1:* (FLAGS) (VANISHED CHANGEDSINCE 12345)").get().command ==
                .fetch(set: all, attributes: [.uid, .flags, .modSeq], uid: true, changedSince: 12345, vanished: true))
        // RFC 7162 section 3.2.6: VANISHED only with CHANGEDSINCE, only on UID FETCH.
        for bad in ["a UID FETCH 1:* FLAGS (VANISHED)", "a FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)",
                    "a UID FETCH 1:* FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", "a UID FETCH 1:* FLAGS (FOO)"] {
            guard case .failure = parse(bad) else { Issue.record("accepted: \(bad)"); continue }
        }
    }

    // MARK: - Session state (RFC 7162 sections 3.2.3, 3.2.5, 3.2.6)

    @Test func enableQResyncEnablesCondStoreAndUnlocksTheParameters() {
        func text(_ action: IMAPSessionStateMachine.Action) -> String {
            switch action {
            case .send(let bytes): String(decoding: bytes, as: UTF8.self)
            case .execute(let command, let context): "execute \(command.tag) qresync=\(context.qresync) condstore=\(context.condStore)"
            default: "\(action)"
            }
        }
        func feed(_ machine: inout IMAPSessionStateMachine, _ line: String) -> String {
            var decoder = IMAPFrameDecoder()
            decoder.append(ByteBuffer(string: line + "\r\n"))
            return text(machine.receive(decoder.next()!))
        }
        var machine = IMAPSessionStateMachine(configuration: IMAPServerConfiguration(hostname: "imap.test"), tlsAvailable: false, tlsActive: true)
        _ = machine.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        #expect(feed(&machine, "b CAPABILITY").contains(" CONDSTORE QRESYNC "))
        #expect(feed(&machine, "c SELECT INBOX (QRESYNC (1 2))") == "c BAD Use ENABLE QRESYNC first\r\n")
        #expect(!machine.qresync && !machine.condStore)
        #expect(feed(&machine, "d ENABLE QRESYNC QRESYNC") == "* ENABLED QRESYNC\r\nd OK ENABLE completed\r\n")
        #expect(machine.qresync && machine.condStore)
        #expect(feed(&machine, "e SELECT INBOX (QRESYNC (1 2))") == "execute e qresync=true condstore=true")
        _ = machine.executed(IMAPExecutionResult(output: [], selected: nil))

        var other = IMAPSessionStateMachine(configuration: IMAPServerConfiguration(hostname: "imap.test"), tlsAvailable: false, tlsActive: true)
        _ = other.loginFinished(tag: "a", agent: AgentIdentity(id: 1, name: "alice"))
        #expect(feed(&other, "b UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)") == "b BAD Use ENABLE QRESYNC first\r\n")
        #expect(feed(&other, "c ENABLE CONDSTORE QRESYNC") == "* ENABLED CONDSTORE QRESYNC\r\nc OK ENABLE completed\r\n")
    }

    // MARK: - Resynchronisation against the store

    /// RFC 7162 section 3.2.5.1: after the usual responses, VANISHED (EARLIER) for the UIDs
    /// expunged since the client's mod-sequence, then FETCH (UID FLAGS MODSEQ) for the
    /// messages changed since; the tagged OK last.
    @Test func selectReportsWhatVanishedAndChangedSince() throws {
        var first = fixture.session()
        let (uidValidity, highest) = try state(first.run("a SELECT INBOX"))
        flagElsewhere("2", "\\Flagged")
        expungeElsewhere("4")

        var session = qresyncSession()
        let select = lines(session.run("A02 SELECT INBOX (QRESYNC (\(uidValidity) \(highest)))"))
        let vanished = try #require(select.firstIndex(of: "* VANISHED (EARLIER) 4"), "\(select)")
        let fetch = try #require(select.firstIndex { $0.hasPrefix("* 2 FETCH (UID 2 MODSEQ (") && $0.hasSuffix("FLAGS (\\Flagged))") },
                                 "\(select)")
        let highestLine = try #require(select.firstIndex { $0.hasPrefix("* OK [HIGHESTMODSEQ ") })
        #expect(highestLine < vanished && vanished < fetch && fetch == select.count - 2)
        #expect(select.last == "A02 OK [READ-WRITE] SELECT completed")
        #expect(select.count { $0.contains(" FETCH ") } == 1, "only the changed message: \(select)")
        #expect(select.contains("* 4 EXISTS"))

        // Up to date: nothing more to say.
        let (_, now) = try state(select.joined(separator: "\r\n"))
        var again = qresyncSession()
        let quiet = again.run("b EXAMINE INBOX (QRESYNC (\(uidValidity) \(now) 1:5))")
        #expect(!quiet.contains("VANISHED") && !quiet.contains(" FETCH "), "\(quiet)")
        // A changed UIDVALIDITY: the client starts afresh and is told nothing more.
        var stale = qresyncSession()
        let fresh = stale.run("c EXAMINE INBOX (QRESYNC (\(uidValidity &+ 1) \(highest)))")
        #expect(!fresh.contains("VANISHED") && !fresh.contains(" FETCH "), "\(fresh)")
    }

    /// RFC 7162 section 3.2.5.1: only the known UIDs are reported; section 3.2.5.2: a pair
    /// of the sequence match data that still holds shows the client saw every expunge up
    /// to it. No tombstones are kept: every known UID that is gone is reported when
    /// anything was expunged after the client's mod-sequence, and none when nothing was.
    @Test func knownUIDsAndSequenceMatchDataNarrowTheReport() throws {
        var first = fixture.session()
        let (uidValidity, highest) = try state(first.run("a SELECT INBOX"))
        expungeElsewhere("1,4")

        var session = qresyncSession()
        #expect(lines(session.run("a EXAMINE INBOX (QRESYNC (\(uidValidity) \(highest)))")).contains("* VANISHED (EARLIER) 1,4"))
        #expect(lines(session.run("b EXAMINE INBOX (QRESYNC (\(uidValidity) \(highest) 2:5))")).contains("* VANISHED (EARLIER) 4"))
        // The client knows message 1 is UID 2 and message 2 is UID 3: it saw UID 1 go.
        #expect(lines(session.run("c EXAMINE INBOX (QRESYNC (\(uidValidity) \(highest) 1:5 (1:2 2:3)))")).contains("* VANISHED (EARLIER) 4"))
        // A pair that does not hold (message 3 is UID 5 now) stops the narrowing there.
        #expect(lines(session.run("d EXAMINE INBOX (QRESYNC (\(uidValidity) \(highest) 1:5 (1,3 2,4)))")).contains("* VANISHED (EARLIER) 4"))
        #expect(lines(session.run("e EXAMINE INBOX (QRESYNC (\(uidValidity) \(highest) 1:5 (2,3 2,4)))")).contains("* VANISHED (EARLIER) 1,4"))

        // Expunges before the client's mod-sequence are not reported again.
        let (_, after) = try state(session.run("f EXAMINE INBOX"))
        let later = session.run("g EXAMINE INBOX (QRESYNC (\(uidValidity) \(after) 1:5))")
        #expect(!later.contains("VANISHED"), "\(later)")
    }

    /// RFC 7162 section 3.2.11: a SELECT that closes the selected mailbox says so first.
    @Test func selectingAnotherMailboxSaysClosed() throws {
        var session = fixture.session()
        #expect(!session.run("a SELECT INBOX").contains("CLOSED"))
        let next = lines(session.run("b EXAMINE Archive"))
        #expect(next.first == "* OK [CLOSED] Previous mailbox closed")
        #expect(lines(session.run("c SELECT Nowhere")) == ["* OK [CLOSED] Previous mailbox closed", "c NO [NONEXISTENT] No such mailbox Nowhere"])
        #expect(!session.run("d SELECT INBOX").contains("CLOSED"), "nothing was selected after the failed SELECT")
    }

    /// RFC 7162 sections 3.2.7 to 3.2.10: with QRESYNC, expunges are reported as VANISHED,
    /// never EXPUNGE: the session's own (EXPUNGE, UID EXPUNGE, MOVE) and others' (here at
    /// NOOP); EXPUNGE's OK carries HIGHESTMODSEQ; CLOSE says nothing but OK.
    @Test func expungesAreReportedAsVanished() throws {
        var session = qresyncSession()
        _ = session.run("a SELECT INBOX")
        _ = session.run("b STORE 2:3 +FLAGS.SILENT (\\Deleted)")
        let expunge = lines(session.run("c EXPUNGE"))
        #expect(expunge.first == "* VANISHED 2:3", "\(expunge)")
        #expect(expunge.last?.hasPrefix("c OK [HIGHESTMODSEQ ") == true, "\(expunge)")
        #expect(!expunge.contains { $0.hasSuffix(" EXPUNGE") })

        expungeElsewhere("5")
        #expect(lines(session.run("d NOOP")) == ["* VANISHED 5", "d OK NOOP completed"])
        let move = lines(session.run("e UID MOVE 1 Archive"))
        #expect(move.contains("* VANISHED 1") && !move.contains { $0.hasSuffix(" EXPUNGE") }, "\(move)")

        _ = session.run("f STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(lines(session.run("g CLOSE")) == ["g OK CLOSE completed"])

        var plain = fixture.session()
        _ = plain.run("h SELECT Archive")
        _ = plain.run("i STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(lines(plain.run("j EXPUNGE")) == ["* 1 EXPUNGE", "j OK EXPUNGE completed"], "without QRESYNC, as before")
    }

    /// RFC 7162 section 3.2.6: `UID FETCH … (CHANGEDSINCE m VANISHED)` reports the UIDs of
    /// the set gone since m before the FETCHes of what changed; none when nothing was
    /// expunged after m. An expunge held back from this session is not reported as gone.
    @Test func uidFetchVanishedReportsTheGoneUIDsOfTheSet() throws {
        var session = qresyncSession()
        let (_, highest) = try state(session.run("a SELECT INBOX"))
        flagElsewhere("3", "\\Seen")
        let unchanged = lines(session.run("b UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(highest) VANISHED)"))
        #expect(!unchanged.contains { $0.contains("VANISHED") }, "\(unchanged)")
        #expect(unchanged.contains { $0.hasPrefix("* 3 FETCH (UID 3 ") })

        _ = session.run("c UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = session.run("d UID EXPUNGE 2")
        expungeElsewhere("5")
        let fetch = lines(session.run("e UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(highest) VANISHED)"))
        let vanished = try #require(fetch.firstIndex(of: "* VANISHED (EARLIER) 2"), "UID 5 is still in this session's view: \(fetch)")
        #expect(fetch.firstIndex { $0.contains(" FETCH (UID 3 ") }.map { $0 > vanished } == true, "\(fetch)")
        #expect(fetch.last == "e OK FETCH completed")
        #expect(lines(session.run("f NOOP")) == ["* VANISHED 5", "f OK NOOP completed"])
        let later = lines(session.run("g UID FETCH 1:4 (FLAGS) (CHANGEDSINCE \(highest) VANISHED)"))
        #expect(later.first == "* VANISHED (EARLIER) 2", "the set bounds the report: \(later)")
    }

    /// RFC 7162 section 3.2: while a FETCH holds an expunge back, the session's HIGHESTMODSEQ
    /// stays below it (a client resyncing from it must still hear of the expunge); it moves
    /// on once the expunge is reported.
    @Test func highestModSeqStaysBelowAnExpungeHeldBack() throws {
        var session = qresyncSession()
        let (uidValidity, before) = try state(session.run("a SELECT INBOX"))
        flagElsewhere("3", "\\Seen")
        expungeElsewhere("5")
        let fetch = session.run("b FETCH 1:* (FLAGS) (CHANGEDSINCE \(before))")
        #expect(!fetch.contains("VANISHED"), "held back during FETCH: \(fetch)")
        #expect(session.context.selected?.highestModSeq == before)
        #expect(lines(session.run("c NOOP")).first == "* VANISHED 5")
        let after = try #require(session.context.selected?.highestModSeq)
        #expect(after > before)
        // Resyncing from the value before reports the expunge.
        var next = qresyncSession()
        #expect(next.run("d EXAMINE INBOX (QRESYNC (\(uidValidity) \(before)))").contains("* VANISHED (EARLIER) 5"))
    }

    /// RFC 7162 section 3.2.10: an expunge another process made reaches an idling session
    /// as VANISHED (the IDLE poll), several in one response.
    @Test func idleReportsExpungesAsVanished() {
        let store = InMemoryIMAPStore()
        for index in 1...3 { _ = store.deliver(sampleMessage.replacingOccurrences(of: "<order-1234@", with: "<i\(index)@")) }
        var session = IMAPTestSession(executor: IMAPCommandExecutor(store: store),
                                      context: IMAPSessionContext(agent: store.agent, selected: nil, condStore: true, qresync: true))
        _ = session.run("a SELECT INBOX")
        store.vanish(2)
        #expect(session.poll() == "* VANISHED 2\r\n")
        store.vanish(1)
        store.vanish(3)
        #expect(session.poll() == "* VANISHED 1,3\r\n")
        #expect(session.context.selected?.messages.isEmpty == true)
    }
}
