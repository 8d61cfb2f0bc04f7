"""Never an open relay, no SMTP smuggling, no STARTTLS command injection; the live
directory: an address added by the CLI is accepted by a running server within a second."""

from __future__ import annotations

import socket
import time

import pytest

from conftest import cli, maildir_files, messages


def session(raw, port=None):
    c = raw(port)
    assert c.greeting[0] == 220, c.greeting
    code, text = c.cmd("EHLO client.example.org")
    assert code == 250, text
    code, text = c.cmd("MAIL FROM:<alice@example.org>")
    assert code == 250, text
    return c


def assert_nothing_stored(data):
    assert messages(data) == []
    assert maildir_files(data, "new") == [] and maildir_files(data, "cur") == []
    assert maildir_files(data, "tmp") == []


# ---------------------------------------------------------------- relay and recipients


@pytest.mark.parametrize("rcpt, expected", [
    ("user@other.test", (550, "5.7.1")),
    ("support@other.test", (550, "5.7.1")),
    ("nobody@acme.test", (550, "5.1.1")),
    ("NoBody@ACME.TEST", (550, "5.1.1")),
])
def test_recipient_refused_with_exact_code(server, raw, rcpt, expected):
    c = session(raw)
    code, text = c.cmd(f"RCPT TO:<{rcpt}>")
    assert (code, text.split(" ", 1)[0]) == expected, text
    # No valid recipient: DATA is refused too.
    code, text = c.cmd("DATA")
    assert 500 <= code < 600 and code != 354, (code, text)
    assert c.cmd("QUIT")[0] == 221
    assert_nothing_stored(server.data)


@pytest.mark.parametrize("rcpt", [
    "<@acme.test:user@other.test>",            # source route ending off-site
    "<@acme.test,@relay.test:user@other.test>",
    "<user%other.test@acme.test>",             # the % hack
    '<"user@other.test"@acme.test>',           # quoted local part holding @
    '<"user%other.test"@acme.test>',
    "<support@acme.test.>",                    # trailing dot
    "<user@other.test.>",
    "<user@other.test@acme.test>",
    "<support@[127.0.0.1]>",                   # address literal
    "<user!other.test@acme.test>",             # bang path
])
def test_relay_attempts_refused(server, raw, rcpt):
    c = session(raw)
    code, text = c.cmd(f"RCPT TO:{rcpt}")
    assert 500 <= code < 600, f"RCPT TO:{rcpt} got {code} {text}"
    code, text = c.cmd("DATA")
    assert code != 354, f"DATA accepted after RCPT TO:{rcpt}"
    assert_nothing_stored(server.data)


def test_source_route_to_other_domain_is_relay_denied(server, raw):
    c = session(raw)
    code, text = c.cmd("RCPT TO:<@acme.test:user@other.test>")
    assert (code, text[:5]) == (550, "5.7.1"), text


def test_disabled_address_refused(data_dir, spawn, raw):
    cli(data_dir, "address", "disable", "support@acme.test", "--publish")
    server = spawn(data_dir)
    c = session(raw, server.port)
    for rcpt in ("support@acme.test", "help@acme.test"):
        code, text = c.cmd(f"RCPT TO:<{rcpt}>")
        assert (code, text[:5]) == (550, "5.2.1"), (rcpt, text)
    assert_nothing_stored(data_dir)


