"""SEARCH, SORT, THREAD and FETCH on real MIME, compared with a private Dovecot in the same
run: the same messages are APPENDed to Postgate and to Dovecot, and each answer is checked
against the expected one and against Dovecot's. Encoded-word headers (RFC 2047) in
ISO-8859-1, Windows-1252 and UTF-8; quoted-printable and base64 bodies in those charsets;
address comments; RFC 5256 base subjects; a message whose whole body is message/rfc822."""

from __future__ import annotations

import imaplib
from pathlib import Path

import pytest

import dovecot
from conftest import Server, cli, free_port, insecure_tls
from test_imap import PASSWORD, add_agent, login

pytestmark = pytest.mark.skipif(not dovecot.installed(), reason="Dovecot (dovecot-imapd) is not installed")


def msg(headers: str, body: bytes | str, content_type: str = "text/plain; charset=utf-8", encoding: str = "7bit") -> bytes:
    head = headers.strip().replace("\n", "\r\n")
    if isinstance(body, str):
        body = body.replace("\n", "\r\n").encode()
    return (f"{head}\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode() + body


# Sequence numbers follow this order on both servers.
CORPUS = [
    # 1: Subject and From in ISO-8859-1 Q encoding, body quoted-printable ISO-8859-1.
    msg("From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <juergen@example.de>\nTo: support@acme.test\n"
        "Subject: =?iso-8859-1?Q?Lieferung_nach_K=F6ln?=\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
        "Message-ID: <m1@example.de>",
        "Viele Gr=FC=DFe aus K=F6ln\n", "text/plain; charset=iso-8859-1", "quoted-printable"),
    # 2: Subject in UTF-8 B encoding, split over two words; base64 UTF-8 body.
    msg("From: Anna <anna@example.com>\nTo: support@acme.test\n"
        "Subject: =?utf-8?B?UmU6IEJlc3RlbGx1bmcg?=\n =?utf-8?B?S8O2bG4=?=\nDate: Mon, 23 Nov 2026 11:00:00 +0000\n"
        "Message-ID: <m2@example.com>\nIn-Reply-To: <m1@example.de>\nReferences: <m1@example.de>",
        "R3LDvMOfZSB1bmQgRGFuaywgQW5uYQ==\n", "text/plain; charset=utf-8", "base64"),
    # 3: Windows-1252 quoted-printable body (curly quotes, euro), subject [fwd: ...] wrapped.
    msg("From: jurgen.schmidt@example.org (=?iso-8859-1?Q?J=FCrgen?= Schmidt)\nTo: support@acme.test\n"
        "Subject: [fwd: Lieferung nach =?windows-1252?Q?K=F6ln?= ]\nDate: Mon, 23 Nov 2026 09:00:00 +0000\n"
        "Message-ID: <m3@example.org>",
        "Preis: 20 =80, =93Gr=FC=DFe=94\n", "text/plain; charset=windows-1252", "quoted-printable"),
    # 4: multipart/alternative, text and HTML both base64 in ISO-8859-1; a comment inside the address.
    (b"From: Bernd <bernd(the boss)@example.net>\r\nTo: support@acme.test\r\nSubject: RE: [Ticket] AW: Rechnung\r\n"
     b"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m4@example.net>\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/alternative; boundary=\"b4\"\r\n\r\n--b4\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     b"U2No9m5lIEdy/N9lIHZvbiBCZXJuZA==\r\n--b4\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\nPHA+U2No9m5lIEdy/N9lPC9wPg==\r\n--b4--\r\n"),
    # 5: plain ASCII with the last line before the boundary lacking a line break, and a
    #    text part without a charset; an empty Sender and Reply-To.
    (b"From: Carol <carol@example.com>\r\nSender:\r\nReply-To: \r\nTo: support@acme.test\r\nSubject: Rechnung\r\n"
     b"Date: Mon, 23 Nov 2026 13:00:00 +0000\r\nMessage-ID: <m5@example.com>\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=\"b5\"\r\n\r\n--b5\r\nContent-Type: text/plain\r\n\r\n"
     b"first line\r\nsecond line\r\n--b5\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nonly line\r\n\r\n--b5--\r\n"),
    # 6: the whole body is message/rfc822, the inner message multipart; source route in To.
    (b"From: Dave <dave@example.com>\r\nTo: <@relay.example:support@acme.test>\r\nSubject: Fwd: Rechnung (fwd)\r\n"
     b"Date: Mon, 23 Nov 2026 14:00:00 +0000\r\nMessage-ID: <m6@example.com>\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: message/rfc822\r\n\r\n"
     b"From: Eve <eve@example.com>\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\ninner one\r\n"
     b"--in\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ninner two \xc3\xa4\r\n--in--\r\n"),
    # 7: references loop with 8, and same base subject as 5 without references.
    msg("From: Frank <frank@example.com>\nTo: support@acme.test\nSubject: Re: Rechnung\n"
        "Date: Mon, 23 Nov 2026 15:00:00 +0000\nMessage-ID: <m7@example.com>\nReferences: <m8@example.com>",
        "loop one\n"),
    msg("From: Gina <gina@example.com>\nTo: support@acme.test\nSubject: Schleife\n"
        "Date: Mon, 23 Nov 2026 16:00:00 +0000\nMessage-ID: <m8@example.com>\nReferences: <m7@example.com>",
        "loop two\n"),
]


class Pair:
    """A Postgate session and a Dovecot session on the same messages."""

    def __init__(self, postgate: imaplib.IMAP4, dove: imaplib.IMAP4):
        self.postgate, self.dovecot = postgate, dove

    def both(self, run):
        return run(self.postgate), run(self.dovecot)


@pytest.fixture(scope="module")
def pair(tmp_path_factory, postgate_bin):
    """One Postgate and one Dovecot holding the same corpus, shared by the module's
    read-only cases (SEARCH, SORT, THREAD and FETCH that sets no flag)."""
    data = tmp_path_factory.mktemp("search-mime") / "data"
    cli(data, "domain", "add", "acme.test")
    cli(data, "address", "add", "support@acme.test", "--name", "Acme Support", "--alias", "help@acme.test")
    add_agent(data)
    server = Server(data, free_port()).start()
    dove = dovecot.Dovecot({"alice": PASSWORD}).start()
    sessions = []
    try:
        ours = login(server)
        theirs = imaplib.IMAP4("127.0.0.1", dove.imap_port, timeout=10)
        theirs.starttls(ssl_context=insecure_tls())
        theirs.login("alice", PASSWORD)
        sessions = [ours, theirs]
        for session in sessions:
            for message in CORPUS:
                typ, data = session.append("INBOX", None, None, message)
                assert typ == "OK", data
            typ, data = session.select("INBOX")
            assert typ == "OK" and int(data[0]) == len(CORPUS), data
        yield Pair(ours, theirs)
    finally:
        for session in sessions:
            try:
                session.logout()
            except Exception:
                pass
        dove.stop()
        server.stop()


def search(imap: imaplib.IMAP4, key: str, value: str) -> list[int]:
    imap.literal = value.encode()
    typ, data = imap.search("UTF-8", key)
    assert typ == "OK", data
    return [int(n) for n in data[0].split()]


@pytest.mark.parametrize("key, value, expected", [
    ("SUBJECT", "Köln", [1, 2, 3]),
    ("SUBJECT", "KÖLN", [1, 2, 3]),
    ("FROM", "Jürgen", [1, 3]),
    ("FROM", "jürgen müller", [1]),
    ("FROM", "bernd@example.net", [4]),
    ("FROM", "Schmidt", [3]),
    ("BODY", "Grüße", [1, 2, 3, 4]),
    ("BODY", "€", [3]),
    ("BODY", "“Grüße”", [3]),
    ("BODY", "schöne", [4]),
    ("TEXT", "köln", [1, 2, 3]),
    ("TEXT", "inner two ä", [6]),
    ("BODY", "inner one", [6]),
    ("TEXT", "eve@example.com", [6]),
    ("HEADER Subject", "rechnung", [4, 5, 6, 7]),
])
def test_search_decodes_headers_and_bodies(pair: Pair, key: str, value: str, expected: list[int]):
    ours, theirs = pair.both(lambda imap: search(imap, key, value))
    assert ours == expected, (key, value, ours, theirs)
    assert ours == theirs, (key, value, ours, theirs)


def untagged(imap: imaplib.IMAP4, command: str, *args: str) -> bytes:
    typ, data = imap._simple_command(command, *args)
    assert typ == "OK", data
    _, answer = imap._untagged_response(typ, data, command)
    return answer[0] if answer else b""


def test_sort_by_base_subject(pair: Pair):
    # Base subjects: 4 "AW: RECHNUNG" (only RE, FW and FWD are reply markers), 2 "BESTELLUNG KÖLN",
    # 1 and 3 "LIEFERUNG NACH KÖLN" ([fwd: ...] unwrapped), 5, 6, 7 "RECHNUNG", 8 "SCHLEIFE".
    ours, theirs = pair.both(lambda imap: untagged(imap, "SORT", "(SUBJECT)", "UTF-8", "ALL"))
    assert ours == b"4 2 1 3 5 6 7 8", (ours, theirs)
    assert ours == theirs


def test_thread_references_groups_by_subject_and_survives_loops(pair: Pair):
    ours, theirs = pair.both(lambda imap: untagged(imap, "THREAD", "REFERENCES", "UTF-8", "ALL"))
    # 2 refers to 1; 3 ([fwd: ...]) and 6 (fwd) join the threads of their base subject; 7
    # and 8 refer to each other.
    assert ours == b"(1 (3)(2))(4)(5 6)(8 7)", (ours, theirs)
    assert ours == theirs, (ours, theirs)
    ordered = pair.both(lambda imap: untagged(imap, "THREAD", "ORDEREDSUBJECT", "UTF-8", "ALL"))
    assert ordered[0] == ordered[1], ordered


def fetch(imap: imaplib.IMAP4, number: str, items: str) -> bytes:
    typ, data = imap.fetch(number, items)
    assert typ == "OK", data
    return b"".join(part if isinstance(part, bytes) else b"".join(part) for part in data)


@pytest.mark.parametrize("number, items", [
    ("6", "(BODY.PEEK[1])"),
    ("6", "(BODY.PEEK[1.2])"),
    ("6", "(BODY.PEEK[1.1])"),
    ("6", "(BODY.PEEK[1.HEADER])"),
    ("6", "(BODYSTRUCTURE)"),
    ("5", "(BODYSTRUCTURE)"),
    ("4", "(BODYSTRUCTURE)"),
    ("1", "(BODYSTRUCTURE)"),
])
def test_fetch_sections_and_bodystructure(pair: Pair, number: str, items: str):
    ours, theirs = pair.both(lambda imap: fetch(imap, number, items))
    assert ours == theirs, (ours, theirs)


def test_message_rfc822_body_is_part_one(pair: Pair):
    body = fetch(pair.postgate, "6", "(BODY.PEEK[1])")
    assert b"From: Eve <eve@example.com>" in body and b"inner two" in body, body
    second = fetch(pair.postgate, "6", "(BODY.PEEK[1.2])")
    assert b"inner two \xc3\xa4" in second and b"inner one" not in second, second
    structure = fetch(pair.postgate, "5", "(BODYSTRUCTURE)")
    assert b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 23 1' in structure, structure


@pytest.mark.parametrize("number", ["1", "3", "4", "5", "6"])
def test_envelope_like_dovecot(pair: Pair, number: str):
    ours, theirs = pair.both(lambda imap: fetch(imap, number, "(ENVELOPE)"))
    assert ours == theirs, (ours, theirs)


def test_envelope_defaults_names_and_routes(pair: Pair):
    five = fetch(pair.postgate, "5", "(ENVELOPE)")
    carol = b'(("Carol" NIL "carol" "example.com"))'
    assert five.count(carol) == 3, five  # From, and the empty Sender and Reply-To
    three = fetch(pair.postgate, "3", "(ENVELOPE)")
    assert b'(("=?iso-8859-1?Q?J=FCrgen?= Schmidt" NIL "jurgen.schmidt" "example.org"))' in three, three
    six = fetch(pair.postgate, "6", "(ENVELOPE)")
    assert b'((NIL "@relay.example" "support" "acme.test"))' in six, six
