"""Sending gateways end to end: a channel address whose replies leave through the customer's
own submission server (an aiosmtpd on loopback with STARTTLS or implicit TLS and AUTH PLAIN
and LOGIN checking the user and password). The reply arrives there authenticated as the
configured user, with the reply's envelope and DKIM signature, and not at the gateway's
normal next hop; a wrong password leaves it queued with the server's refusal; with Save to
Sent its copy appears once in the provider mailbox's Sent folder (a private Dovecot)."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import tempfile
import warnings
from pathlib import Path

import pytest
from aiosmtpd import controller as aiosmtpd_controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import dovecot
from conftest import BIN, cli, db, free_port, wait_for
from test_imap import add_agent
from test_outbound import sink, write_outbound_config  # noqa: F401

ADDRESS = "support@acme.test"
USER = "support@customer.example"
PASSWORD = "submission pass 1"
MAILBOX_PASSWORD = "correct horse battery"


# --------------------------------------------------------------------------- submission server


class SubmissionHandler:
    """Records every message it accepts with the session's TLS and authenticated user."""

    def __init__(self):
        self.accepted: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append({
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "content": envelope.original_content,
            # STARTTLS sets session.ssl; with implicit TLS the transport itself is TLS.
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "user": session.auth_data if session.authenticated else None,
        })
        return "250 2.0.0 Ok: accepted by the provider"


