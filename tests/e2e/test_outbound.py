"""End-to-end tests of the outbound queue and SMTP client (RFC 5321, client side).

The next hop is a real aiosmtpd server (PyPI) started here on a free loopback port. Its
handler can answer 451/550 per recipient or per attempt, drop the connection after the
data (a server that dies before answering the final dot), hang until told to go on, and
require STARTTLS and AUTH. Messages are queued with the hidden
`postgate outbound enqueue` and delivered by `postgate outbound flush` (one pass) or the
long-running worker `postgate outbound run`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import BIN, cli, free_port, wait_for

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402


# --------------------------------------------------------------------------- the sink


class SinkHandler:
    """An aiosmtpd handler that records what it acknowledged and answers by script."""

    def __init__(self):
        self.acknowledged: list[tuple[str, list[str], bytes]] = []
        self.rcpt_script: dict[str, list[str]] = {}  # address -> replies, one per attempt
        self.data_script: list[str] = []  # per DATA: "250", "451 ...", "550 ...", "die", "hang"
        self.rcpt_seen: dict[str, int] = {}
        self.in_data = threading.Event()
        self.release = threading.Event()
        self.sessions: list[dict] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen[address] = self.rcpt_seen.get(address, 0) + 1
        script = self.rcpt_script.get(address)
        if script:
            reply = script.pop(0)
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        action = self.data_script.pop(0) if self.data_script else "250"
        self.sessions.append({"tls": session.ssl is not None, "auth": session.authenticated})
        if action == "die":
            server.transport.abort()
            return "451 gone"
        if action == "hang":
            self.in_data.set()
            import asyncio
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 aborted by the test"
        if not action.startswith("250"):
            return action
        self.acknowledged.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued"

    def count(self, marker: bytes) -> int:
        return sum(1 for _, _, content in self.acknowledged if marker in content)


def start_sink(tls: bool = False, auth: bool = False):
    handler = SinkHandler()
    port = free_port()
    kwargs = {}
    if tls:
        kwargs["tls_context"] = sink_tls_context()
        kwargs["require_starttls"] = True
    if auth:
        kwargs["authenticator"] = lambda server, session, envelope, mechanism, data: AuthResult(
            success=isinstance(data, LoginPassword) and data.login == b"relayuser" and data.password == b"s3cret pass",
            handled=False,  # aiosmtpd then answers 535 itself (handled=True would leave the client waiting)
        )
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = True
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, handler, port


_TLS_DIR: list[Path] = []


def sink_tls_context() -> ssl.SSLContext:
    import tempfile

    if not _TLS_DIR:
        d = Path(tempfile.mkdtemp(prefix="postgate-sink-tls-"))
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"),
             "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=sink.test"],
            check=True, capture_output=True,
        )
        _TLS_DIR.append(d)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(_TLS_DIR[0] / "cert.pem", _TLS_DIR[0] / "key.pem")
    return ctx


@pytest.fixture
def sink():
    controller, handler, port = start_sink()
    yield handler, port
    handler.release.set()
    controller.stop()


# --------------------------------------------------------------------------- helpers


def write_outbound_config(path: Path, port: int, tls: str = "none", extra: str = "") -> Path:
    path.write_text(
        "outbound:\n"
        f"  smarthost: 127.0.0.1:{port}\n"
        f"  tls: {tls}\n"
        "  verify_certificates: false\n"
        f"{extra}"
        "  retry: {first: 3600, factor: 2, max_interval: 7200, lifetime: 86400}\n"
        "  timeouts: {connect: 5, greeting: 5, command: 5, data_initiation: 5, data_block: 5, data_termination: 5}\n"
        "  poll_interval: 0.2\n"
    )
    return path


def enqueue(data: Path, sender: str, recipients: list[str], message: bytes) -> int:
    argv = [str(BIN), "outbound", "enqueue", "--from", sender, "--data", str(data), "--json"]
    for r in recipients:
        argv += ["--to", r]
    proc = subprocess.run(argv, input=message, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)["id"]


def flush(data: Path, config: Path) -> subprocess.CompletedProcess:
    return cli(data, "outbound", "flush", "--config", str(config))


def show(data: Path, message_id: int) -> dict:
    return json.loads(cli(data, "outbound", "show", str(message_id), "--json").stdout)


def states(data: Path, message_id: int) -> dict[str, str]:
    return {r["address"]: r["state"] for r in show(data, message_id)["recipients"]}


def message_bytes(marker: str) -> bytes:
    return (
        "From: Agent <agent@acme.test>\r\n"
        "To: customer@example.test\r\n"
        f"Subject: {marker}\r\n"
        "\r\n"
        "Hello,\r\n"
        ".a line that starts with a dot\r\n"
        ".\r\n"
        "..two dots\r\n"
        "caf\xc3\xa9 (8-bit)\r\n"
        "last line\r\n"
    ).encode("latin-1")


@pytest.fixture
def data(tmp_path: Path, postgate_bin: Path) -> Path:
    return tmp_path / "data"


# --------------------------------------------------------------------------- tests


def test_delivery_is_byte_exact_and_once(data: Path, tmp_path: Path, sink):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port)
    body = message_bytes("byte-exact")
    mid = enqueue(data, "agent@acme.test", ["customer@example.test", "other@example.test"], body)
    assert states(data, mid) == {"customer@example.test": "queued", "other@example.test": "queued"}
    queued_file = data / "outbound" / show(data, mid)["filename"]
    assert queued_file.read_bytes() == body

    flush(data, config)
    assert len(handler.acknowledged) == 1
    sender, rcpts, content = handler.acknowledged[0]
    assert sender == "agent@acme.test"
    assert rcpts == ["customer@example.test", "other@example.test"]
    assert content == body  # the server undid the dot-stuffing
    record = show(data, mid)
    assert {r["state"] for r in record["recipients"]} == {"delivered"}
    assert all(r["lastReply"].startswith("250 2.0.0") for r in record["recipients"])
    assert not queued_file.exists()

    flush(data, config)  # nothing due: nothing sent again
    assert len(handler.acknowledged) == 1
    listing = json.loads(cli(data, "outbound", "list", "--json").stdout)
    assert [m["id"] for m in listing] == [mid]
    assert json.loads(cli(data, "outbound", "list", "--pending", "--json").stdout) == []


def test_bare_lf_message_goes_out_with_crlf(data: Path, tmp_path: Path, sink):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port)
    enqueue(data, "", ["customer@example.test"], b"Subject: lf\n\n.dot\nend")
    flush(data, config)
    assert handler.acknowledged[0][0] == "<>" or handler.acknowledged[0][0] == ""
    assert handler.acknowledged[0][2] == b"Subject: lf\r\n\r\n.dot\r\nend\r\n"


def test_451_then_success_is_delivered_exactly_once(data: Path, tmp_path: Path, sink):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port)
    handler.rcpt_script["slow@example.test"] = ["451 4.7.1 greylisted, try later"]
    handler.data_script = ["250"]
    mid = enqueue(data, "agent@acme.test", ["fast@example.test", "slow@example.test"], message_bytes("grey"))

    flush(data, config)
    assert states(data, mid) == {"fast@example.test": "delivered", "slow@example.test": "deferred"}
    slow = [r for r in show(data, mid)["recipients"] if r["address"] == "slow@example.test"][0]
    assert slow["attempts"] == 1 and "451 4.7.1 greylisted" in slow["lastReply"]
    assert handler.acknowledged[0][1] == ["fast@example.test"]

    # Not due for an hour: a plain worker pass does not touch it; flush makes it due.
    flush(data, config)
    assert states(data, mid) == {"fast@example.test": "delivered", "slow@example.test": "delivered"}
    assert [a[1] for a in handler.acknowledged] == [["fast@example.test"], ["slow@example.test"]]
    assert handler.rcpt_seen == {"fast@example.test": 1, "slow@example.test": 2}


def test_data_451_defers_and_550_fails_at_once(data: Path, tmp_path: Path, sink):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port)
    handler.rcpt_script["nobody@example.test"] = ["550 5.1.1 no such user"]
    handler.data_script = ["451 4.3.0 disk full"]
    mid = enqueue(data, "agent@acme.test", ["nobody@example.test", "someone@example.test"], message_bytes("fail"))
    flush(data, config)
    record = {r["address"]: r for r in show(data, mid)["recipients"]}
    assert record["nobody@example.test"]["state"] == "failed"
    assert record["nobody@example.test"]["lastReply"] == "550 5.1.1 no such user"
    assert record["someone@example.test"]["state"] == "deferred"
    assert record["someone@example.test"]["lastReply"] == "451 4.3.0 disk full"

    flush(data, config)
    assert states(data, mid) == {"nobody@example.test": "failed", "someone@example.test": "delivered"}
    assert handler.rcpt_seen["nobody@example.test"] == 1  # a failed recipient is never tried again
    assert handler.count(b"Subject: fail") == 1


def test_server_dying_before_the_final_reply_is_retried(data: Path, tmp_path: Path, sink):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port)
    handler.data_script = ["die"]
    mid = enqueue(data, "agent@acme.test", ["customer@example.test"], message_bytes("dies"))
    flush(data, config)
    r = show(data, mid)["recipients"][0]
    assert r["state"] == "deferred"
    assert "lost" in r["lastReply"] or "closed" in r["lastReply"]
    flush(data, config)
    assert states(data, mid) == {"customer@example.test": "delivered"}
    assert handler.count(b"Subject: dies") == 1


def test_connection_refused_defers(data: Path, tmp_path: Path):
    config = write_outbound_config(tmp_path / "c.yaml", free_port())
    mid = enqueue(data, "agent@acme.test", ["customer@example.test"], message_bytes("refused"))
    flush(data, config)
    r = show(data, mid)["recipients"][0]
    assert r["state"] == "deferred" and "cannot connect" in r["lastReply"]


def test_starttls_and_auth_required(data: Path, tmp_path: Path):
    controller, handler, port = start_sink(tls=True, auth=True)
    try:
        password = tmp_path / "relay.password"
        password.write_text("s3cret pass\n")
        extra = f"  auth_user: relayuser\n  auth_password_file: {password}\n"
        config = write_outbound_config(tmp_path / "c.yaml", port, tls="required", extra=extra)
        mid = enqueue(data, "agent@acme.test", ["customer@example.test"], message_bytes("tls"))
        flush(data, config)
        assert states(data, mid) == {"customer@example.test": "delivered"}
        assert handler.sessions == [{"tls": True, "auth": True}]
        assert handler.acknowledged[0][2] == message_bytes("tls")

        # A wrong password: deferred with the server's reply, nothing delivered.
        password.write_text("wrong")
        mid2 = enqueue(data, "agent@acme.test", ["customer@example.test"], message_bytes("tls2"))
        flush(data, config)
        r = show(data, mid2)["recipients"][0]
        assert r["state"] == "deferred" and r["lastReply"].startswith("535")
    finally:
        controller.stop()


def test_required_tls_not_offered_defers(data: Path, tmp_path: Path, sink):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port, tls="required")
    mid = enqueue(data, "agent@acme.test", ["customer@example.test"], message_bytes("notls"))
    flush(data, config)
    r = show(data, mid)["recipients"][0]
    assert r["state"] == "deferred" and "STARTTLS" in r["lastReply"]
    assert handler.acknowledged == []


def spawn_worker(data: Path, config: Path, log: Path) -> int:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        return os.posix_spawn(
            str(BIN), [str(BIN), "outbound", "run", "--data", str(data), "--config", str(config)], dict(os.environ),
            file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                          (os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)],
            setsigmask=[], setsigdef=[signal.SIGTERM, signal.SIGINT, signal.SIGPIPE],
        )
    finally:
        os.close(fd)


def test_sigkill_during_delivery_then_restart(data: Path, tmp_path: Path, sink):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port)
    handler.data_script = ["250", "hang"]
    first = enqueue(data, "agent@acme.test", ["one@example.test"], message_bytes("first"))
    second = enqueue(data, "agent@acme.test", ["two@example.test"], message_bytes("second"))

    log = tmp_path / "worker.log"
    pid = spawn_worker(data, config, log)
    try:
        assert handler.in_data.wait(30), log.read_text()
        # The first message was acknowledged and recorded before the second was sent.
        assert states(data, first) == {"one@example.test": "delivered"}
        assert states(data, second) == {"two@example.test": "queued"}
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        handler.release.set()

    # The restarted worker takes over the dead worker's claim at once and delivers the
    # second message; the first, which the server acknowledged, is never sent again.
    pid = spawn_worker(data, config, log)
    try:
        wait_for(lambda: states(data, second) == {"two@example.test": "delivered"})
        # Stopped (gracefully) before counting: whatever it was going to send is sent by then.
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, log.read_text()
        assert handler.count(b"Subject: first") == 1
        assert handler.count(b"Subject: second") == 1
        assert show(data, first)["recipients"][0]["attempts"] == 1, "the first message was tried again"
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_cli_errors_and_drop(data: Path, tmp_path: Path, sink):
    handler, port = sink
    mid = enqueue(data, "agent@acme.test", ["customer@example.test"], message_bytes("drop"))
    proc = cli(data, "outbound", "show", "999", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("postgate: there is no outbound message 999")
    bad = tmp_path / "bad.yaml"
    bad.write_text("outbound:\n  tls: sometimes\n")
    proc = cli(data, "outbound", "flush", "--config", str(bad), check=False)
    assert proc.returncode == 1 and "outbound.tls" in proc.stderr and proc.stderr.count("\n") == 1
    assert "1 recipient due now" in cli(data, "outbound", "retry", str(mid)).stdout
    cli(data, "outbound", "drop", str(mid))
    assert json.loads(cli(data, "outbound", "list", "--json").stdout) == []
    assert list((data / "outbound").iterdir()) == []
