"""Never an open relay, no SMTP smuggling, no STARTTLS command injection; the live
directory: an address the CLI adds or disables is seen by a running server without a
restart."""

from __future__ import annotations

import pytest

from conftest import cli, maildir_files, messages, wait_for


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
    # No reply may come for the NOOP or MAIL that were sent before the handshake, and the
    # session is reset (RFC 3207 section 4.2): a transaction needs a new EHLO, and the
    # injected MAIL is gone. Replies come in order, so the first reply inside TLS is the one
    # to the first command sent inside TLS: a 250 here would be the injected NOOP's or
    # MAIL's, or RCPT accepted within the injected transaction.
    code, text = c.cmd("RCPT TO:<support@acme.test>")
    assert code == 503, f"first reply inside TLS (to RCPT without EHLO/MAIL): {code} {text}"
    assert c.buf == b"", f"more replies than commands inside TLS: {c.buf!r}"
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


def rcpt_reply(raw, address: str) -> tuple[int, str]:
    """The reply to RCPT TO:<address> in a new session."""
    c = session(raw)
    reply = c.cmd(f"RCPT TO:<{address}>")
    c.cmd("QUIT")
    c.close()
    return reply


def test_address_added_or_disabled_by_cli_is_seen_by_the_running_server(server, raw):
    def reply_once_not(code: int):
        """The reply to RCPT TO:<new@acme.test>, or None while it is still `code`."""
        reply = rcpt_reply(raw, "new@acme.test")
        return reply if reply[0] != code else None

    code, text = rcpt_reply(raw, "new@acme.test")
    assert (code, text[:5]) == (550, "5.1.1")
    cli(server.data, "address", "add", "new@acme.test")
    code, text = wait_for(lambda: reply_once_not(550), message="new@acme.test still refused after the CLI added it")
    assert code == 250, text
    # And disabling is seen too: refused as disabled (5.2.1), not as unknown.
    cli(server.data, "address", "disable", "new@acme.test", "--publish")
    code, text = wait_for(lambda: reply_once_not(250), message="new@acme.test still accepted after the CLI disabled it")
    assert (code, text[:5]) == (550, "5.2.1"), text
