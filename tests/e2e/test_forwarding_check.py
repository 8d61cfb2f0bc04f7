"""End-to-end tests of `postgate address verify-forwarding`: the check message leaves
through the outbound queue to a real aiosmtpd standing in for the customer's provider,
which forwards it (as Gmail or Exchange forwarding does: new envelope sender, a
Delivered-To trace, the message otherwise unchanged) back to Postgate's MX listener with
smtplib. The command waits until it is back, and the message is filed for the
administrator, out of queues and sessions.
"""

from __future__ import annotations

import json
import smtplib
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import BIN, cli, db, free_port, wait_for
from test_outbound import write_outbound_config

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

CHANNEL = "support@acme.test"
PUBLIC = "help@customer.test"


class Provider:
    """The customer's provider: accepts mail for PUBLIC and, when `forward_to_port` is
    set, forwards each message to CHANNEL at that port (in a thread, after its 250)."""

    def __init__(self):
        self.forward_to_port: int | None = None
        self.refuse: str | None = None
        self.accepted: list[bytes] = []
        self.forwarded = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        self.accepted.append(content)
        if self.forward_to_port:
            threading.Thread(target=self._forward, args=(content,), daemon=True).start()
        return "250 2.0.0 Ok: queued"

    def _forward(self, content: bytes) -> None:
        traced = (f"Delivered-To: {PUBLIC}\r\n"
                  "Received: from mx.customer.test by forwarder.customer.test; Mon, 7 Dec 2026 10:00:00 +0000\r\n").encode() + content
        with smtplib.SMTP("127.0.0.1", self.forward_to_port, timeout=30) as client:
            client.sendmail("SRS0=ab12=XY=customer.test=help@customer.test", [CHANNEL], traced)
        self.forwarded.set()


@pytest.fixture
def provider():
    handler = Provider()
    port = free_port()
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def verify(data: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), "address", "verify-forwarding", CHANNEL, "--public", PUBLIC, "--data", str(data), "--json", *extra],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_the_check_comes_back_and_is_kept_out_of_queues_and_sessions(data_dir: Path, tmp_path: Path, provider, spawn):
    handler, port = provider
    # Strict settings an ordinary message from the customer's provider would not pass.
    cli(data_dir, "address", "set", CHANNEL, "--allowed-domain", "example.test", "--sync-recipient-only", "true", "--publish")
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    handler.forward_to_port = server.port

    result = verify(data_dir, "--timeout", "90")
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["state"] == "arrived" and outcome["error"] is None
    assert outcome["envelopeSender"] == "SRS0=ab12=XY=customer.test=help@customer.test"
    assert outcome["receivedFields"] >= 2 and outcome["delivery"].startswith("delivered")
    assert outcome["token"].startswith("pgf-") and outcome["messageId"].startswith("<" + outcome["token"])

    # What reached the provider: from the channel, to the public address, no Reply-To and
    # no copy for anyone else, marked as automatic (RFC 3834), DKIM-signed.
    (sent,) = handler.accepted
    head = sent.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nto: <help@customer.test>" in head and b"reply-to" not in head
    assert b"auto-submitted: auto-generated" in head and head.startswith(b"dkim-signature:")
    assert outcome["token"].encode() in head

    with db(data_dir) as conn:
        rows = conn.execute("SELECT m.policy, m.session_id, mb.path AS mailbox FROM message m JOIN mailbox mb ON mb.id = m.mailbox_id"
                            " WHERE m.message_id = ?", (outcome["messageId"],)).fetchall()
    assert [(r["policy"], r["session_id"], r["mailbox"]) for r in rows] == [("forwarding-check", None, "maildir/acme.test/support")]
    assert json.loads(cli(data_dir, "session", "list", "--json").stdout) == []
    assert json.loads(cli(data_dir, "quarantine", "list", "--json").stdout) == []


def test_a_provider_that_does_not_forward_times_out_naming_the_cause(data_dir: Path, tmp_path: Path, provider, spawn):
    handler, port = provider
    spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    result = verify(data_dir, "--timeout", "3")
    assert result.returncode == 1
    outcome = json.loads(result.stdout)
    assert outcome["state"] == "timeout" and outcome["arrived"] is None
    # The time limit may end before or after the provider's 250; either way the cause is named.
    assert ("did not come back" in outcome["error"] and "forwards to support@acme.test" in outcome["error"]) \
        or "is still queued" in outcome["error"], outcome["error"]


def test_a_refused_check_fails_with_the_provider_reply(data_dir: Path, tmp_path: Path, provider, spawn):
    handler, port = provider
    handler.refuse = "550 5.1.1 no such user here"
    spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    result = verify(data_dir, "--timeout", "90")
    assert result.returncode == 1
    outcome = json.loads(result.stdout)
    assert outcome["state"] == "failed" and "550 5.1.1 no such user here" in outcome["error"]
    assert handler.accepted == []


def test_an_unsigned_check_token_is_ordinary_mail(data_dir: Path, spawn):
    server = spawn(data_dir)
    forged = (f"From: {CHANNEL}\r\nTo: {CHANNEL}\r\nSubject: Postgate forwarding check [pgf-0123456789abcdef-00112233445566778899]\r\n"
              "Message-ID: <pgf-0123456789abcdef-00112233445566778899@acme.test>\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.sendmail("someone@example.test", [CHANNEL], forged.encode())
    rows = wait_for(lambda: db(data_dir).execute("SELECT policy FROM message WHERE message_id LIKE '<pgf-%'").fetchall())
    assert rows and all(r["policy"] is None for r in rows), "delivered (and routed) as ordinary mail"


@pytest.mark.parametrize("args, reason", [
    (["--public", CHANNEL], "is hosted by this gateway"),
    (["--public", "not an address"], "is not a valid email address"),
    (["--public", PUBLIC, "--timeout", "0"], "--timeout must be 1 to 3600 seconds"),
])
def test_bad_arguments_are_one_line_and_send_nothing(data_dir: Path, args: list[str], reason: str):
    result = subprocess.run([str(BIN), "address", "verify-forwarding", CHANNEL, *args, "--data", str(data_dir)],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0 and reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(cli(data_dir, "outbound", "list", "--json").stdout) == []
