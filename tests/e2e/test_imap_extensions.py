"""IMAP extensions, run with Python's imaplib against Postgate and, in the same test run,
against a private Dovecot (the fixtures of test_imap_conformance.py): PREVIEW (RFC 8970),
STATUS=SIZE (RFC 8438), LIST-STATUS (RFC 5819), SAVEDATE (RFC 8514) and OBJECTID
(RFC 8474; Postgate only, as Dovecot 2.3 does not offer it). Where the RFC leaves room
(which text a preview shows, how long it is), the same assertion holds on both servers,
so Postgate answers as Dovecot does."""

from __future__ import annotations

import base64
import imaplib
import re
import smtplib
import time

import pytest

from test_imap import SHARED, add_agent, login
from test_imap_conformance import append, connect, dovecot_server, flat, folder, ok, take  # noqa: F401 (fixtures)

LATIN1 = (b"From: a@example.com\r\nSubject: =?utf-8?q?K=C3=B6ln?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
          b"Content-Transfer-Encoding: quoted-printable\r\n\r\nHallo  Gr=FC=DFe\r\n\r\n> quoted line\r\nsecond   line\r\n")
HTML = (b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n<html><head><style>p{}</style></head>"
        b"<body><p>Hello <b>there</b></p><p>next &amp; more</p></body></html>\r\n")
EMPTY = b"From: a@example.com\r\nSubject: nothing\r\n\r\n"
ALTERNATIVE = (b"From: a@example.com\r\nContent-Type: multipart/alternative; boundary=X\r\n\r\n--X\r\n"
               b"Content-Type: text/plain\r\n\r\nplain part\r\n--X\r\nContent-Type: text/html\r\n\r\n<p>html part</p>\r\n--X--\r\n")
ATTACHMENT_FIRST = (b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n"
                    b"Content-Type: application/pdf\r\n\r\nxx\r\n--X\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n--X--\r\n")
BASE64 = (b"From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
          + base64.encodebytes("Grüße aus Köln,\ttab".encode()).replace(b"\n", b"\r\n"))
ONLY_QUOTED = b"From: a@example.com\r\n\r\n> only quoted\r\n> text here\r\n"
LONG = b"From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + ("äöü " * 70).encode() + b"\r\n"
ENCAPSULATED = (b"From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\n"
                b"From: x@example.com\r\nSubject: inner\r\n\r\ninner body\r\n")

# The preview of each message above, as both servers give it.
PREVIEWS = [
    (LATIN1, "Hallo Grüße second line"),
    (HTML, "Hello there next & more"),
    (EMPTY, ""),
    (ALTERNATIVE, "plain part"),
    (ATTACHMENT_FIRST, "see the file"),
    (BASE64, "Grüße aus Köln, tab"),
    (ONLY_QUOTED, ">only quoted text here"),
    (LONG, " ".join(["äöü"] * 50)),
    (ENCAPSULATED, ""),
]


def server_name(request) -> str:
    return request.node.callspec.params["connect"]


def capabilities(imap: imaplib.IMAP4) -> set[str]:
    typ, data = imap.capability()
    assert typ == "OK"
    return set(data[0].decode().split())


def fetch_items(imap: imaplib.IMAP4, numbers: str, item: str) -> dict[int, bytes]:
    """`item`'s value in each FETCH response (a string or literal, unquoted), by sequence number."""
    typ, data = imap.fetch(numbers, f"({item})")
    assert typ == "OK", data
    name = item.split()[0].encode()
    values: dict[int, bytes] = {}
    for entry in data:
        if isinstance(entry, tuple):
            number = int(entry[0].split()[0])
            assert entry[0].rstrip().endswith(b"}") and name in entry[0], entry
            values[number] = entry[1]
        elif entry and entry != b")":
            match = re.match(rb'(\d+) \(.*?' + re.escape(name) + rb' ([^ ()"]+|"((?:[^"\\]|\\.)*)"|\(([^)]*)\))', entry)
            assert match, entry
            raw = match.group(3) if match.group(3) is not None else match.group(4) or match.group(2)
            values[int(match.group(1))] = re.sub(rb"\\(.)", rb"\1", raw)
    return values