class Certificate:
    """A self-signed certificate for 127.0.0.1, also the CA file the gateway trusts."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="postgate-submission-tls-"))
        self.cert = self.dir / "cert.pem"
        self.key = self.dir / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(self.key), "-out", str(self.cert)],
                       check=True, capture_output=True)

    def context(self) -> ssl.SSLContext:
        # A context usable on both sides: the controller's readiness check connects with it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def authenticator(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    # handled=False: aiosmtpd answers 535 5.7.8 itself on failure.
    return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


@pytest.fixture
def certificate():
    return Certificate()


def start_submission(certificate: Certificate, implicit: bool):
    handler = SubmissionHandler()
    port = free_port()
    kwargs = {"authenticator": authenticator, "auth_required": True}
    if implicit:
        # The whole connection is TLS; aiosmtpd's auth_require_tls (on by default) looks for
        # STARTTLS only and would hide AUTH.
        kwargs["ssl_context"] = certificate.context()
        kwargs["auth_require_tls"] = False
    else:
        kwargs["tls_context"] = certificate.context()
        kwargs["require_starttls"] = True
        kwargs["auth_require_tls"] = True
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, handler, port


@pytest.fixture
def submission(certificate):
    controller, handler, port = start_submission(certificate, implicit=False)
    yield handler, port
    controller.stop()


@pytest.fixture
def submissions(certificate):
    controller, handler, port = start_submission(certificate, implicit=True)
    yield handler, port
    controller.stop()


# --------------------------------------------------------------------------- helpers


def js(data: Path, *args: str):
    return json.loads(cli(data, *args, "--json").stdout)


def channel(data: Path) -> None:
    cli(data, "queue", "add", "support")
    cli(data, "address", "set", ADDRESS, "--queue", "support", "--publish")
    add_agent(data)


def secret_file(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n")
    os.chmod(path, 0o600)
    return path


def connect_sending(data: Path, tmp_path: Path, port: int, certificate: Certificate, tls: str = "starttls",
                    password: str = PASSWORD, *extra: str) -> None:
    cli(data, "connector", "set", ADDRESS, "--sending", "--host", "127.0.0.1", "--port", str(port), "--tls", tls,
        "--username", USER, "--password-file", str(secret_file(tmp_path, "smtp-password", password)),
        "--ca-file", str(certificate.cert), *extra)
    cli(data, "publish", "--comment", "send through the customer's server")


def submit_reply(data: Path, body: str = "It ships today.") -> int:
    message = (f"To: Jane <jane@example.test>\r\nSubject: Re: where is my order\r\n\r\n{body}\r\n")
    proc = subprocess.run([str(BIN), "outbound", "submit", "--from", ADDRESS, "--agent", "alice", "--to", "jane@example.test",
                           "--data", str(data), "--json"], input=message.encode(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    (entry,) = js(data, "outbound", "list")
    return entry["id"]


def config(tmp_path: Path, next_hop: int) -> Path:
    path = write_outbound_config(tmp_path / "send.yaml", next_hop)
    path.write_text("hostname: postgate.e2e.test\n" + path.read_text()
                    + "connectors:\n  retry_delay: 1\n  reload_interval: 1\n")
    return path


# --------------------------------------------------------------------------- tests


def test_reply_leaves_through_the_sending_gateway_with_starttls(data_dir, tmp_path, certificate, submission, sink, spawn):
    handler, port = submission
    next_hop, next_hop_port = sink
    channel(data_dir)
    connect_sending(data_dir, tmp_path, port, certificate)
    spawn(data_dir, config(tmp_path, next_hop_port))
    mid = submit_reply(data_dir)
    wait_for(lambda: len(handler.accepted) == 1, message="the reply at the customer's submission server")
    (got,) = handler.accepted
    assert got["tls"] and got["user"] == USER.encode()
    assert got["mail_from"] == ADDRESS and got["rcpt_tos"] == ["jane@example.test"]
    assert b"It ships today." in got["content"]
    keys = js(data_dir, "dkim", "show", "acme.test")
    if keys:
        assert got["content"].startswith(b"DKIM-Signature:") and b"d=acme.test" in got["content"].split(b"\r\n\r\n")[0]
    assert next_hop.acknowledged == [], "the normal next hop got nothing"
    record = js(data_dir, "outbound", "show", str(mid))
    (recipient,) = record["recipients"]
    assert recipient["state"] == "delivered" and "accepted by the provider" in recipient["lastReply"]


def test_wrong_password_keeps_the_reply_queued_with_the_refusal(data_dir, tmp_path, certificate, submission, sink, spawn):
    handler, port = submission
    next_hop, next_hop_port = sink
    channel(data_dir)
    connect_sending(data_dir, tmp_path, port, certificate, "starttls", "not the password")
    spawn(data_dir, config(tmp_path, next_hop_port))
    mid = submit_reply(data_dir)

    def recipient() -> dict:
        (r,) = js(data_dir, "outbound", "show", str(mid))["recipients"]
        return r
    wait_for(lambda: recipient()["state"] == "deferred", message="the reply deferred")
    r = recipient()
    assert r["lastReply"].startswith("535"), r
    assert handler.accepted == [] and next_hop.acknowledged == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_submission(data_dir, tmp_path, certificate, submissions, sink, spawn):
    handler, port = submissions
    next_hop, next_hop_port = sink
    channel(data_dir)
    connect_sending(data_dir, tmp_path, port, certificate, "implicit")
    spawn(data_dir, config(tmp_path, next_hop_port))
    mid = submit_reply(data_dir, body="Over implicit TLS.")
    try:
        wait_for(lambda: len(handler.accepted) == 1, message="the reply at the implicit TLS submission server")
    except AssertionError as error:
        raise AssertionError(f"{error}: {js(data_dir, 'outbound', 'show', str(mid))['recipients']}") from None
    (got,) = handler.accepted
    assert got["tls"] and got["user"] == USER.encode() and b"Over implicit TLS." in got["content"]
    assert next_hop.acknowledged == []


def test_untrusted_certificate_is_refused(data_dir, tmp_path, certificate, submission, sink, spawn):
    handler, port = submission
    next_hop, next_hop_port = sink
    channel(data_dir)
    other = Certificate()  # the gateway trusts a CA that did not sign the server's certificate
    connect_sending(data_dir, tmp_path, port, other)
    spawn(data_dir, config(tmp_path, next_hop_port))
    mid = submit_reply(data_dir)

    def recipient() -> dict:
        (r,) = js(data_dir, "outbound", "show", str(mid))["recipients"]
        return r
    wait_for(lambda: recipient()["state"] == "deferred", message="the reply deferred")
    assert "TLS" in recipient()["lastReply"] or "certificate" in recipient()["lastReply"].lower()
    assert handler.accepted == [] and next_hop.acknowledged == []


@pytest.mark.skipif(not dovecot.installed(), reason="Dovecot (dovecot-imapd) is not installed")
def test_save_to_sent_appends_the_reply_once(data_dir, tmp_path, certificate, submission, sink, spawn):
    handler, port = submission
    _, next_hop_port = sink
    mailbox = dovecot.Dovecot()
    for sub in ("cur", "new", "tmp"):
        (mailbox.maildir(folder="Sent") / sub).mkdir(parents=True, exist_ok=True)
    mailbox.start()
    try:
        channel(data_dir)
        cli(data_dir, "connector", "set", ADDRESS, "--receiving", "imap", "--host", "127.0.0.1", "--port", str(mailbox.imaps_port),
            "--tls", "implicit", "--username", "alice",
            "--password-file", str(secret_file(tmp_path, "imap-password", MAILBOX_PASSWORD)),
            "--ca-file", str(mailbox.cert), "--poll-interval", "60")
        connect_sending(data_dir, tmp_path, port, certificate, "starttls", PASSWORD, "--save-to-sent", "true", "--sent-folder", "Sent")
        spawn(data_dir, config(tmp_path, next_hop_port))
        mid = submit_reply(data_dir, body="Saved to Sent.")
        wait_for(lambda: len(handler.accepted) == 1, message="the reply at the submission server")

        def sent_copy() -> int:
            with db(data_dir) as conn:
                return conn.execute("SELECT sent_copy FROM outbound_message WHERE id = ?", (mid,)).fetchone()[0]
        wait_for(lambda: sent_copy() == 2, timeout=60, message=f"the Sent copy stored\n{mailbox.log()}")
        (stored,) = mailbox.message_files(folder="Sent")
        assert stored.name.endswith(",S"), "appended with \\Seen"
        content = stored.read_bytes()
        assert b"Saved to Sent." in content
        assert content.replace(b"\r\n", b"\n") == handler.accepted[0]["content"].replace(b"\r\n", b"\n")
        # Later passes append nothing more, and the queued file is gone once nothing needs it.
        wait_for(lambda: not (data_dir / "outbound" / js(data_dir, "outbound", "show", str(mid))["filename"]).exists(),
                 message="the queued file removed")
        assert len(mailbox.message_files(folder="Sent")) == 1
        assert mailbox.message_files() == []
    finally:
        mailbox.stop()


def test_connector_test_checks_the_sending_gateway_and_sends_a_test_message(data_dir, tmp_path, certificate, submission):
    handler, port = submission
    channel(data_dir)
    cli(data_dir, "connector", "set", ADDRESS, "--sending", "--host", "127.0.0.1", "--port", str(port), "--tls", "starttls",
        "--username", USER, "--password-file", str(secret_file(tmp_path, "smtp-password", PASSWORD)),
        "--ca-file", str(certificate.cert))
    proc = cli(data_dir, "connector", "test", ADDRESS, "--sending", "--json", check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"] and report["settings"] == "draft", report
    steps = [s["step"] for s in report["steps"]]
    assert steps[0] == "open stored password" and "starttls" in steps and steps[-1] == "authenticate"
    assert handler.accepted == [], "without --send-to nothing is sent"
    # With --send-to a real message goes out through the gateway.
    proc = cli(data_dir, "connector", "test", ADDRESS, "--send-to", "jane@example.test", "--json", check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["steps"][-1]["step"] == "send test message", report
    wait_for(lambda: len(handler.accepted) == 1, message="the test message at the submission server")
    (got,) = handler.accepted
    assert got["rcpt_tos"] == ["jane@example.test"] and got["tls"] and got["user"]
    assert b"Subject: Postgate connection test" in got["content"]
    # A wrong password fails at authentication, with the server's answer.
    cli(data_dir, "connector", "set", ADDRESS, "--sending", "--password-file", str(secret_file(tmp_path, "bad", "wrong")))
    proc = cli(data_dir, "connector", "test", ADDRESS, "--sending", "--json", check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["steps"][-1]["step"] == "authenticate" and not report["steps"][-1]["ok"]
    assert "535" in report["steps"][-1]["detail"], report
