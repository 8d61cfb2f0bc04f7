"""CHUNKING / BDAT (RFC 3030) over a real socket: chunks are stored exactly as sent, a
refused chunk is still read whole (its bytes never become commands), and bad chunks are
refused without losing the session."""

from __future__ import annotations

from conftest import RawSMTP, delivered_files, maildir_files, messages, write_config, stored_prefix_ok

SENDER = "alice@example.org"
HEAD = b"From: Alice <alice@example.org>\r\nTo: support@acme.test\r\nSubject: chunked\r\nMessage-ID: <bdat-1@example.org>\r\n\r\n"


def transaction(port: int) -> RawSMTP:
    c = RawSMTP(port)
    code, text = c.cmd("EHLO client.example.org")
    assert code == 250 and "CHUNKING" in text.split("\n"), text
    assert c.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert c.cmd("RCPT TO:<support@acme.test>")[0] == 250
    return c


def bdat(c: RawSMTP, chunk: bytes, last: bool = False) -> tuple[int, str]:
    c.send(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk)
    r = c.reply()
    assert r is not None
    return r


def test_chunks_are_stored_exactly_as_sent(server):
    c = transaction(server.port)
    # A line starting with a dot is data here: no dot-stuffing in BDAT.
    body = b".not stuffed\r\n..two dots\r\nend\r\n"
    assert bdat(c, HEAD)[0] == 250
    assert bdat(c, body[:7])[0] == 250
    code, text = bdat(c, body[7:], last=True)
    assert code == 250 and text.startswith("2.0.0"), text
    assert c.cmd("QUIT")[0] == 221
    (row,) = messages(server.data)
    assert row["message_id"] == "<bdat-1@example.org>" and row["subject"] == "chunked"
    (f,) = delivered_files(server.data)
    stored_prefix_ok(f.read_bytes(), HEAD + body, SENDER)


def test_refused_chunks_are_read_whole_never_as_commands(server):
    c = RawSMTP(server.port)
    assert c.cmd("EHLO client.example.org")[0] == 250
    smuggled = b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<support@acme.test>\r\nDATA\r\n"
    assert bdat(c, smuggled, last=True)[0] == 503  # no MAIL yet: refused, but the bytes are data
    assert c.cmd("NOOP")[0] == 250  # the next reply is NOOP's: nothing of the chunk ran
    assert c.cmd("MAIL FROM:<bob@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<nobody@acme.test>")[0] == 550
    assert bdat(c, b"RSET\r\n", last=True)[0] == 554  # no valid recipients
    assert c.cmd("QUIT")[0] == 221
    assert messages(server.data) == []


def test_bare_line_feed_in_a_chunk_refuses_the_message_not_the_session(server):
    c = transaction(server.port)
    assert bdat(c, HEAD + b"line one\nline two\r\n", last=True)[:1] == (550,)
    assert c.cmd("NOOP")[0] == 250
    assert c.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert c.cmd("RCPT TO:<support@acme.test>")[0] == 250
    assert bdat(c, HEAD + b"fine\r\n", last=True)[0] == 250
    assert len(messages(server.data)) == 1


def test_rset_between_chunks_drops_the_message(server):
    c = transaction(server.port)
    assert bdat(c, HEAD)[0] == 250
    assert c.cmd("DATA")[0] == 503
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    assert messages(server.data) == [] and maildir_files(server.data) == [] and maildir_files(server.data, "tmp") == []


def test_chunks_past_the_size_limit_are_refused(data_dir, spawn, tmp_path):
    server = spawn(data_dir, write_config(tmp_path / "c.yaml", max_message_size=2000))
    c = transaction(server.port)
    assert bdat(c, HEAD + b"x" * 1500 + b"\r\n")[0] == 250
    code, text = bdat(c, b"y" * 1500 + b"\r\n", last=True)
    assert (code, text[:5]) == (552, "5.3.4"), text
    assert c.cmd("NOOP")[0] == 250
    assert messages(data_dir) == []


def test_malformed_bdat_closes_the_session(server):
    c = transaction(server.port)
    c.send("BDAT lots\r\nQUIT\r\n")
    replies = c.replies_until_eof()
    assert [r[0] for r in replies] == [501], replies
