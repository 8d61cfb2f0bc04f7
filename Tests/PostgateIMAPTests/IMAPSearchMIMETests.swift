import Foundation
import Testing
@testable import PostgateIMAP

/// SEARCH on decoded text (RFC 9051 section 6.4.4), RFC 5256 base subjects and threads,
/// body sections of a message/rfc822 body (RFC 3501 section 6.4.5), BODYSTRUCTURE and
/// ENVELOPE details (section 7.4.2).
@Suite struct IMAPSearchMIMETests {
    static let encodedHeaders = """
        From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <juergen@example.de>\r
        To: support@acme.test\r
        Subject: =?iso-8859-1?Q?Lieferung_nach_K=F6ln?=\r
        Message-ID: <m1@example.de>\r
        Content-Type: text/plain; charset=iso-8859-1\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        Viele Gr=FC=DFe aus K=F6ln\r

        """
    static let base64Body = """
        From: anna@example.com (Anna Admin)\r
        To: support@acme.test\r
        Subject: =?utf-8?B?UmU6IEJlc3RlbGx1bmcg?=\r
         =?utf-8?B?S8O2bG4=?=\r
        Message-ID: <m2@example.com>\r
        References: <m1@example.de>\r
        Content-Type: text/plain; charset=utf-8\r
        Content-Transfer-Encoding: base64\r
        \r
        R3LDvMOfZSB1bmQgRGFuaywgQW5uYQ==\r

        """
    static let windows1252 = """
        From: Bernd <bernd(the boss)@example.net>\r
        Subject: [fwd: Lieferung nach Koeln]\r
        Content-Type: text/plain; charset=windows-1252\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        Preis: 20 =80, =93Gr=FC=DFe=94\r

        """

    private func append(_ messages: [String], to session: inout IMAPTestSession<some IMAPMailStore>) {
        for message in messages {
            _ = session.run("a APPEND INBOX {\(message.utf8.count)+}\r\n\(message)")
        }
        _ = session.run("s SELECT INBOX")
    }

    private func search(_ session: inout IMAPTestSession<some IMAPMailStore>, _ key: String, _ value: String) -> String {
        session.run("t SEARCH CHARSET UTF-8 \(key) {\(value.utf8.count)+}\r\n\(value)")
    }

