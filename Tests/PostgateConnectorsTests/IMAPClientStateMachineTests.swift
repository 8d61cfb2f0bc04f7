import Foundation
import NIOCore
import Testing
@testable import PostgateConnectors

/// The IMAP client's command sequence and outcomes, without any I/O.
@Suite struct IMAPClientStateMachineTests {
    typealias Machine = IMAPClientStateMachine

    private static let capabilities = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER"

    /// The text of each piece sent, in order.
    private func sent(_ actions: [Machine.Action]) -> [String] {
        actions.compactMap { if case .send(let command) = $0 { command.text } else { nil } }
    }

    private func line(_ text: String) -> IMAPClientEvent {
        var buffer = ByteBuffer(string: text + "\r\n")
        var framer = IMAPResponseFramer()
        do {
            guard let event = try framer.next(&buffer) else {
                Issue.record("not one response: \(text)")
                return .tlsEstablished
            }
            return event
        } catch {
            Issue.record("\(text): \(error)")
            return .tlsEstablished
        }
    }

    private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// Connected over implicit TLS, the greeting carrying `capabilities`.
    private func connected(_ capabilities: String = capabilities) -> Machine {
        var m = Machine(tlsMode: .implicit)
        #expect(m.receive(.tlsEstablished) == [])
        #expect(m.receive(line("* OK [CAPABILITY \(capabilities)] ready")) == [.succeed(.connected)])
        return m
    }

    /// Authenticated with PLAIN (capabilities in the OK), a mailbox selected.
    private func selected(_ capabilities: String = capabilities) -> Machine {
        var m = connected(capabilities)
        #expect(sent(m.authenticate(.password(user: "alice", password: "pw"))).count == 1)
        #expect(m.receive(line("A1 OK [CAPABILITY \(capabilities)] Logged in")) == [.succeed(.authenticated)])
        #expect(sent(m.command(.select("INBOX", readOnly: false))) == ["A2 SELECT \"INBOX\"\r\n"])
        _ = m.receive(line("* 3 EXISTS"))
        _ = m.receive(line("* OK [UIDVALIDITY 77] UIDs valid"))
        guard case .succeed(.selected) = m.receive(line("A2 OK [READ-WRITE] Select completed")).first else {
            Issue.record("not selected")
            return m
        }
        return m
    }

    // MARK: Connecting

    @Test func implicitTLSWithCapabilitiesInTheGreeting() {
        let m = connected()
        #expect(m.tlsActive)
        #expect(m.stage == .notAuthenticated)
        #expect(m.capabilities.contains("AUTH=PLAIN"))
    }

    @Test func implicitTLSWithoutHandshakeIsRefused() {
        var m = Machine(tlsMode: .implicit)
        #expect(m.receive(line("* OK ready")) == [.fail(.tlsFailed("the greeting came without TLS")), .close])
    }

