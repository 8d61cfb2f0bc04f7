"""A small or full data filesystem: `serve` starts on a 20 MiB one (the index WAL is
preallocated only as far as the free space allows), a delivery that finds the disk full
is answered `452 4.3.1` (RFC 3463: mail system full) and stores nothing, and mail is
accepted again as soon as space returns, without a restart.

The filesystem is a tmpfs mounted in a mount namespace of the server's own; the test
reaches it through /proc/PID/root."""

from __future__ import annotations

import errno
import re
import shutil
import smtplib
import subprocess
from pathlib import Path

import pytest

from conftest import Server, cli, free_port, wait_for
from test_imap import add_agent, login

SIZE_MIB = 20


def mountable(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    proc = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {probe}"],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode == 0


def fill(path: Path) -> None:
    """Writes zeros to `path` until the filesystem has no block left."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096):
            try:
                while True:
                    f.write(bytes(size))
            except OSError as error:
                assert error.errno == errno.ENOSPC, error


def send(port: int, subject: str) -> None:
    body = "x" * 76 + "\r\n"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("c@example.org", ["support@acme.test"],
                      f"From: c@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\n" + body * 2000)


def test_small_filesystem_serves_answers_452_when_full_and_recovers(tmp_path, postgate_bin):
    if not mountable(tmp_path):
        pytest.skip("cannot mount a tmpfs in a mount namespace here")
    prepared = tmp_path / "prepared"
    cli(prepared, "domain", "add", "acme.test")
    cli(prepared, "address", "add", "support@acme.test")
    add_agent(prepared)
    data = tmp_path / "data"
    data.mkdir()
    mount = f'mount -t tmpfs -o size={SIZE_MIB}m tmpfs {data} && cp -a {prepared}/. {data}/ && exec "$@"'
    server = Server(data, free_port(), wrapper=[shutil.which("unshare"), "-m", "sh", "-c", mount, "sh"]).start()
    try:
        view = Path(f"/proc/{server.pid}/root{data}")
        wal = (view / "postgate.sqlite-wal").stat().st_size
        assert 0 < wal < SIZE_MIB << 20, wal
        assert "index WAL preallocated short" in server.log_text()

        send(server.port, "before")
        imap = login(server)
        filler = view / "filler"
        fill(filler)
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            send(server.port, "full")
        assert (refused.value.smtp_code, refused.value.smtp_error[:5]) == (452, b"4.3.1"), refused.value
        draft = b"From: alice@acme.test\r\nSubject: draft\r\n\r\n" + b"y" * 200_000 + b"\r\n"
        typ, data = imap.append("Drafts", None, None, draft)
        assert typ == "NO" and b"[OVERQUOTA]" in data[0], (typ, data)  # as Dovecot answers a full disk
        imap.logout()

        filler.unlink()
        send(server.port, "after")
        mailbox = view / "maildir" / "acme.test" / "support"

        def subjects() -> list[str] | None:
            files = [f for sub in ("new", "cur") for f in (mailbox / sub).iterdir()]
            if len(files) < 2:
                return None
            return sorted(re.search(rb"^Subject: (\w+)", f.read_bytes(), re.M).group(1).decode() for f in files)

        assert wait_for(subjects, message="the message sent after space returned is in the Maildir") == ["after", "before"]
    finally:
        assert server.stop() == 0, server.log_text()