# --------------------------------------------------------------------------- PREVIEW


def test_preview_is_the_decoded_text_as_dovecot_gives_it(connect):
    imap, name = connect(), folder()
    assert "PREVIEW" in capabilities(imap)
    ok(imap.create(name))
    for message, _ in PREVIEWS:
        append(imap, name, message)
    ok(imap.select(name))
    previews = fetch_items(imap, "1:*", "PREVIEW")
    assert [previews[n].decode() for n in range(1, len(PREVIEWS) + 1)] == [text for _, text in PREVIEWS]
    # LAZY (RFC 8970 section 3.2) allows NIL; both servers give the text.
    assert fetch_items(imap, "1", "PREVIEW (LAZY)")[1].decode() == PREVIEWS[0][1]
    # PREVIEW does not set \Seen.
    assert b"\\Seen" not in flat(ok(imap.fetch("1", "(FLAGS)")))
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        imap._simple_command("FETCH", "1", "(PREVIEW (FOO))")
    imap.logout()


# --------------------------------------------------------------------------- STATUS=SIZE, LIST-STATUS


def test_status_size_is_the_total_of_the_message_sizes(connect):
    imap, name = connect(), folder()
    assert "STATUS=SIZE" in capabilities(imap)
    ok(imap.create(name))
    for message in (LATIN1, HTML, LONG):
        append(imap, name, message)
    [status] = ok(imap.status(name, "(MESSAGES SIZE)"))
    total = len(LATIN1) + len(HTML) + len(LONG)
    assert status.endswith(b"(MESSAGES 3 SIZE %d)" % total), status
    ok(imap.select(name))
    sizes = fetch_items(imap, "1:*", "RFC822.SIZE")
    assert sum(int(v) for v in sizes.values()) == total
    imap.logout()


def test_list_status_returns_a_status_for_each_listed_mailbox(connect):
    imap, name = connect(), folder()
    assert "LIST-STATUS" in capabilities(imap)
    ok(imap.create(name))
    ok(imap.create(name + "/child"))
    append(imap, name, LATIN1)
    append(imap, name, HTML)
    ok(imap.select(name))
    ok(imap.store("1", "+FLAGS", "(\\Seen)"))
    ok(imap.unselect())
    imap.untagged_responses.clear()
    ok(imap._simple_command("LIST", '""', name + "*", "RETURN", "(STATUS (MESSAGES UNSEEN SIZE))"))
    listed = sorted(line.rsplit(b" ", 1)[-1].strip(b'"') for line in take(imap, "LIST"))
    assert listed == [name.encode(), (name + "/child").encode()]
    statuses = sorted(take(imap, "STATUS"))
    assert statuses == [
        b'%s (MESSAGES 2 UNSEEN 1 SIZE %d)' % (name.encode(), len(LATIN1) + len(HTML)),
        b'%s/child (MESSAGES 0 UNSEEN 0 SIZE 0)' % name.encode(),
    ], statuses
    # RFC 5819 section 2: an unknown STATUS item is BAD.
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        imap._simple_command("LIST", '""', name, "RETURN", "(STATUS (MESSAGES FOO))")
    imap.logout()


# --------------------------------------------------------------------------- SAVEDATE


def test_savedate_is_when_the_message_was_saved_not_its_internal_date(connect):
    imap, name = connect(), folder()
    assert "SAVEDATE" in capabilities(imap)
    ok(imap.create(name))
    ok(imap.append(name, None, '"01-Feb-2020 10:00:00 +0000"', LATIN1))
    ok(imap.select(name))
    answer = flat(ok(imap.fetch("1", "(INTERNALDATE SAVEDATE)")))
    match = re.search(rb'INTERNALDATE " ?0?1-Feb-2020 10:00:00 \+0000" SAVEDATE "( ?\d+-\w+-\d+) \d\d:\d\d:\d\d [+-]\d{4}"', answer)
    assert match, answer
    saved_on = match.group(1).strip().lstrip(b"0").decode()
    assert saved_on != "1-Feb-2020"
    assert ok(imap.search(None, "SAVEDON", saved_on)) == [b"1"]
    assert ok(imap.search(None, "SAVEDBEFORE", "1-Jan-2021")) in ([b""], [None])
    assert ok(imap.search(None, "SAVEDSINCE", "1-Jan-2021")) == [b"1"]
    assert ok(imap.search(None, "SAVEDATESUPPORTED")) == [b"1"]
    imap.logout()