    @Test func byeGreetingEndsTheSession() {
        var m = Machine(tlsMode: .none)
        #expect(m.receive(line("* BYE too many connections")) == [
            .fail(.connectionClosed("the server refused the session: BYE too many connections")), .close,
        ])
    }

    @Test func startTLSThenCapabilitiesAskedAgain() {
        var m = Machine(tlsMode: .startTLS)
        #expect(sent(m.receive(line("* OK ready"))) == ["A1 CAPABILITY\r\n"])
        #expect(m.receive(line("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED")) == [])
        let startTLS = m.receive(line("A1 OK done"))
        guard case .send(let command) = startTLS.first else {
            Issue.record("no STARTTLS: \(startTLS)")
            return
        }
        #expect(command.text == "A2 STARTTLS\r\n")
        #expect(command.startsTLS)
        #expect(m.receive(line("A2 OK Begin TLS negotiation now.")) == [.startTLS])
        #expect(m.stage == .tlsHandshake)
        #expect(sent(m.receive(.tlsEstablished)) == ["A3 CAPABILITY\r\n"])
        #expect(m.capabilities.isEmpty, "what the server said before TLS is not kept")
        _ = m.receive(line("* CAPABILITY IMAP4rev1 AUTH=PLAIN"))
        #expect(m.receive(line("A3 OK done")) == [.succeed(.connected)])
        #expect(m.tlsActive)
        #expect(m.capabilities == ["IMAP4REV1", "AUTH=PLAIN"])
    }

    @Test func startTLSNotOfferedFailsTheConnection() {
        var m = Machine(tlsMode: .startTLS)
        #expect(m.receive(line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready")) == [.fail(.tlsFailed("the server does not offer STARTTLS")), .close])
    }

    @Test func startTLSRefusedFailsTheConnection() {
        var m = Machine(tlsMode: .startTLS)
        _ = m.receive(line("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready"))
        #expect(m.receive(line("A1 NO not now")) == [.fail(.tlsFailed("the server refused STARTTLS: NO not now")), .close])
    }

    @Test func preauthBeforeSTARTTLSIsRefused() {
        var m = Machine(tlsMode: .startTLS)
        #expect(m.receive(line("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome")) == [
            .fail(.tlsFailed("the server authenticated the connection before STARTTLS")), .close,
        ])
    }

    @Test func preauthGreetingIsAuthenticatedAlready() {
        var m = Machine(tlsMode: .implicit)
        _ = m.receive(.tlsEstablished)
        #expect(m.receive(line("* PREAUTH [CAPABILITY IMAP4rev1 IDLE] welcome back")) == [.succeed(.connected)])
        #expect(m.stage == .authenticated)
        #expect(m.authenticate(.password(user: "a", password: "b")) == [.succeed(.authenticated)], "nothing is sent")
        #expect(sent(m.command(.list(reference: "", pattern: "*"))) == ["A1 LIST \"\" \"*\"\r\n"])
    }

    // MARK: Authenticating

    @Test func noCredentialsWithoutTLSUnlessAllowed() {
        var m = Machine(tlsMode: .none)
        _ = m.receive(line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready"))
        #expect(m.authenticate(.password(user: "alice", password: "pw")) == [.fail(.plaintextAuthenticationRefused)])
        #expect(m.stage == .notAuthenticated)
        var allowed = Machine(tlsMode: .none, allowPlaintextAuthentication: true)
        _ = allowed.receive(line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready"))
        #expect(sent(allowed.authenticate(.password(user: "alice", password: "pw"))) == ["A1 AUTHENTICATE PLAIN\r\n"])
    }

    @Test func plainWithInitialResponseThenCapabilitiesAskedAgain() {
        var m = connected()
        let actions = m.authenticate(.password(user: "alice", password: "secret pw"))
        guard case .send(let command) = actions.first else {
            Issue.record("nothing sent")
            return
        }
        #expect(command.text == "A1 AUTHENTICATE PLAIN \(base64("\0alice\0secret pw"))\r\n")
        #expect(command.logText == "A1 AUTHENTICATE PLAIN …", "the credentials are never logged")
        #expect(sent(m.receive(line("A1 OK Logged in"))) == ["A2 CAPABILITY\r\n"])
        _ = m.receive(line("* CAPABILITY IMAP4rev1 MOVE IDLE"))
        #expect(m.receive(line("A2 OK done")) == [.succeed(.authenticated)])
        #expect(m.stage == .authenticated)
        #expect(m.capabilities.contains("MOVE"))
    }

    @Test func plainWithoutSASLIRWaitsForTheContinuation() {
        var m = connected("IMAP4rev1 AUTH=PLAIN")
        #expect(sent(m.authenticate(.password(user: "alice", password: "pw"))) == ["A1 AUTHENTICATE PLAIN\r\n"])
        #expect(sent(m.receive(line("+ "))) == ["\(base64("\0alice\0pw"))\r\n"])
        #expect(m.receive(line("A1 OK [CAPABILITY IMAP4rev1] Logged in")) == [.succeed(.authenticated)])
    }

    @Test func loginQuotesAndUsesLiteralsForWhatCannotBeQuoted() {
        var m = connected("IMAP4rev1")
        let actions = m.authenticate(.password(user: "al\"ice", password: "pä\\ss"))
        #expect(sent(actions) == ["A1 LOGIN \"al\\\"ice\" {6}\r\n"])
        #expect(m.stage == .authenticating)
        // The synchronizing literal goes out after the server's continuation (RFC 9051 section 4.3).
        let rest = m.receive(line("+ Ready for literal data"))
        guard case .send(let password) = rest.first else {
            Issue.record("the password was not sent: \(rest)")
            return
        }
        #expect(password.text == "pä\\ss\r\n")
        #expect(password.logText == "…")
        #expect(m.receive(line("A1 NO [AUTHENTICATIONFAILED] Authentication failed.")) == [
            .fail(.authenticationFailed("[AUTHENTICATIONFAILED] Authentication failed.")),
        ])
        #expect(m.stage == .notAuthenticated, "a refused login leaves the session open for another try")
        let withLiteralPlus = connected("IMAP4rev1 LITERAL+")
        var plus = withLiteralPlus
        let oneLine = plus.authenticate(.login(user: "alice", password: "pä"))
        #expect(sent(oneLine) == ["A1 LOGIN \"alice\" {3+}\r\npä\r\n"])
        guard case .send(let login) = oneLine.first else { return }
        #expect(!login.logText.contains("pä"))
    }

    @Test func loginDisabledIsNotTried() {
        var m = connected("IMAP4rev1 LOGINDISABLED")
        #expect(m.authenticate(.login(user: "a", password: "b")) == [.fail(.unsupported("LOGIN is disabled (LOGINDISABLED)"))])
        #expect(m.authenticate(.xoauth2(user: "a", token: "b")) == [.fail(.unsupported("AUTH=XOAUTH2"))])
    }

    @Test func xoauth2FailureAnswersTheErrorChallengeAndReportsIt() {
        var m = connected()
        let json = #"{"status":"401","schemes":"bearer","scope":"https://mail.example.com/"}"#
        #expect(sent(m.authenticate(.xoauth2(user: "alice@example.com", token: "ya29.token"))) == [
            "A1 AUTHENTICATE XOAUTH2 \(base64("user=alice@example.com\u{1}auth=Bearer ya29.token\u{1}\u{1}"))\r\n",
        ])
        #expect(sent(m.receive(line("+ \(base64(json))"))) == ["\r\n"], "an empty response ends the exchange")
        #expect(m.receive(line("A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")) == [
            .fail(.authenticationFailed("[AUTHENTICATIONFAILED] Invalid credentials (Failure) (status 401, scope https://mail.example.com/)")),
        ])
        #expect(IMAPClientError.authenticationFailed("[AUTHENTICATIONFAILED] x").description == "authentication failed: [AUTHENTICATIONFAILED] x")
    }

    @Test func aChallengeThatIsNoOAuthErrorStaysOneLine() {
        #expect(ConnectorSASL.printable(base64("bad\n  news\r\n")) == "bad   news  ")
        #expect(ConnectorSASL.printable("not base64!") == "not base64!")
    }

    @Test func oauthBearerWithoutSASLIR() {
        var m = connected("IMAP4rev1 AUTH=OAUTHBEARER")
        #expect(sent(m.authenticate(.oauthBearer(user: "a,b=c", token: "t"))) == ["A1 AUTHENTICATE OAUTHBEARER\r\n"])
        #expect(sent(m.receive(line("+"))) == ["\(base64("n,a=a=2Cb=3Dc,\u{1}auth=Bearer t\u{1}\u{1}"))\r\n"])
        // RFC 7628 section 3.2.3: after an error challenge the client sends %x01.
        #expect(sent(m.receive(line("+ \(base64(#"{"status":"invalid_token"}"#))"))) == ["AQ==\r\n"])
        #expect(m.receive(line("A1 NO failed")) == [.fail(.authenticationFailed("failed (status invalid_token)"))])
    }

    // MARK: Mailboxes

    @Test func listWithSpecialUse() {
        var m = connected("IMAP4rev1 SPECIAL-USE")
        _ = m.authenticate(.password(user: "a", password: "b"))
        _ = m.receive(line("A1 OK [CAPABILITY IMAP4rev1 SPECIAL-USE] ok"))
        #expect(sent(m.command(.list(reference: "", pattern: "*"))) == ["A2 LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n"])
        _ = m.receive(line("* LIST (\\HasNoChildren) \".\" INBOX"))
        _ = m.receive(line("* LIST (\\HasNoChildren \\Trash) \".\" Trash"))
        _ = m.receive(line("* LIST (\\Noselect \\HasChildren) \".\" \"&AMQ-rger\""))
        let result = m.receive(line("A2 OK List completed"))
        guard case .succeed(.mailboxes(let mailboxes)) = result.first else {
            Issue.record("\(result)")
            return
        }
        #expect(mailboxes.map(\.name) == ["INBOX", "Trash", "&AMQ-rger"])
        #expect(mailboxes.map(\.specialUse) == [nil, .trash, nil])
        #expect(mailboxes.map(\.isSelectable) == [true, true, false])
        #expect(mailboxes[2].displayName == "Ärger")
        #expect(m.stage == .authenticated)
    }

    @Test func selectReportsUIDValidityUIDNextExistsAndHighestModSeq() {
        var m = connected("IMAP4rev1 CONDSTORE")
        _ = m.authenticate(.password(user: "a", password: "b"))
        _ = m.receive(line("A1 OK [CAPABILITY IMAP4rev1 CONDSTORE] ok"))
        #expect(sent(m.command(.select("Archive", readOnly: true))) == ["A2 EXAMINE \"Archive\" (CONDSTORE)\r\n"])
        for response in [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", "* 4 EXISTS", "* 0 RECENT",
            "* OK [UIDVALIDITY 1700000000] UIDs valid", "* OK [UIDNEXT 9] Predicted next UID", "* OK [HIGHESTMODSEQ 715194045007] Highest",
        ] {
            #expect(m.receive(line(response)) == [])
        }
        let expected = IMAPMailboxStatus(
            name: "Archive", uidValidity: 1_700_000_000, uidNext: 9, exists: 4, highestModSeq: 715_194_045_007,
            flags: ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"], readOnly: true
        )
        #expect(m.receive(line("A2 OK [READ-ONLY] Examine completed")) == [.succeed(.selected(expected))])
        #expect(m.selected == expected)
    }

    @Test func failedSelectLeavesNoMailboxSelectedAndTheSessionUsable() {
        var m = selected()
        #expect(sent(m.command(.select("Nope", readOnly: false))) == ["A3 SELECT \"Nope\"\r\n"])
        #expect(m.receive(line("A3 NO [NONEXISTENT] Mailbox doesn't exist: Nope")) == [
            .fail(.commandFailed(command: "SELECT", response: "NO [NONEXISTENT] Mailbox doesn't exist: Nope")),
        ])
        #expect(m.selected == nil)
        #expect(m.stage == .authenticated)
        #expect(m.command(.search([.all])) == [.fail(.protocolError("no mailbox is selected"))])
        #expect(sent(m.command(.noop)) == ["A4 NOOP\r\n"])
    }

    @Test func selectWithoutUIDValidityIsAnError() {
        var m = selected()
        _ = m.command(.select("Odd", readOnly: false))
        _ = m.receive(line("* 1 EXISTS"))
        #expect(m.receive(line("A3 OK done")) == [.fail(.protocolError("SELECT Odd gave no UIDVALIDITY"))])
    }

    // MARK: Messages

    @Test func uidSearchFromUIDLeavesOutTheLastMessageBelowIt() {
        var m = selected()
        #expect(sent(m.command(.search([.uid(.from(10))]))) == ["A3 UID SEARCH UID 10:*\r\n"])
        _ = m.receive(line("* SEARCH 7"))
        #expect(m.receive(line("A3 OK Search completed")) == [.succeed(.uids([])) ], "UID 10:* matched the last message, UID 7")
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(sent(m.command(.search([.uid(.from(10)), .since(since), .unseen]))) == ["A4 UID SEARCH UID 10:* SINCE 14-Nov-2023 UNSEEN\r\n"])
        _ = m.receive(line("* SEARCH 12 7 10"))
        #expect(m.receive(line("A4 OK Search completed")) == [.succeed(.uids([10, 12]))])
    }

    @Test func emptyUIDSetsAskTheServerNothing() {
        var m = selected()
        #expect(m.command(.search([.uid(.uids([]))])) == [.succeed(.uids([]))])
        #expect(m.command(.fetchInfo(.uids([]))) == [.succeed(.messages([]))])
        #expect(m.command(.addFlags(["\\Seen"], uids: [])) == [.succeed(.done)])
        #expect(m.command(.move(uids: [], to: "Archive")) == [.succeed(.done)])
        #expect(sent(m.command(.noop)) == ["A3 NOOP\r\n"], "no tag was used")
    }

    @Test func uidSetsOnTheWire() {
        #expect(IMAPUIDSet.uids([9, 1, 2, 3, 5, 3, 10]).wire == "1:3,5,9:10")
        #expect(IMAPUIDSet.uids([UInt32.max, UInt32.max - 1]).wire == "4294967294:4294967295")
        #expect(IMAPUIDSet.range(4...4).wire == "4")
        #expect(IMAPUIDSet.range(4...9).wire == "4:9")
        #expect(IMAPUIDSet.from(7).wire == "7:*")
        #expect(IMAPUIDSet.from(7).contains(7) && !IMAPUIDSet.from(7).contains(6))
    }

    @Test func credentialsPrintWithoutTheirSecret() {
        let shown = ["\(IMAPCredentials.password(user: "alice", password: "hunter2"))", String(reflecting: IMAPCredentials.xoauth2(user: "alice", token: "ya29.secret"))]
        #expect(shown == ["password for alice", "XOAUTH2 token for alice"])
        #expect("\(POP3Credentials.oauthBearer(user: "bob", token: "tok"))" == "OAUTHBEARER token for bob")
    }

    @Test func fetchListingKeepsOnlyTheAskedUIDs() {
        var m = selected()
        #expect(sent(m.command(.fetchInfo(.from(5)))) == ["A3 UID FETCH 5:* (UID RFC822.SIZE INTERNALDATE FLAGS)\r\n"])
        _ = m.receive(line("* 1 FETCH (UID 4 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2024 00:00:00 +0000\" FLAGS ())"))
        _ = m.receive(line("* 2 FETCH (UID 5 RFC822.SIZE 1234 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" FLAGS (\\Seen))"))
        _ = m.receive(line("* 3 FETCH (FLAGS (\\Flagged) UID 6)"))
        _ = m.receive(line("* 3 FETCH (UID 6 RFC822.SIZE 99 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" FLAGS (\\Flagged \\Seen))"))
        #expect(m.receive(line("A3 OK Fetch completed")) == [.succeed(.messages([
            IMAPMessageInfo(uid: 5, size: 1234, internalDate: Date(timeIntervalSince1970: 837_596_665), flags: ["\\Seen"]),
            IMAPMessageInfo(uid: 6, size: 99, internalDate: Date(timeIntervalSince1970: 837_596_665), flags: ["\\Flagged", "\\Seen"]),
        ]))])
        #expect(sent(m.command(.fetchInfo(.uids([3, 1, 2, 9])))) == ["A4 UID FETCH 1:3,9 (UID RFC822.SIZE INTERNALDATE FLAGS)\r\n"])
    }

    @Test func streamedBodyIsDeliveredChunkByChunk() {
        var m = selected()
        #expect(sent(m.command(.fetchMessage(uid: 5, maxSize: nil))) == ["A3 UID FETCH 5 (UID BODY.PEEK[])\r\n"])
        #expect(m.receive(.literalStart(head: "* 2 FETCH (UID 5 BODY[] {10}", size: 10)) == [])
        let first = ByteBuffer(string: "Subject: ")
        let second = ByteBuffer(string: "x")
        #expect(m.receive(.literalChunk(first)) == [.deliver(first)])
        #expect(m.receive(.literalChunk(second)) == [.deliver(second)])
        #expect(m.receive(.streamedResponse(.untagged(.fetch(2, IMAPFetchAttributes(uid: 5, body: .streamed(10)))))) == [])
        #expect(m.receive(line("A3 OK Fetch completed")) == [.succeed(.fetched(.fetched(size: 10)))])
    }

    @Test func smallBodyComesInOnePiece() {
        var m = selected()
        _ = m.command(.fetchMessage(uid: 5, maxSize: nil))
        #expect(m.receive(line("* 2 FETCH (UID 5 BODY[] {2}\r\nHi)")) == [.deliver(ByteBuffer(string: "Hi"))])
        #expect(m.receive(line("A3 OK done")) == [.succeed(.fetched(.fetched(size: 2)))])
    }

    @Test func sizeLimitChecksRFC822SizeFirst() {
        var m = selected()
        #expect(sent(m.command(.fetchMessage(uid: 5, maxSize: 1000))) == ["A3 UID FETCH 5 (UID RFC822.SIZE)\r\n"])
        _ = m.receive(line("* 2 FETCH (UID 5 RFC822.SIZE 4000)"))
        #expect(m.receive(line("A3 OK done")) == [.succeed(.fetched(.tooLarge(size: 4000)))], "the body is never asked for")
        _ = m.command(.fetchMessage(uid: 6, maxSize: 1000))
        _ = m.receive(line("* 3 FETCH (UID 6 RFC822.SIZE 10)"))
        #expect(sent(m.receive(line("A4 OK done"))) == ["A5 UID FETCH 6 (UID BODY.PEEK[])\r\n"])
        // A server whose size was wrong: the body is larger than the limit and dropped.
        #expect(m.receive(.literalStart(head: "* 3 FETCH (UID 6 BODY[] {2000}", size: 2000)) == [])
        #expect(m.receive(.literalChunk(ByteBuffer(repeating: 0x41, count: 2000))) == [])
        _ = m.receive(.streamedResponse(.untagged(.fetch(3, IMAPFetchAttributes(uid: 6, body: .streamed(2000))))))
        #expect(m.receive(line("A5 OK done")) == [.succeed(.fetched(.tooLarge(size: 2000)))])
        _ = m.command(.fetchMessage(uid: 99, maxSize: 1000))
        #expect(m.receive(line("A6 OK no such message")) == [.succeed(.fetched(.notFound))])
    }

    @Test func bodyOfAnotherUIDOrAnUnaskedLiteralIsAProtocolError() {
        var m = selected()
        _ = m.command(.fetchMessage(uid: 5, maxSize: nil))
        #expect(m.receive(.literalStart(head: "* 2 FETCH (UID 8 BODY[] {100000}", size: 100_000)) == [
            .fail(.protocolError("the body of UID 8 came for UID 5")), .close,
        ])
        var other = selected()
        _ = other.command(.list(reference: "", pattern: "*"))
        let result = other.receive(.literalStart(head: "* LIST () \".\" {100000}", size: 100_000))
        #expect(result.last == .close)
    }

    @Test func taggedBADFailsTheCommandOnly() {
        var m = selected()
        _ = m.command(.addFlags(["\\Seen"], uids: [3, 4, 5, 9]))
        #expect(m.receive(line("A3 BAD Error in IMAP command UID STORE: Invalid arguments")) == [
            .fail(.commandFailed(command: "UID STORE", response: "BAD Error in IMAP command UID STORE: Invalid arguments")),
        ])
        #expect(sent(m.command(.addFlags(["\\Seen"], uids: [3, 4, 5, 9]))) == ["A4 UID STORE 3:5,9 +FLAGS.SILENT (\\Seen)\r\n"])
        #expect(m.receive(line("A4 OK Store completed")) == [.succeed(.done)])
    }

    @Test func moveWithMOVE() {
        var m = selected("IMAP4rev1 MOVE UIDPLUS")
        #expect(sent(m.command(.move(uids: [7], to: "Archive"))) == ["A3 UID MOVE 7 \"Archive\"\r\n"])
        _ = m.receive(line("* OK [COPYUID 1700000001 7 1] Moved UIDs."))
        _ = m.receive(line("* 1 EXPUNGE"))
        #expect(m.receive(line("A3 OK Move completed")) == [.succeed(.done)])
        #expect(m.selected?.exists == 2)
    }

    @Test func moveWithoutMOVEIsCopyStoreUIDExpunge() {
        var m = selected("IMAP4rev1 UIDPLUS")
        #expect(sent(m.command(.move(uids: [7, 8], to: "Archive"))) == ["A3 UID COPY 7:8 \"Archive\"\r\n"])
        #expect(sent(m.receive(line("A3 OK [COPYUID 1 7:8 1:2] Copy completed"))) == ["A4 UID STORE 7:8 +FLAGS.SILENT (\\Deleted)\r\n"])
        #expect(sent(m.receive(line("A4 OK Store completed"))) == ["A5 UID EXPUNGE 7:8\r\n"])
        #expect(m.receive(line("A5 OK Expunge completed")) == [.succeed(.done)])
        var plain = selected("IMAP4rev1")
        #expect(plain.command(.move(uids: [7], to: "Archive")) == [.fail(.unsupported("neither MOVE (RFC 6851) nor UIDPLUS (RFC 4315)"))])
        var failing = selected("IMAP4rev1 UIDPLUS")
        _ = failing.command(.move(uids: [7], to: "Nope"))
        #expect(failing.receive(line("A3 NO [TRYCREATE] Mailbox doesn't exist: Nope")) == [
            .fail(.commandFailed(command: "UID COPY", response: "NO [TRYCREATE] Mailbox doesn't exist: Nope")),
        ], "nothing is deleted when the copy failed")
    }

    // MARK: IDLE

    @Test func idleEndsWithDONEWhenMessagesArrive() {
        var m = selected()
        let start = m.command(.idle(seconds: 600))
        guard case .send(let command) = start.first else {
            Issue.record("\(start)")
            return
        }
        #expect(command.text == "A3 IDLE\r\n")
        #expect(command.timing == .idle(seconds: 600))
        #expect(m.receive(line("+ idling")) == [.idling])
        #expect(m.receive(line("* OK Still here")) == [])
        #expect(sent(m.receive(line("* 4 EXISTS"))) == ["DONE\r\n"])
        #expect(m.receive(line("* 5 EXISTS")) == [], "DONE goes out once")
        #expect(m.receive(.idleTimerFired) == [], "the caller's time no longer matters")
        #expect(m.receive(line("A3 OK Idle completed")) == [.succeed(.idle(.mailboxChanged(exists: 5)))])
        #expect(m.stage == .authenticated)
    }

    @Test func idleEndsWithDONEWhenTheCallersTimePasses() {
        var m = selected()
        _ = m.command(.idle(seconds: 1))
        #expect(m.receive(.idleTimerFired) == [], "the timer only counts once the server idles")
        #expect(m.receive(line("+ idling")) == [.idling])
        #expect(sent(m.receive(.idleTimerFired)) == ["DONE\r\n"])
        #expect(m.receive(line("A3 OK Idle completed")) == [.succeed(.idle(.timedOut))])
    }

    @Test func idleNeedsTheExtension() {
        var m = selected("IMAP4rev1")
        #expect(m.command(.idle(seconds: 1)) == [.fail(.unsupported("IDLE (RFC 2177)"))])
    }

    // MARK: Ending

    @Test func logoutSucceedsWhenTheServerCloses() {
        var m = selected()
        #expect(sent(m.command(.logout)) == ["A3 LOGOUT\r\n"])
        #expect(m.receive(line("* BYE Logging out")) == [])
        #expect(m.connectionClosed(.connectionClosed("the server closed the connection")) == [.succeed(.done)])
    }

    @Test func byeThenCloseIsReportedWithTheServersText() {
        var m = selected()
        _ = m.command(.noop)
        _ = m.receive(line("* BYE [UNAVAILABLE] Server shutting down."))
        #expect(m.connectionClosed(.connectionClosed("the server closed the connection")) == [
            .fail(.connectionClosed("the server ended the session: BYE [UNAVAILABLE] Server shutting down.")),
        ])
        #expect(m.stage == .closed)
    }

    @Test func responseWithAnotherTagIsAProtocolError() {
        var m = selected()
        _ = m.command(.noop)
        #expect(m.receive(line("A9 OK what")) == [.fail(.protocolError("a response tagged A9 while waiting for the response to NOOP")), .close])
    }
}
