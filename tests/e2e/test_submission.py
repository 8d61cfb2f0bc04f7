"""End-to-end tests of the submission listeners (RFC 6409/4954/8314) with real
clients: Python's smtplib (STARTTLS and implicit TLS, AUTH PLAIN and LOGIN) and swaks.
AUTH is neither offered nor accepted before TLS, a wrong password gets 535, an agent may
send only as a channel address it was granted. What is queued goes to a local aiosmtpd
sink (the test's next hop), never anywhere else.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import smtplib
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli, insecure_tls, wait_for
from test_imap import PASSWORD, add_agent
from test_outbound import sink, write_outbound_config  # noqa: F401

REPLY = "To: Jane <jane@example.test>\r\nSubject: Re: order\r\n\r\nIt ships today.\r\n"


@pytest.fixture
def submission_server(data_dir: Path, tmp_path: Path, sink, spawn):  # noqa: F811
    """A server whose queue delivers to the sink, with alice granted support@acme.test and
    bob granted nothing; failed logins are answered after 100 ms instead of a second."""
    handler, port = sink
    add_agent(data_dir)
    subprocess.run([str(BIN), "agent", "add", "bob", "--password-stdin", "--data", str(data_dir)],
                   input="pw-bob-123456\n", text=True, check=True, capture_output=True, timeout=60)
    config = write_outbound_config(tmp_path / "c.yaml", port)
    with config.open("a") as f:
        f.write("submission:\n  failed_login_delay_ms: 100\n")
    return spawn(data_dir, config), handler


def test_auth_only_after_starttls(submission_server):
    server, _ = submission_server
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as client:
        client.ehlo("laptop.test")
        assert client.has_extn("starttls") and not client.has_extn("auth")
        plain = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
        code, text = client.docmd("AUTH", f"PLAIN {plain}")
        assert (code, text) == (530, b"5.7.0 Must issue a STARTTLS command first")
        code, _ = client.mail("support@acme.test")
        assert code == 530
        client.starttls(context=insecure_tls())
        client.ehlo("laptop.test")
        assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"] and not client.has_extn("starttls")
        code, text = client.mail("support@acme.test")
        assert (code, text) == (530, b"5.7.0 Authentication required")


def test_wrong_password_gets_535(submission_server):
    server, _ = submission_server
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as client:
        client.starttls(context=insecure_tls())
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login("alice", "not the password")
        assert refused.value.smtp_code == 535 and refused.value.smtp_error.startswith(b"5.7.8")
        # Refused means not authenticated: a transaction still needs AUTH.
        code, text = client.mail("support@acme.test")
        assert (code, text) == (530, b"5.7.0 Authentication required")
        client.rset()
        client.login("alice", PASSWORD)  # the session goes on
        code, text = client.mail("support@acme.test")
        assert code == 250, text


def test_agent_may_send_only_as_its_addresses(submission_server, data_dir: Path):
    server, _ = submission_server
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as client:
        client.starttls(context=insecure_tls())
        client.login("bob", "pw-bob-123456")
        code, text = client.mail("support@acme.test")
        assert code == 550 and text == b"5.7.1 agent bob may not send as support@acme.test"
        code, text = client.mail("nobody@acme.test")
        assert code == 550 and text.startswith(b"5.7.1")
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as client:
        client.starttls(context=insecure_tls())
        client.login("alice", PASSWORD)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("help@example.test", ["jane@example.test"], REPLY)
        assert refused.value.smtp_code == 550
    assert json.loads(cli(data_dir, "outbound", "list", "--json").stdout) == []


def test_implicit_tls_with_auth_login_and_composer_limits(submission_server, data_dir: Path):
    server, handler = submission_server
    with smtplib.SMTP_SSL("127.0.0.1", server.submissions_port, timeout=30, context=insecure_tls()) as client:
        client.ehlo("laptop.test")
        assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"] and not client.has_extn("starttls")
        client.user, client.password = "alice", PASSWORD
        code, text = client.auth("LOGIN", client.auth_login)
        assert (code, text) == (235, b"2.7.0 Authentication successful")
        client.sendmail("support@acme.test", ["jane@example.test"], REPLY)
        # A refusal of the composer comes back as the reply to the data, and the session goes on.
        cli(data_dir, "address", "set", "support@acme.test", "--max-to", "2", "--publish")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("support@acme.test", ["a@x.test"], "To: a@x.test, b@x.test, c@x.test\r\nSubject: x\r\n\r\nx\r\n")
        assert refused.value.smtp_code == 550 and refused.value.smtp_error.startswith(b"5.5.3 too many To recipients")
    wait_for(lambda: len(handler.acknowledged) == 1)
    sender, rcpts, content = handler.acknowledged[0]
    assert sender == "support@acme.test" and "jane@example.test" in rcpts and b"It ships today." in content
    assert b"DKIM-Signature:" in content


def test_swaks_auth_plain_over_starttls(submission_server):
    server, handler = submission_server
    proc = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.submission_port}", "--tls", "--auth", "PLAIN",
         "--auth-user", "alice", "--auth-password", PASSWORD, "--from", "support@acme.test",
         "--to", "jane@example.test", "--header", "Subject: Re: from swaks", "--body", "Sent with swaks."],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "235 2.7.0 Authentication successful" in proc.stdout
    assert re.search(r"<~  250 2\.0\.0 Ok: queued as \d+", proc.stdout), proc.stdout
    wait_for(lambda: len(handler.acknowledged) == 1)
    assert b"Sent with swaks." in handler.acknowledged[0][2]



def test_sigterm_closes_idle_submission_sessions_then_exits_0(submission_server):
    server, _ = submission_server
    client = smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30)
    client.starttls(context=insecure_tls())
    client.login("alice", PASSWORD)
    implicit = smtplib.SMTP_SSL("127.0.0.1", server.submissions_port, timeout=30, context=insecure_tls())
    implicit.ehlo("laptop.test")
    server.signal(signal.SIGTERM)
    for session in (client, implicit):
        # The idle session is told 421 4.3.2 and closed (RFC 5321 section 3.8).
        code, text = session.getreply()
        assert code == 421 and text.startswith(b"4.3.2"), text
        session.close()  # as a client does after 421; TLS would otherwise wait for its close_notify
    assert server.wait(15) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.submission_port), timeout=2).close()
