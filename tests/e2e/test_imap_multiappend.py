"""MULTIAPPEND (RFC 3502) end to end, the raw command written on an imaplib session (imaplib
sends one literal per command) against Postgate and, in the same test run, against a
private Dovecot (the fixtures of test_imap_conformance.py), with the same assertions."""

from __future__ import annotations

import imaplib
import re

from test_imap_conformance import connect, dovecot_server, flat, folder, ok  # noqa: F401 (fixtures)

FIRST = b"From: a@example.com\r\nSubject: first\r\n\r\none\r\n"
SECOND = b"From: b@example.com\r\nSubject: second\r\n\r\n" + b"two\r\n" * 20000


def multiappend(imap: imaplib.IMAP4, mailbox: str, *messages: tuple[str, bytes]) -> bytes:
    """`APPEND mailbox flags {n+} message flags {n+} message …` with non-synchronizing
    literals (RFC 7888); the tagged reply."""
    command = b"M1 APPEND " + mailbox.encode()
    for flags, message in messages:
        command += b" " + flags.encode() + b" {%d+}\r\n" % len(message) + message
    imap.send(command + b"\r\n")
    while True:
        line = imap.readline()
        assert line, "connection closed"
        if line.startswith(b"M1 "):
            return line.rstrip()


def test_multiappend_stores_every_message_with_its_flags(connect):
    imap, name = connect(), folder()
    assert b"MULTIAPPEND" in ok(imap.capability())[0].split()
    ok(imap.create(name))
    reply = multiappend(imap, name, ("(\\Seen)", FIRST), ("(\\Flagged)", SECOND))
    assert re.match(rb"M1 OK \[APPENDUID \d+ 1:2\]", reply), reply
    [count] = ok(imap.select(name))
    assert count == b"2"
    sizes = [int(n) for n in re.findall(rb"RFC822.SIZE (\d+)", flat(ok(imap.fetch("1:2", "(RFC822.SIZE)"))))]
    assert sizes == [len(FIRST), len(SECOND)]
    first = flat(ok(imap.fetch("1", "(FLAGS BODY.PEEK[])")))
    second = flat(ok(imap.fetch("2", "(FLAGS BODY.PEEK[])")))
    assert b"\\Seen" in first and b"\\Flagged" not in first and b"one" in first
    assert b"\\Flagged" in second and b"\\Seen" not in second
    assert ok(imap.fetch("2", "(BODY.PEEK[])"))[0][1] == SECOND
    imap.logout()


def test_multiappend_to_a_missing_mailbox_stores_nothing(connect):
    imap, name = connect(), folder()
    reply = multiappend(imap, name, ("()", FIRST), ("()", SECOND))
    assert reply.startswith(b"M1 NO [TRYCREATE]"), reply
    typ, data = imap.status(name, "(MESSAGES)")
    assert typ == "NO", data
    imap.logout()
