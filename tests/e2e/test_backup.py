"""`postgate backup` while `serve` takes mail, and `postgate restore`: every message
acknowledged before the backup started is in the restored data directory with its
content; an interrupted backup never takes the final name."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import sqlite3
import subprocess
import threading
from pathlib import Path

from conftest import BIN, cli, wait_for


def ingest(port: int, sessions: int, stop: threading.Event, acked: list[tuple[str, str]], lock: threading.Lock,
           errors: list[BaseException]) -> list[threading.Thread]:
    """`sessions` SMTP clients sending until `stop`; (Message-ID, subject) of each 250."""
    def client(n: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                i = 0
                while not stop.is_set():
                    mid = f"<b{n}-{i}@example.org>"
                    subject = f"backup {n} {i}"
                    smtp.sendmail("c@example.org", ["support@acme.test"],
                                  f"From: c@example.org\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n\r\nbody {n} {i}\r\n")
                    with lock:
                        acked.append((mid, subject))
                    i += 1
        except BaseException as error:  # reported by the test
            errors.append(error)
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(sessions)]
    for t in threads:
        t.start()
    return threads


def indexed(data: Path) -> dict[str, tuple[str, str]]:
    """Message-ID → (subject, mailbox path of the file's Maildir) for the address's mailbox."""
    conn = sqlite3.connect(f"file:{data / 'postgate.sqlite'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT m.message_id, m.subject, m.filename, b.path FROM message m JOIN mailbox b "
                            "ON b.id = m.mailbox_id WHERE b.path = 'maildir/acme.test/support'").fetchall()
    finally:
        conn.close()
    return {mid: (subject, filename, path) for mid, subject, filename, path in rows}


def file_of(data: Path, path: str, filename: str) -> Path:
    for folder in ("new", "cur"):
        for f in (data / path / folder).iterdir():
            if f.name.split(":")[0] == filename:
                return f
    raise AssertionError(f"{filename} not in {path}")


def test_backup_during_ingest_restores_every_acknowledged_message(data_dir, spawn, tmp_path):
    server = spawn(data_dir)
    stop, lock = threading.Event(), threading.Lock()
    acked: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    threads = ingest(server.port, 32, stop, acked, lock, errors)
    try:
        wait_for(lambda: len(acked) >= 300, timeout=120, message="300 messages acknowledged")
        with lock:
            before = list(acked)
        backup = tmp_path / "backup"
        proc = cli(data_dir, "backup", str(backup), "--json")
        report = json.loads(proc.stdout)
        wait_for(lambda: len(acked) >= len(before) + 100, timeout=120, message="ingest goes on after the backup")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    assert report["destination"] == str(backup) and report["messages"] >= len(before)
    assert (backup / "postgate-backup.json").exists()
    assert not list(tmp_path.glob("backup.partial-*"))

    restored = tmp_path / "restored"
    proc = cli(restored, "restore", str(backup), "--json", check=False)
    result = json.loads(proc.stdout)
    assert proc.returncode == 0 and result["errors"] == 0, result
    rows = indexed(restored)
    for mid, subject in before:
        assert mid in rows, f"{mid} acknowledged before the backup is missing"
        row_subject, filename, path = rows[mid]
        assert row_subject == subject
        assert f"Subject: {subject}\r\n".encode() in file_of(restored, path, filename).read_bytes()

    # The live data directory is untouched, and the restored one serves.
    assert len(indexed(data_dir)) == len(acked)
    restored_server = spawn(restored)
    with smtplib.SMTP("127.0.0.1", restored_server.port, timeout=30) as smtp:
        smtp.sendmail("c@example.org", ["support@acme.test"],
                      "From: c@example.org\r\nSubject: after restore\r\nMessage-ID: <after@example.org>\r\n\r\nhi\r\n")
    assert "<after@example.org>" in indexed(restored)


def test_killed_backup_leaves_no_backup_and_a_new_one_succeeds(data_dir, spawn, tmp_path):
    server = spawn(data_dir)
    body = ("x" * 70 + "\r\n") * 30
    with smtplib.SMTP("127.0.0.1", server.port, timeout=60) as smtp:
        for i in range(1500):
            smtp.sendmail("c@example.org", ["support@acme.test"],
                          f"From: c@example.org\r\nSubject: k{i}\r\nMessage-ID: <k{i}@example.org>\r\n\r\n{body}")
    backup = tmp_path / "backup"
    proc = subprocess.Popen([str(BIN), "backup", str(backup), "--data", str(data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    partial = tmp_path / f"backup.partial-{proc.pid}"
    # Killed once the index snapshot is written and the files are being copied.
    wait_for(lambda: (partial / "maildir").exists() or proc.poll() is not None, timeout=60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    if proc.returncode == -signal.SIGKILL:
        assert not backup.exists(), "an interrupted backup must not take the final name"
        assert partial.exists()
        refused = cli(tmp_path / "r1", "restore", str(partial), check=False)
        assert refused.returncode == 1 and "not a complete Postgate backup" in refused.stderr
    # Either way the live data checks out and a new backup succeeds and restores.
    checked = cli(data_dir, "check", "--json", check=False)
    assert checked.returncode == 0, checked.stderr[-4000:]
    cli(data_dir, "backup", str(tmp_path / "again"))
    result = json.loads(cli(tmp_path / "r2", "restore", str(tmp_path / "again"), "--json").stdout)
    assert result["errors"] == 0 and len(indexed(tmp_path / "r2")) == 1500
