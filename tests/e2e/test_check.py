"""`postgate check`: read-only consistency checks of the data directory and the
configuration, with a non-zero exit on errors, and `--repair` re-indexing Maildir files
that lost their index row."""

from __future__ import annotations

import json
import smtplib
import sqlite3
import subprocess
from pathlib import Path

from conftest import cli, maildir_files, messages


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
