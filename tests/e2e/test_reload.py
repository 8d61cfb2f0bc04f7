"""Reloading without closing a session: SIGHUP and `postgate reload` read the configuration
and the TLS certificate and key again. Connections made after the reload get the new
certificate on every TLS listener (SMTP STARTTLS on MX and submission, submissions, IMAP
STARTTLS, IMAPS, the HTTP API); sessions open before it keep theirs and finish their work.
A configuration or certificate that does not check out is refused with one log line, and
the server keeps serving the old certificate; `postgate reload` refuses it without
signalling."""

from __future__ import annotations

import hashlib
import http.client
import imaplib
import json
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import BIN, cli, free_port, wait_for
from test_systemd import receive


def make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", f"/CN={name}.acme.test", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "30",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def fingerprint(cert: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()


def client_context() -> ssl.SSLContext:
    # The test compares the certificate itself, so it does not verify it.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def peer(sock: ssl.SSLSocket) -> str:
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


def smtp_starttls(port: int) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    client.ehlo("client.example")
    client.starttls(context=client_context())
    client.ehlo("client.example")
    return client


def message(number: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "customer@example.com"
    mail["To"] = "support@acme.test"
    mail["Subject"] = f"reload {number}"
    mail["Message-ID"] = f"<reload-{number}@example.com>"
    mail.set_content(f"message {number}\n")
    return mail


class Served:
    """A server whose certificate files the test rewrites, with its API port."""

    def __init__(self, server, tls: Path, config: Path, api_port: int):
        self.server, self.tls, self.config, self.api_port = server, tls, config, api_port

    def install(self, cert: Path, key: Path) -> None:
        """Replaces the configured files, as a renewal (certbot) does."""
        shutil.copy(cert, self.tls / "cert.pem")
        shutil.copy(key, self.tls / "key.pem")

    def log_count(self, text: str) -> int:
        return self.server.log.read_text(errors="replace").count(text)

    def reloaded(self, before: int) -> None:
        wait_for(lambda: self.log_count("configuration reloaded") > before, message="the reload is logged")

    def fingerprints(self) -> dict[str, str]:
        """The certificate each TLS listener offers to a new connection."""
        seen = {}
        for name, port in (("mx", self.server.port), ("submission", self.server.submission_port)):
            client = smtp_starttls(port)
            seen[name] = peer(client.sock)
            client.quit()
        with socket.create_connection(("127.0.0.1", self.server.submissions_port), timeout=30) as raw:
            with client_context().wrap_socket(raw) as tls:
                seen["submissions"] = peer(tls)
        imap = imaplib.IMAP4("127.0.0.1", self.server.imap_port, timeout=30)
        imap.starttls(ssl_context=client_context())
        seen["imap"] = peer(imap.sock)
        imap.logout()
        imaps = imaplib.IMAP4_SSL("127.0.0.1", self.server.imaps_port, ssl_context=client_context(), timeout=30)
        seen["imaps"] = peer(imaps.sock)
        imaps.logout()
        api = http.client.HTTPSConnection("127.0.0.1", self.api_port, context=client_context(), timeout=30)
        api.connect()
        seen["api"] = peer(api.sock)
        api.close()
        return seen


@pytest.fixture
def certificates(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path / "made"
    directory.mkdir()
    return {name: make_certificate(directory, name) for name in ("a", "b")}


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch):
    """A service manager's notification socket for the server started after it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    yield sock
    sock.close()


@pytest.fixture
def served(data_dir: Path, spawn, tmp_path: Path, certificates) -> Served:
    tls = tmp_path / "tls"
    tls.mkdir()
    api_port = free_port()
    config = tmp_path / "reload.yaml"
    config.write_text(f"hostname: localhost\ntls:\n  certificate_file: {tls / 'cert.pem'}\n  private_key_file: {tls / 'key.pem'}\n"
                      f"api:\n  listen: [\"127.0.0.1:{api_port}\"]\n")
    served = Served(None, tls, config, api_port)
    served.install(*certificates["a"])
    served.server = spawn(data_dir, config)
    # The file the server reads: the test's, with a loopback resolver added.
    served.config = served.server.config
    return served


def test_sighup_swaps_the_certificate_for_new_connections_and_open_sessions_finish(notify_socket, served: Served, certificates):
    a, b = (fingerprint(certificates[name][0]) for name in ("a", "b"))
    receive(notify_socket, "READY=1")
    assert set(served.fingerprints().values()) == {a}

    # Sessions open before the reload, in TLS with certificate A.
    smtp = smtp_starttls(served.server.port)
    imaps = imaplib.IMAP4_SSL("127.0.0.1", served.server.imaps_port, ssl_context=client_context(), timeout=30)
    assert peer(smtp.sock) == a and peer(imaps.sock) == a

    # Load during the reload: new sessions one after another, each delivering a message.
    stop = threading.Event()
    delivered: list[int] = []
    failures: list[BaseException] = []

    def load() -> None:
        number = 100
        while not stop.is_set():
            try:
                client = smtp_starttls(served.server.port)
                client.send_message(message(number))
                client.quit()
                delivered.append(number)
            except BaseException as error:  # noqa: BLE001 - reported by the test
                failures.append(error)
                return
            number += 1

    worker = threading.Thread(target=load)
    worker.start()
    try:
        wait_for(lambda: len(delivered) >= 2, message="the load runs")
        served.install(*certificates["b"])
        before = served.log_count("configuration reloaded")
        served.server.signal(signal.SIGHUP)
        served.reloaded(before)
        seen = receive(notify_socket, "READY=1")
        reloading = next(m for m in seen if "RELOADING=1" in m.split("\n"))
        assert any(line.startswith("MONOTONIC_USEC=") for line in reloading.split("\n")), reloading
        count = len(delivered)
        wait_for(lambda: len(delivered) >= count + 2, message="the load goes on after the reload")
    finally:
        stop.set()
        worker.join(60)
    assert failures == [], failures

    # Every listener offers B to new connections.
    assert served.fingerprints() == {name: b for name in ("mx", "submission", "submissions", "imap", "imaps", "api")}

    # The sessions opened before still run on A and finish their work.
    assert peer(smtp.sock) == a
    assert smtp.send_message(message(1)) == {}
    assert smtp.quit()[0] == 221
    assert imaps.noop()[0] == "OK"
    assert imaps.logout()[0] == "BYE"
    assert served.server.poll() is None


def test_postgate_reload_checks_then_signals(served: Served, certificates, data_dir: Path):
    b = fingerprint(certificates["b"][0])
    served.install(*certificates["b"])
    # A changed log level applies; a changed listener setting waits for a restart.
    served.config.write_text(served.config.read_text() + "log_level: debug\nsmtp:\n  limits:\n    max_recipients: 7\n")
    before = served.log_count("configuration reloaded")
    proc = cli(data_dir, "reload", "--json")
    outcome = json.loads(proc.stdout)
    assert outcome["pid"] == served.server.pid and outcome["signalled"] is True
    assert outcome["config"] == str(served.config.resolve())
    served.reloaded(before)
    assert set(served.fingerprints().values()) == {b}
    lines = served.server.log.read_text().splitlines()
    reloaded = [line for line in lines if "configuration reloaded" in line][-1]
    assert "log_level" in reloaded, reloaded
    restart = [line for line in lines if "restart needed" in line]
    assert len(restart) == 1 and "settings=smtp" in restart[0], restart

    # Naming another file than the server's is refused.
    other = served.config.parent / "other.yaml"
    other.write_text(served.config.read_text())
    proc = cli(data_dir, "reload", "--config", str(other), check=False)
    assert proc.returncode == 1 and "reads its own file" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_a_broken_configuration_or_certificate_is_refused_and_the_old_certificate_stays(served: Served, certificates, data_dir):
    a = fingerprint(certificates["a"][0])
    good = served.config.read_text()
    refused = 0
    for name, breakage in (("YAML", lambda: served.config.write_text(good + "smtp: [unclosed\n")),
                           ("unknown setting", lambda: served.config.write_text(good + "smtp:\n  limitz: 1\n")),
                           ("certificate", lambda: (served.tls / "cert.pem").write_text("not a certificate\n"))):
        breakage()
        # `postgate reload` refuses it in one line, without signalling.
        proc = cli(data_dir, "reload", check=False)
        assert proc.returncode == 1, (name, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("postgate: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert "not signalled" in proc.stderr, proc.stderr
        # SIGHUP: the server refuses it in one log line and keeps certificate A.
        served.server.signal(signal.SIGHUP)
        wait_for(lambda: served.log_count("configuration reload refused") > refused, message=f"{name} is refused")
        refused += 1
        line = [line for line in served.server.log.read_text().splitlines() if "reload refused" in line][-1]
        assert "error=" in line, line
        assert set(served.fingerprints().values()) == {a}, name
        served.config.write_text(good)
        served.install(*certificates["a"])
    assert served.log_count("configuration reloaded") == 0
    assert served.server.poll() is None


SIGNAL_RECORDER = """
import signal, sys
record = open(sys.argv[2], "a", buffering=1)
signal.signal(signal.SIGHUP, lambda *_: record.write("HUP\\n"))
signal.signal(signal.SIGUSR1, lambda *_: record.write("USR1\\n"))
record.write("ready\\n")
while True:
    signal.pause()
"""


def test_reload_refuses_without_signalling_and_finds_no_server(tmp_path: Path, postgate_bin):
    """A stand-in process that looks like `postgate serve` records the signals it gets, so
    the test sees that an invalid configuration sends none."""
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "postgate.yaml"
    config.write_text("hostname: localhost\n")
    proc = cli(data, "reload", check=False)
    assert proc.returncode == 1 and "no postgate serve runs" in proc.stderr, proc.stderr

    record = tmp_path / "signals.txt"
    pid = os.posix_spawn(sys.executable, ["postgate", "-c", SIGNAL_RECORDER, "serve", str(record)], dict(os.environ))
    try:
        wait_for(lambda: record.exists() and "ready" in record.read_text())
        (data / "postgate.pid").write_text(f"{pid}\n{config}\n")
        config.write_text("hostname: localhost\nsmtp: [unclosed\n")
        proc = cli(data, "reload", check=False)
        assert proc.returncode == 1 and "not valid YAML" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
        # Signals pending together are handled lowest number first: a SIGHUP sent by the
        # command would be recorded before this SIGUSR1.
        os.kill(pid, signal.SIGUSR1)
        wait_for(lambda: "USR1" in record.read_text())
        assert "HUP" not in record.read_text()

        config.write_text("hostname: localhost\n")
        assert cli(data, "reload").returncode == 0
        wait_for(lambda: "HUP" in record.read_text(), message="a valid configuration is signalled")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    # The file of a server that is gone names no running server: nothing is signalled.
    proc = cli(data, "reload", check=False)
    assert proc.returncode == 1 and "which is not postgate serve" in proc.stderr, proc.stderr