# --------------------------------------------------------------------------- OBJECTID


def test_object_ids_are_stable_through_rename_copy_and_move(connect, request):
    imap, name = connect(), folder()
    if "OBJECTID" not in capabilities(imap):
        assert server_name(request) == "dovecot", "Postgate must offer OBJECTID"
        imap.logout()
        pytest.skip("Dovecot 2.3 does not offer OBJECTID (RFC 8474)")
    typ, data = imap.create(name)
    assert typ == "OK"
    created = re.search(rb"\[MAILBOXID \(([A-Za-z0-9_-]{1,255})\)\]", data[0])
    assert created, data
    mailbox_id = created.group(1)
    ok(imap.select(name))
    assert take(imap, "MAILBOXID")[-1] == b"(" + mailbox_id + b")"
    ok(imap.unselect())
    ok(imap.rename(name, name + "x"))
    assert ok(imap.status(name + "x", "(MAILBOXID)"))[0].endswith(b"(MAILBOXID (" + mailbox_id + b"))")

    append(imap, name + "x", LATIN1)
    append(imap, name + "x", HTML)
    ok(imap.create(name + "y"))
    ok(imap.select(name + "x"))
    ids = fetch_items(imap, "1:2", "EMAILID")
    assert ids[1] != ids[2] and all(re.fullmatch(rb"[A-Za-z0-9_-]{1,255}", v) for v in ids.values()), ids
    threads = fetch_items(imap, "1:2", "THREADID")  # APPENDed: no session, NIL (RFC 8474 section 5.2)
    assert threads == {1: b"NIL", 2: b"NIL"}, threads
    assert ok(imap.search(None, "EMAILID", ids[2].decode())) == [b"2"]
    ok(imap.copy("1", name + "y"))
    ok(imap._simple_command("MOVE", "2", name + "y"))
    ok(imap.select(name + "y"))
    assert fetch_items(imap, "1:2", "EMAILID") == {1: ids[1], 2: ids[2]}
    imap.logout()


def test_threadid_is_the_session_and_a_copy_keeps_it(data_dir, spawn):
    """Postgate only: Dovecot 2.3 offers no OBJECTID. Mail delivered over SMTP joins sessions;
    THREADID names the session (RFC 8474 section 5.2), in the agent's own folders too."""
    add_agent(data_dir)
    server = spawn(data_dir)
    messages = [
        ("carol@example.com", "Subject: Order late\r\nMessage-ID: <first@example.com>\r\n"),
        ("carol@example.com", "Subject: Re: Order late\r\nMessage-ID: <second@example.com>\r\nIn-Reply-To: <first@example.com>\r\n"),
        ("dave@example.net", "Subject: Invoice\r\nMessage-ID: <other@example.net>\r\n"),
    ]
    for sender, fields in messages:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
            smtp.sendmail(sender, ["support@acme.test"], f"From: {sender}\r\nTo: support@acme.test\r\n{fields}\r\nHello.\r\n")
    imap = login(server)
    deadline = time.monotonic() + 30  # a deadline for a slow machine; the condition is awaited
    while ok(imap.select(SHARED))[0] != b"3":
        assert time.monotonic() < deadline, "the three messages never appeared"
        time.sleep(0.1)
    threads = fetch_items(imap, "1:3", "THREADID")
    assert threads[1] == threads[2] != b"NIL" and threads[3] not in (b"NIL", threads[1]), threads
    emails = fetch_items(imap, "1", "EMAILID")
    ok(imap.copy("1", "INBOX"))
    ok(imap.select("INBOX"))
    assert fetch_items(imap, "1", "THREADID") == {1: threads[1]}
    assert fetch_items(imap, "1", "EMAILID") == emails
    imap.logout()