    @Test func searchDecodesHeadersAndBodiesAndFoldsUnicodeCase() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        append([Self.encodedHeaders, Self.base64Body, Self.windows1252], to: &session)
        #expect(search(&session, "SUBJECT", "köln").contains("* SEARCH 1 2\r\n"))
        #expect(search(&session, "SUBJECT", "KÖLN").contains("* SEARCH 1 2\r\n"))
        #expect(search(&session, "FROM", "Jürgen Müller").contains("* SEARCH 1\r\n"))
        #expect(search(&session, "FROM", "anna admin").contains("* SEARCH 2\r\n"), "a comment names the address")
        #expect(search(&session, "FROM", "bernd@example.net").contains("* SEARCH 3\r\n"), "a comment inside the address")
        #expect(search(&session, "BODY", "GRÜSSE").contains("* SEARCH\r\n"), "no folding of ß to ss, as i;unicode-casemap")
        #expect(search(&session, "BODY", "grüße").contains("* SEARCH 1 2 3\r\n"))
        #expect(search(&session, "BODY", "€, “Grüße”").contains("* SEARCH 3\r\n"))
        #expect(search(&session, "TEXT", "müller").contains("* SEARCH 1\r\n"))
        #expect(search(&session, "HEADER Subject", "bestellung").contains("* SEARCH 2\r\n"))
        #expect(session.run("u SEARCH BODY =FC").contains("* SEARCH\r\n"), "the encoded form is not the text")
    }

    @Test func searchTextIsKeptInTheIndex() {
        let store = InMemoryIMAPStore()
        var session = IMAPTestSession(executor: IMAPCommandExecutor(store: store), context: IMAPSessionContext(agent: store.agent, selected: nil))
        append([Self.encodedHeaders, Self.base64Body], to: &session)
        #expect(search(&session, "BODY", "grüße").contains("* SEARCH 1 2\r\n"))
        let reads = store.with { $0.contentReads }
        #expect(store.with { $0.searchTextStores } == 1)
        #expect(search(&session, "SUBJECT", "köln").contains("* SEARCH 1 2\r\n"))
        #expect(session.run("v SEARCH TEXT nothing-like-this").contains("* SEARCH\r\n"))
        #expect(store.with { $0.contentReads } == reads, "a second search reads no file")
    }

    @Test func baseSubjectFollowsRFC5256() {
        let cases: [(String, String, Bool)] = [
            ("Re: Fwd: [list] hello", "HELLO", true),
            ("[fwd: Re: Hello World]", "HELLO WORLD", true),
            ("Hello (fwd)", "HELLO", true),
            ("Re:   hello\t world ", "HELLO WORLD", true),
            ("[tag] [other] Re: hi", "HI", true),
            ("[only a blob]", "[ONLY A BLOB]", false),
            ("=?iso-8859-1?Q?Re=3A_K=F6ln?=", "KöLN", true),
            ("Fw : x", "X", true),
            ("Reply", "REPLY", false),
            ("Über", "ÜBER", false),
        ]
        for (subject, base, reply) in cases {
            let parsed = IMAPBaseSubject(subject)
            #expect(parsed.text == base, "\(subject)")
            #expect(parsed.isReplyOrForward == reply, "\(subject)")
        }
        #expect(IMAPBaseSubject("apple") < IMAPBaseSubject("[x] Banana"))
        #expect(IMAPBaseSubject("Z") < IMAPBaseSubject("_"), "i;ascii-casemap folds to upper case")
    }

    @Test func threadGroupsBySubjectAndSurvivesReferenceLoops() {
        let store = InMemoryIMAPStore()
        var session = IMAPTestSession(executor: IMAPCommandExecutor(store: store), context: IMAPSessionContext(agent: store.agent, selected: nil))
        func message(_ id: Int, subject: String, references: String = "", hour: Int) -> String {
            "From: a@example.com\r\nSubject: \(subject)\r\nDate: Mon, 23 Nov 2026 \(hour):00:00 +0000\r\n"
                + "Message-ID: <t\(id)@example.com>\r\n" + (references.isEmpty ? "" : "References: \(references)\r\n") + "\r\nx\r\n"
        }
        append([
            message(1, subject: "Invoice", hour: 10),
            message(2, subject: "Re: Invoice", hour: 11),  // no references: joined by subject
            message(3, subject: "Loop", references: "<t4@example.com>", hour: 12),
            message(4, subject: "Loop again", references: "<t3@example.com>", hour: 13),
            message(5, subject: "=?utf-8?Q?Re=3A_invoice?=", references: "<t1@example.com>", hour: 14),
            message(6, subject: "Other", hour: 9),
        ], to: &session)
        let thread = session.run("a THREAD REFERENCES UTF-8 ALL")
        #expect(thread.contains("* THREAD (6)(1 (2)(5))(4 3)\r\n"), "\(thread)")
        let sorted = session.run("b SORT (SUBJECT) UTF-8 ALL")
        #expect(sorted.contains("* SORT 1 2 5 3 4 6\r\n"), "\(sorted)")
    }

    static let encapsulated = """
        From: Dave <dave@example.com>\r
        Sender:\r
        Reply-To: \r
        To: <@relay.example:support@acme.test>\r
        Subject: Fwd: inner\r
        Content-Type: message/rfc822\r
        \r
        From: Eve <eve@example.com>\r
        Subject: inner\r
        Content-Type: multipart/mixed; boundary="in"\r
        \r
        --in\r
        Content-Type: text/plain\r
        \r
        inner one\r
        last line\r
        --in\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        inner two\r
        --in--\r

        """

    @Test func aMessageRFC822BodyIsPartOne() throws {
        let fixture = try IMAPStoreFixture()
        var session = fixture.session()
        append([Self.encapsulated], to: &session)
        let one = session.run("a FETCH 1 (BODY.PEEK[1])")
        #expect(one.contains("BODY[1] {") && one.contains("From: Eve <eve@example.com>\r\n") && one.contains("inner two"), "\(one)")
        let two = session.run("b FETCH 1 (BODY.PEEK[1.2])")
        #expect(two.contains("BODY[1.2] {9}\r\ninner two)"), "\(two)")
        let header = session.run("c FETCH 1 (BODY.PEEK[1.HEADER])")
        #expect(header.contains("Subject: inner\r\n") && !header.contains("Fwd"), "\(header)")
        let structure = session.run("d FETCH 1 (BODYSTRUCTURE)")
        #expect(structure.contains("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 1 NIL NIL NIL NIL)"), "\(structure)")
        let envelope = session.run("e FETCH 1 (ENVELOPE)")
        let dave = "((\"Dave\" NIL \"dave\" \"example.com\"))"
        #expect(envelope.contains("\(dave) \(dave) \(dave) ((NIL \"@relay.example\" \"support\" \"acme.test\"))"), "\(envelope)")
    }

    @Test func addressCommentsNameAddressesAndRoutesAreKept() {
        #expect(IMAPAddressParser.parse("user@example.com (Real Name)")
            == [.init(name: "Real Name", mailbox: "user", host: "example.com")])
        #expect(IMAPAddressParser.parse("\"Quoted\" <user@example.com> (ignored)")
            == [.init(name: "Quoted", mailbox: "user", host: "example.com")])
        #expect(IMAPAddressParser.parse("john(a, b)@example.com, (x) mary@example.org")
            == [.init(name: "a, b", mailbox: "john", host: "example.com"), .init(name: "x", mailbox: "mary", host: "example.org")])
        #expect(IMAPAddressParser.parse("<@a.example,@b.example:user@c.example>")
            == [.init(name: nil, route: "@a.example,@b.example", mailbox: "user", host: "c.example")])
        #expect(IMAPAddressParser.parse("team: a@example.com (A);")
            == [.init(name: nil, mailbox: "team", host: nil), .init(name: "A", mailbox: "a", host: "example.com"),
                .init(name: nil, mailbox: nil, host: nil)])
    }
}