def test_mixed_recipients_only_hosted_one_stored(server, raw):
    c = session(raw)
    assert c.cmd("RCPT TO:<user@other.test>")[0] == 550
    assert c.cmd("RCPT TO:<support@acme.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    code, text = c.cmd("Subject: mixed\r\n\r\nbody\r\n.")
    assert code == 250, text
    (row,) = messages(server.data)
    assert row["rcpt_to"] == "support@acme.test"


# ---------------------------------------------------------------- SMTP smuggling


SMUGGLED = "MAIL FROM:<evil@example.org>\r\nRCPT TO:<support@acme.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n"


@pytest.mark.parametrize("name, payload", [
    ("LF.LF", b"Subject: s\r\n\r\nhello\n.\n" + SMUGGLED.encode() + b".\r\n"),
    ("LF.CRLF", b"Subject: s\r\n\r\nhello\n.\r\n" + SMUGGLED.encode() + b".\r\n"),
    ("CRLF.LF", b"Subject: s\r\n\r\nhello\r\n.\n" + SMUGGLED.encode() + b".\r\n"),
    ("CR.CR", b"Subject: s\r\n\r\nhello\r.\r" + SMUGGLED.encode() + b".\r\n"),
    ("CRLF.CR", b"Subject: s\r\n\r\nhello\r\n.\r" + SMUGGLED.encode() + b".\r\n"),
    ("bare LF in text", b"Subject: s\r\n\r\nline one\nline two\r\n.\r\n"),
    ("bare CR in text", b"Subject: s\r\n\r\nline one\rline two\r\n.\r\n"),
    ("bare LF in header", b"Subject: s\nX-Other: y\r\n\r\nbody\r\n.\r\n"),
])
def test_smuggling_refused_and_connection_closed(server, raw, name, payload):
    c = session(raw)
    assert c.cmd("RCPT TO:<support@acme.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(payload)
    replies = c.replies_until_eof(timeout=10)
    assert replies, f"{name}: no reply before the connection closed"
    assert all(500 <= code < 600 for code, _ in replies), f"{name}: {replies}"
    assert_nothing_stored(server.data)
    # The server is still fine for the next client.
    c2 = session(raw)
    assert c2.cmd("RCPT TO:<support@acme.test>")[0] == 250


# ---------------------------------------------------------------- STARTTLS injection


def test_starttls_discards_pipelined_commands(server, raw):
    c = raw()
    assert c.cmd("EHLO client.example.org")[0] == 250
    c.send("STARTTLS\r\nNOOP\r\nMAIL FROM:<injected@example.org>\r\n")
    code, text = c.reply()
    assert code == 220, text
    assert c.buf == b"", f"bytes after the 220 in clear text: {c.buf!r}"
    c.starttls()
    # No reply may come for the NOOP or MAIL that were sent before the handshake.
    c.sock.settimeout(1.0)
    try:
        extra = c.sock.recv(4096)
    except (socket.timeout, TimeoutError):
        extra = b""
    assert extra == b"", f"server answered commands injected before TLS: {extra!r}"
    c.sock.settimeout(10)
    # The session is reset: a transaction needs a new EHLO, and the injected MAIL is gone.
    code, text = c.cmd("RCPT TO:<support@acme.test>")
    assert code == 503, f"RCPT after STARTTLS without EHLO/MAIL: {code} {text}"
    code, text = c.cmd("EHLO client.example.org")
    assert code == 250
    assert "STARTTLS" not in text.upper().split("\n")
    assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<support@acme.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    assert c.cmd("Subject: after tls\r\n\r\nbody\r\n.")[0] == 250
    (row,) = messages(server.data)
    assert row["mail_from"] == "alice@example.org"


# ---------------------------------------------------------------- live directory


def test_address_added_by_cli_accepted_within_a_second(server, raw):
    c = session(raw)
    code, text = c.cmd("RCPT TO:<new@acme.test>")
    assert (code, text[:5]) == (550, "5.1.1")
    c.cmd("QUIT")
    cli(server.data, "address", "add", "new@acme.test")
    added = time.monotonic()
    while True:
        c = session(raw)
        code, text = c.cmd("RCPT TO:<new@acme.test>")
        c.cmd("QUIT")
        elapsed = time.monotonic() - added
        if code == 250:
            break
        assert elapsed < 1.0, f"new@acme.test still refused {elapsed:.2f}s after the CLI added it: {code} {text}"
        time.sleep(0.05)
    # And disabling is seen as quickly.
    cli(server.data, "address", "disable", "new@acme.test", "--publish")
    disabled = time.monotonic()
    while True:
        c = session(raw)
        code, text = c.cmd("RCPT TO:<new@acme.test>")
        c.cmd("QUIT")
        if code == 550:
            assert text[:5] == "5.2.1", text
            break
        assert time.monotonic() - disabled < 1.0, "disabled address still accepted after 1 s"
        time.sleep(0.05)
