"""Running under systemd: the unit file in Config/ passes `systemd-analyze verify` without
a warning, the production configuration reads, and `postgate serve` speaks the service
manager's notification protocol (READY=1 after every listener is bound, WATCHDOG=1 pings,
STOPPING=1 at SIGTERM) to a notification socket the test listens on."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, ROOT, Server, cli, free_port

UNIT = ROOT / "Config" / "postgate.service"
PRODUCTION = ROOT / "Config" / "postgate.production.yaml"


def verify(unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_file_verifies_without_warnings(tmp_path):
    text = UNIT.read_text()
    for line in ("Type=notify", "WatchdogSec=", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ProtectSystem=strict",
                 "ReadWritePaths=/var/lib/postgate", "NoNewPrivileges=yes", "PrivateTmp=yes", "User=postgate",
                 "ExecReload=/bin/kill -HUP $MAINPID"):
        assert line in text, line
    # verify needs the ExecStart binary to exist: point it at the one just built.
    unit = tmp_path / "postgate.service"
    unit.write_text(text.replace("/usr/local/bin/postgate", str(BIN)))
    proc = verify(unit)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
    # The check can fail: a misspelt key is reported.
    bad = tmp_path / "bad.service"
    bad.write_text(unit.read_text().replace("Type=notify", "Typ=notify"))
    assert "Unknown key" in verify(bad).stderr


def test_production_configuration_reads(tmp_path):
    proc = cli(tmp_path / "data", "check", "--json", "--config", str(PRODUCTION), check=False)
    report = json.loads(proc.stdout)
    config = report["findings"][0]
    assert config["subject"] == "config" and config["severity"] == "ok", report
    # Its certificate paths are the host's; here they are missing, and check says so.
    assert any(f["subject"] == "tls" and f["severity"] == "error" for f in report["findings"])


def receive(sock: socket.socket, want: str, timeout: float = 60.0) -> list[str]:
    """Datagrams until one carrying the line `want`; all of them, in order."""
    sock.settimeout(timeout)
    seen: list[str] = []
    while True:
        message = sock.recv(4096).decode()
        seen.append(message)
        if want in message.split("\n"):
            return seen


@pytest.mark.parametrize("abstract", [False, True])
def test_serve_notifies_ready_watchdog_and_stopping(data_dir, tmp_path, monkeypatch, abstract):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"postgate-test-{free_port()}"
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    else:
        path = tmp_path / "notify.sock"
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    server = Server(data_dir, free_port())
    try:
        server.start()
        seen = receive(sock, "READY=1")
        # Ready means every listener answers: SMTP, IMAP and submission.
        for port in (server.port, server.imap_port, server.submission_port):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert not any("STOPPING=1" in m for m in seen)
        # The watchdog pings, more than once.
        receive(sock, "WATCHDOG=1")
        receive(sock, "WATCHDOG=1")
        server.signal(signal.SIGTERM)
        receive(sock, "STOPPING=1")
        assert server.wait(30) == 0, server.log_text()
    finally:
        server.stop()
        sock.close()


def test_watchdog_for_another_process_is_ignored(data_dir, tmp_path, monkeypatch):
    """WATCHDOG_PID naming another process: the watchdog is not this one's to ping."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    server = Server(data_dir, free_port())
    try:
        server.start()
        receive(sock, "READY=1")
        # Ten watchdog intervals pass with no datagram (a ping would come every 50 ms).
        sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            sock.recv(4096)
        server.signal(signal.SIGTERM)
        seen = receive(sock, "STOPPING=1")
        assert server.wait(30) == 0
        assert not any("WATCHDOG=1" in m for m in seen), seen
    finally:
        server.stop()
        sock.close()
