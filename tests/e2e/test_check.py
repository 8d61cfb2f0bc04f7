"""`postgate check`: read-only consistency checks of the data directory and the
configuration, with a non-zero exit on errors, and `--repair` re-indexing Maildir files
that lost their index row."""

from __future__ import annotations

import json
import random
import smtplib
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import Server, cli, free_port, maildir_files, messages
from test_outbound import sink, write_outbound_config  # noqa: F401


def check(data: Path, *extra: str) -> tuple[int, dict]:
    proc = cli(data, "check", "--json", *extra, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def findings(report: dict, severity: str) -> list[dict]:
    return [f for f in report["findings"] if f["severity"] == severity]


def send(port: int, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for i in range(n):
            smtp.sendmail("c@example.org", ["support@acme.test"],
                          f"From: c@example.org\r\nSubject: m{i}\r\nMessage-ID: <check-{i}@example.org>\r\n\r\nhi\r\n")


def test_consistent_store_checks_out_and_damage_is_reported(data_dir, spawn):
    server = spawn(data_dir)
    send(server.port, 3)
    assert server.stop() == 0, server.log_text()  # a clean stop: every file is in new/ and flushed
    rc, report = check(data_dir)
    assert rc == 0 and report["errors"] == 0, report
    mailbox = [f for f in report["findings"] if f["subject"] == "mailbox maildir/acme.test/support"]
    assert mailbox and mailbox[0]["severity"] == "ok" and mailbox[0]["detail"].startswith("3 message(s)")

    # A message file lost behind the index's back is an error naming the file.
    lost = maildir_files(data_dir)[0]
    content = lost.read_bytes()
    lost.unlink()
    rc, report = check(data_dir)
    assert rc == 1 and report["errors"] == 1
    assert lost.name.split(":")[0] in findings(report, "error")[0]["detail"]

    # The file back, but its row gone: a warning; --repair indexes it again with its UID.
    lost.write_bytes(content)
    uid = int(lost.name.split("U=")[1].split(":")[0])
    conn = sqlite3.connect(data_dir / "postgate.sqlite", timeout=10)
    conn.execute("DELETE FROM message WHERE uid = ? AND mailbox_id = (SELECT id FROM mailbox WHERE path = ?)",
                 (uid, "maildir/acme.test/support"))
    conn.commit()
    conn.close()
    rc, report = check(data_dir)
    assert rc == 0 and any("not in the index" in f["detail"] for f in findings(report, "warning")), report
    rc, report = check(data_dir, "--repair")
    assert rc == 0 and not any("not in the index" in f["detail"] for f in report["findings"]), report
    assert sorted(m["uid"] for m in messages(data_dir)) == [1, 2, 3]

    # The human table: one line per finding and a summary. The one warning: the DKIM key
    # `serve` generated for the hosted domain (to sign replies) whose record is not published yet.
    text = cli(data_dir, "check").stdout
    assert "mailbox maildir/acme.test/support" in text and text.rstrip().endswith("0 error(s), 1 warning(s)")
    assert "postgate._domainkey.acme.test" in text


def test_dkim_key_mode_and_drafts_are_reported(data_dir):
    cli(data_dir, "dkim", "generate", "acme.test", "--selector", "s1")
    rc, report = check(data_dir)
    assert rc == 0
    assert any(f["subject"] == "dkim acme.test s1" and "Pending" in f["detail"] for f in findings(report, "warning"))
    key = data_dir / "dkim" / "acme.test" / "s1.pem"
    key.chmod(0o644)
    rc, report = check(data_dir)
    assert rc == 1 and "chmod 600" in findings(report, "error")[0]["detail"]
    key.unlink()
    rc, report = check(data_dir)
    assert rc == 1 and "is missing" in findings(report, "error")[0]["detail"]

    cli(data_dir, "address", "set", "support@acme.test", "--name", "Help Desk")
    rc, report = check(data_dir)
    assert any(f["subject"] == "address support@acme.test" and "address diff" in f["detail"]
               for f in findings(report, "warning"))


def make_certificate(directory: Path, days: int) -> tuple[Path, Path]:
    cert, key = directory / f"cert-{days}.pem", directory / f"key-{days}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=mx.acme.test", "-days", str(days), "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_configured_certificate_validity(data_dir, tmp_path):
    for days, severity in [(365, "ok"), (5, "warning")]:
        cert, key = make_certificate(tmp_path, days)
        config = tmp_path / f"config-{days}.yaml"
        config.write_text(f"tls:\n  certificate_file: {cert}\n  private_key_file: {key}\n")
        rc, report = check(data_dir, "--config", str(config))
        tls = [f for f in report["findings"] if f["subject"] == "tls"][0]
        assert tls["severity"] == severity, tls
        assert str(config) in report["findings"][0]["detail"]
    key.unlink()
    rc, report = check(data_dir, "--config", str(config))
    assert rc == 1 and "private key file" in [f for f in report["findings"] if f["subject"] == "tls"][0]["detail"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("tls:\n  certificate: x\n")
    proc = cli(data_dir, "check", "--config", str(bad), check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("postgate: ") and proc.stderr.count("\n") == 1


def test_blank_index_over_stored_mail_refuses_to_serve_until_repaired(data_dir, spawn, tmp_path):
    """A zero-length postgate.sqlite beside Maildirs that hold mail must not start as a blank
    install (every hosted address would be answered 550 and senders would bounce)."""
    cli(data_dir, "queue", "add", "billing")
    cli(data_dir, "filter", "add", "support@acme.test", "--field", "subject", "--keyword", "invoice", "--queue", "billing")
    server = spawn(data_dir)
    send(server.port, 3)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        smtp.sendmail("c@example.org", ["support@acme.test"],
                      "From: c@example.org\r\nSubject: invoice 7\r\nMessage-ID: <inv-7@example.org>\r\n\r\nhi\r\n")
    assert server.stop() == 0, server.log_text()
    before = {(m["uid"], m["subject"]) for m in messages(data_dir)}
    assert len(before) == 4
    validity = (data_dir / "maildir/acme.test/support/postgate-uidvalidity").read_text()

    for name in ("postgate.sqlite", "postgate.sqlite-wal", "postgate.sqlite-shm"):
        (data_dir / name).unlink(missing_ok=True)
    (data_dir / "postgate.sqlite").write_bytes(b"")

    # serve refuses, with one line naming the repair, and changes nothing; so do the other
    # commands, which would otherwise fill the empty file with a blank index.
    refusal = refused_serve(data_dir)
    assert "is empty (0 bytes)" in refusal and "postgate check --repair" in refusal, refusal
    proc = cli(data_dir, "domain", "add", "other.test", check=False)
    assert proc.returncode == 1 and "is empty (0 bytes)" in proc.stderr, proc
    assert (data_dir / "postgate.sqlite").stat().st_size == 0

    # check names the empty index and every lost Maildir as errors, and writes nothing.
    rc, report = check(data_dir)
    lost = {f["subject"] for f in findings(report, "error") if "no mailbox in the index" in f["detail"]}
    assert rc == 1 and {"mailbox maildir/acme.test/support", "mailbox queues/billing"} <= lost, report
    assert any(f["subject"] == "database" and "is empty (0 bytes)" in f["detail"] for f in findings(report, "error")), report
    assert (data_dir / "postgate.sqlite").stat().st_size == 0

    # --repair hosts the address again, adds the queue again and indexes every message with
    # its old UIDVALIDITY and UIDs; serve then starts and accepts mail for the address.
    rc, report = check(data_dir, "--repair")
    assert not any("no mailbox in the index" in f["detail"] for f in report["findings"]), report
    assert {(m["uid"], m["subject"]) for m in messages(data_dir)} == before
    assert (data_dir / "maildir/acme.test/support/postgate-uidvalidity").read_text() == validity
    conn = sqlite3.connect(data_dir / "postgate.sqlite")
    assert conn.execute("SELECT uid_validity FROM mailbox WHERE path = 'maildir/acme.test/support'").fetchone()[0] == int(validity)
    assert conn.execute("SELECT count(*) FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.path = 'queues/billing'").fetchone()[0] == 1
    conn.close()
    server = spawn(data_dir)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        smtp.sendmail("c@example.org", ["support@acme.test"],
                      "From: c@example.org\r\nSubject: after\r\nMessage-ID: <after@example.org>\r\n\r\nhi\r\n")
    assert max(m["uid"] for m in messages(data_dir)) == 5


def refused_serve(data: Path) -> str:
    """Runs `postgate serve` on `data`, which must refuse to start: it exits non-zero with
    one `postgate: ` line on stderr, which is returned. The timeout only guards against a
    hang (a failed start that never exits)."""
    argv = Server(data, free_port()).argv()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    reasons = [line for line in proc.stderr.splitlines() if line.startswith("postgate: ")]
    assert len(reasons) == 1, proc.stderr
    return reasons[0]


def serve_some_mail(data: Path, spawn) -> None:
    server = spawn(data)
    send(server.port, 3)
    assert server.stop() == 0, server.log_text()


def test_an_unreadable_index_refuses_to_serve_and_repair_sets_it_aside(data_dir, spawn):
    serve_some_mail(data_dir, spawn)
    for name in ("postgate.sqlite", "postgate.sqlite-wal", "postgate.sqlite-shm"):
        (data_dir / name).unlink(missing_ok=True)
    garbage = bytes(random.Random(7).getrandbits(8) for _ in range(64 * 1024))
    (data_dir / "postgate.sqlite").write_bytes(garbage)

    refusal = refused_serve(data_dir)
    assert "cannot be read" in refusal and "postgate check --repair" in refusal, refusal
    rc, report = check(data_dir)
    errors = findings(report, "error")
    assert rc == 1 and errors[0]["subject"] == "database" and "cannot be read" in errors[0]["detail"], report
    assert "mailbox maildir/acme.test/support" in {f["subject"] for f in errors}, report
    assert (data_dir / "postgate.sqlite").read_bytes() == garbage, "check without --repair changes nothing"

    rc, report = check(data_dir, "--repair")
    (aside,) = data_dir.glob("postgate.sqlite.unreadable-*")
    assert aside.read_bytes() == garbage
    assert any(f["subject"] == "database" and f"kept as {aside}" in f["detail"] for f in findings(report, "warning")), report
    assert sorted(m["uid"] for m in messages(data_dir)) == [1, 2, 3]
    server = spawn(data_dir)
    send(server.port, 1)


def test_a_missing_session_key_is_an_error_not_silently_made_anew(data_dir, spawn, tmp_path):
    serve_some_mail(data_dir, spawn)
    key = (data_dir / "session.key").read_bytes()
    (data_dir / "session.key").unlink()

    refusal = refused_serve(data_dir)
    assert "session.key is missing" in refusal and "postgate check --repair" in refusal, refusal
    proc = cli(data_dir, "address", "list", check=False)
    assert proc.returncode == 1 and "session.key is missing" in proc.stderr, proc
    rc, report = check(data_dir)
    (error,) = findings(report, "error")
    assert rc == 1 and error["subject"] == "session key" and "restore session.key from a backup" in error["detail"], report
    assert not (data_dir / "session.key").exists()

    # A key cut short counts as missing too; a restored key serves again.
    (data_dir / "session.key").write_bytes(key[:16])
    assert "session.key is missing or cut short" in refused_serve(data_dir)
    (data_dir / "session.key").write_bytes(key)
    assert check(data_dir)[0] == 0

    # --repair makes a new key, on purpose.
    (data_dir / "session.key").unlink()
    check(data_dir, "--repair")
    assert len((data_dir / "session.key").read_bytes()) == 32 and (data_dir / "session.key").read_bytes() != key

    # A new data directory still gets its key made at the first open.
    fresh = tmp_path / "fresh"
    cli(fresh, "domain", "add", "fresh.test")
    assert len((fresh / "session.key").read_bytes()) == 32


def test_the_smarthost_is_tried(data_dir: Path, tmp_path: Path, sink):
    handler, port = sink
    rc, report = check(data_dir, "--config", str(write_outbound_config(tmp_path / "up.yaml", port)))
    (hop,) = [f for f in report["findings"] if f["subject"] == "next hop"]
    assert hop["severity"] == "ok" and f"127.0.0.1:{port} answers" in hop["detail"] and "ehlo" in hop["detail"], hop
    assert handler.acknowledged == [], "nothing is sent"
    closed = free_port()
    rc, report = check(data_dir, "--config", str(write_outbound_config(tmp_path / "down.yaml", closed)))
    (hop,) = [f for f in report["findings"] if f["subject"] == "next hop"]
    assert rc == 1 and hop["severity"] == "error" and f"127.0.0.1:{closed} does not answer" in hop["detail"], hop
    rc, report = check(data_dir)
    assert not [f for f in report["findings"] if f["subject"] == "next hop"], "direct MX delivery has no one next hop"


def test_free_space_of_the_data_directory(tmp_path, postgate_bin):
    """A data directory on a nearly full (here: small) filesystem is an error; a roomy one is ok."""
    rc, report = check(tmp_path / "roomy")
    disk = [f for f in report["findings"] if f["subject"] == "disk"]
    assert disk and "MiB free" in disk[0]["detail"]
    small = tmp_path / "small"
    small.mkdir()
    # A 64 MiB tmpfs in a mount namespace of its own (nothing outside the test sees it).
    script = (f"mount -t tmpfs -o size=64m tmpfs {small} && "
              f"{postgate_bin} check --json --data {small}/data")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    if proc.returncode not in (0, 1) or not proc.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    disk = [f for f in report["findings"] if f["subject"] == "disk"][0]
    assert proc.returncode == 1 and disk["severity"] == "error" and "free space" in disk["detail"], disk
