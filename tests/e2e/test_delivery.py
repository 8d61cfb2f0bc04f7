"""Mail sent by smtplib and swaks, with and without STARTTLS, is stored byte for byte in
the address's Maildir and indexed in SQLite."""

from __future__ import annotations

import mailbox
import shutil
import smtplib
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import address, cli, delivered_files, insecure_tls, messages, published, stored_prefix_ok

SENDER = "alice@example.org"


def make_message(subject: str, msg_id: str, to: str = "support@acme.test") -> bytes:
    return (
        f"From: Alice <{SENDER}>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: Mon, 03 Feb 2025 10:00:00 +0000\r\n"
        f"Message-ID: {msg_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Hello,\r\n"
        ".x starts with a dot (the client sends ..x)\r\n"
        ".\r\n"
        "..two dots\r\n"
        " trailing line\r\n"
    ).encode()


def maildir_of(data: Path, email: str) -> Path:
    return data / address(data, email)["mailboxPath"]


def test_smtplib_plain_stored_byte_for_byte_and_indexed(server):
    data = server.data
    sent = make_message("Plain test", "<plain-1@example.org>")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        code, _ = s.ehlo("client.example.org")
        assert code == 250
        for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes", "starttls"):
            assert s.has_extn(ext), f"EHLO does not advertise {ext}: {s.esmtp_features}"
        refused = s.sendmail(SENDER, ["support@acme.test"], sent)
        assert refused == {}
        code, resp = s.noop()
        assert code == 250

    md_path = maildir_of(data, "support@acme.test")
    assert {p.name for p in md_path.iterdir()} >= {"tmp", "new", "cur"}
    published(data)  # the 250 follows the index commit; the rename into new/ comes just after
    md = mailbox.Maildir(md_path, factory=None, create=False)
    keys = md.keys()
    assert len(keys) == 1
    files = list((md_path / "new").iterdir())
    assert len(files) == 1, files
    stored = files[0].read_bytes()
    assert md.get_bytes(keys[0]) == stored
    stored_prefix_ok(stored, sent, SENDER)
    # Lines the client dot-stuffed come back unstuffed, exactly as in `sent`.
    assert stored.endswith(b"\r\n.x starts with a dot (the client sends ..x)\r\n.\r\n..two dots\r\n trailing line\r\n")

    rows = messages(data)
    assert len(rows) == 1
    row = rows[0]
    assert row["mailbox_path"] == address(data, "support@acme.test")["mailboxPath"]
    assert row["uid"] == 1
    assert row["filename"] == files[0].name
    assert row["size"] == len(stored) == files[0].stat().st_size
    assert row["subject"] == "Plain test"
    assert row["message_id"].strip("<>") == "plain-1@example.org"
    assert row["mail_from"] == SENDER
    assert row["rcpt_to"] == "support@acme.test"
    assert address(data, "support@acme.test")["messageCount"] == 1


def test_dot_unstuffing_exact(server):
    """The stored body has `.x` where the wire had `..x`: the bytes sent, before stuffing."""
    body = b"Subject: dots\r\nMessage-ID: <dots@example.org>\r\n\r\n.\r\n..\r\n...x\r\nend\r\n"
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.sendmail(SENDER, ["support@acme.test"], body)  # smtplib stuffs: ..\r\n ...\r\n ....x
    (f,) = delivered_files(server.data)
    stored = f.read_bytes()
    stored_prefix_ok(stored, body, SENDER)


def test_second_message_gets_uid_2(server):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.sendmail(SENDER, ["support@acme.test"], make_message("one", "<u1@example.org>"))
        s.sendmail(SENDER, ["support@acme.test"], make_message("two", "<u2@example.org>"))
    rows = messages(server.data)
    assert [(r["uid"], r["subject"]) for r in rows] == [(1, "one"), (2, "two")]


def test_smtplib_starttls(server):
    sent = make_message("TLS test", "<tls-1@example.org>")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.ehlo("client.example.org")
        assert s.has_extn("starttls")
        code, _ = s.starttls(context=insecure_tls())
        assert code == 220
        s.ehlo("client.example.org")
        assert not s.has_extn("starttls"), "STARTTLS must not be offered again inside TLS"
        assert s.sendmail(SENDER, ["support@acme.test"], sent) == {}
    (f,) = delivered_files(server.data)
    stored = f.read_bytes()
    stored_prefix_ok(stored, sent, SENDER)
    (row,) = messages(server.data)
    assert row["subject"] == "TLS test"


SWAKS = shutil.which("swaks")
needs_swaks = pytest.mark.skipif(SWAKS is None, reason="swaks is not installed (scripts/install-deps.sh installs it)")


@needs_swaks
@pytest.mark.parametrize("mode", ["plain", "tls", "pipeline", "tls-pipeline"])
def test_swaks(server, mode):
    mid = f"<swaks-{mode}-{uuid.uuid4().hex}@example.org>"
    argv = [
        SWAKS, "--server", f"127.0.0.1:{server.port}", "--helo", "swaks.example.org",
        "--from", SENDER, "--to", "support@acme.test",
        "--header", f"Subject: swaks {mode}", "--header", f"Message-Id: {mid}",
        "--body", "Hello from swaks\n.dot line\nlast line\n", "--timeout", "10",
    ]
    if "tls" in mode:
        argv.append("--tls")  # swaks does not verify the certificate by default
    if "pipeline" in mode:
        argv.append("--pipeline")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if "tls" in mode:
        assert "TLS started" in proc.stdout, proc.stdout
    (row,) = messages(server.data)
    assert row["message_id"] == mid
    assert row["subject"] == f"swaks {mode}"
    (f,) = delivered_files(server.data)
    stored = f.read_bytes()
    assert b"\r\n.dot line\r\nlast line\r\n" in stored
    assert stored.startswith(f"Return-Path: <{SENDER}>\r\nReceived: ".encode())
    assert row["size"] == len(stored)


def test_alias_delivers_to_address_mailbox(server):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.sendmail(SENDER, ["help@acme.test"], make_message("via alias", "<alias@example.org>", to="help@acme.test"))
    (row,) = messages(server.data)
    assert row["mailbox_path"] == address(server.data, "support@acme.test")["mailboxPath"]
    assert row["rcpt_to"] == "help@acme.test"
    assert len(delivered_files(server.data)) == 1


def test_case_insensitive_recipient(server):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.sendmail(SENDER, ["Support@ACME.Test"], make_message("upper", "<upper@example.org>"))
    (row,) = messages(server.data)
    assert row["mailbox_path"] == address(server.data, "support@acme.test")["mailboxPath"]


def test_idn_u_label_and_a_label_same_mailbox(data_dir, spawn):
    cli(data_dir, "domain", "add", "bücher.test")
    cli(data_dir, "address", "add", "info@bücher.test")
    server = spawn(data_dir)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.ehlo("client.example.org")
        assert s.has_extn("smtputf8")
        s.sendmail(SENDER, ["info@xn--bcher-kva.test"], b"Subject: a-label\r\n\r\nA\r\n")
        s.sendmail(SENDER, ["info@bücher.test"], "Subject: u-label\r\n\r\nU\r\n".encode(), mail_options=["SMTPUTF8"])
    rows = messages(data_dir)
    assert [r["subject"] for r in rows] == ["a-label", "u-label"]
    assert rows[0]["mailbox_id"] == rows[1]["mailbox_id"]
    assert [r["uid"] for r in rows] == [1, 2]
    files = delivered_files(data_dir)
    assert len(files) == 2 and files[0].parent == files[1].parent
