"""End-to-end tests of reply composition: a customer writes in by SMTP, the agent
reads it over IMAP, the agent sends its reply with smtplib on the submission listener
(STARTTLS, AUTH), where it is composed, DKIM-signed and queued; `postgate serve`'s worker
delivers it to a real aiosmtpd, the agent finds it in Sent, and the customer's answer to
it comes back into the same session. The refusal tests use `postgate outbound submit
--agent`, which takes the same path.

The DKIM record of the hosted domain's generated key is served by a dnsmasq on loopback
and checked with dkimpy (system Python), an independent implementation.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import smtplib
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli, insecure_tls, message_file, messages, wait_for
from test_dkim import SYSTEM_PYTHON, TOOL, DNSMasq, _have_dkimpy, free_udp_port  # noqa: F401
from test_imap import PASSWORD, add_agent, login
from test_outbound import sink, write_outbound_config  # noqa: F401

needs_dkimpy = pytest.mark.skipif(not _have_dkimpy() or DNSMasq is None, reason="dkimpy or dnsmasq not installed")

VCARD = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Acme Support\r\nEMAIL:support@acme.test\r\nEND:VCARD\r\n"


def configure_channel(data: Path, tmp: Path) -> None:
    (tmp / "header.txt").write_text("Thank you for contacting Acme.")
    (tmp / "footer.txt").write_text("Acme Support team\nhttps://acme.test/help")
    (tmp / "card.vcf").write_text(VCARD)
    cli(data, "address", "set", "support@acme.test", "--name", "Acme Support — Équipe", "--contact-centre", "desk@acme.test",
        "--header-text", str(tmp / "header.txt"), "--footer-text", str(tmp / "footer.txt"),
        "--send-contact-card", "true", "--contact-card", str(tmp / "card.vcf"), "--max-to", "2", "--publish")


def customer_writes(port: int, message_id: str, subject: str, extra: str = "") -> None:
    message = (f"From: Jane Customer <jane@example.test>\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
               f"Message-ID: {message_id}\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n{extra}\r\nMy order has not arrived.\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("jane@example.test", ["support@acme.test"], message.encode())


def submit(data: Path, message: str, *recipients: str, check: bool = True, agent: str = "alice") -> subprocess.CompletedProcess:
    argv = [str(BIN), "outbound", "submit", "--from", "support@acme.test", "--agent", agent, "--data", str(data), "--json"]
    for r in recipients:
        argv += ["--to", r]
    proc = subprocess.run(argv, input=message.encode(), capture_output=True, timeout=60)
    assert not check or proc.returncode == 0, proc.stderr.decode()
    return proc


def submit_by_smtp(server, message: str, *recipients: str, agent: str = "alice", password: str = PASSWORD,
                   sender: str = "support@acme.test") -> str:
    """Sends `message` as the agent's mail client does: submission port, STARTTLS, AUTH
    (PLAIN, smtplib's first choice), MAIL/RCPT/DATA. Returns the final reply's text."""
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as client:
        client.starttls(context=insecure_tls())
        client.login(agent, password)
        client.mail(sender)
        for r in recipients:
            code, text = client.rcpt(r)
            assert code == 250, text
        code, text = client.data(message.encode())
        assert code == 250, text
        return text.decode()


def assert_dkim_verifies(data: Path, tmp: Path, content: bytes, domain: str = "acme.test") -> dict:
    """dkimpy verifies `content` against `domain`'s key record served by a dnsmasq on
    loopback; returns the key's `dkim show --json` entry."""
    (entry,) = json.loads(cli(data, "dkim", "show", domain, "--json").stdout)
    dns = DNSMasq(tmp).start({entry["recordName"]: [entry["publicRecord"]]})
    try:
        verified = subprocess.run([SYSTEM_PYTHON, str(TOOL), "verify", "--dns", dns.server], input=content, capture_output=True, timeout=60)
    finally:
        dns.stop()
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return entry


def agent_reply(in_reply_to: str, body: str = "It ships today.") -> str:
    return (f"From: Agent Seven <agent7@acme.test>\r\nTo: Jane <jane@example.test>\r\nBcc: boss@example.test\r\n"
            f"Subject: Re: where is my order\r\nIn-Reply-To: {in_reply_to}\r\nMessage-ID: <laptop-1@agent>\r\n\r\n{body}\r\n")


@needs_dkimpy
def test_reply_round_trip(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    configure_channel(data_dir, tmp_path)
    add_agent(data_dir)
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    customer_writes(server.port, "<order-1@example.test>", "where is my order")

    # The agent reads the customer's message over IMAP and answers it.
    imap = login(server)
    imap.select('"Shared/support@acme.test"')
    _, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    parent = data[0][1].decode().split(":", 1)[1].strip()
    assert parent == "<order-1@example.test>"
    queued = submit_by_smtp(server, agent_reply(parent), "jane@example.test", "boss@example.test")
    outbound_id = re.fullmatch(r"2\.0\.0 Ok: queued as (\d+)", queued).group(1)
    record = json.loads(cli(data_dir, "outbound", "show", outbound_id, "--json").stdout)
    assert sorted(r["address"] for r in record["recipients"]) == ["boss@example.test", "desk@acme.test", "jane@example.test"]
    wait_for(lambda: len(handler.acknowledged) == 1)
    sender, rcpts, content = handler.acknowledged[0]
    assert sender == "support@acme.test" and sorted(rcpts) == ["boss@example.test", "desk@acme.test", "jane@example.test"]

    message = email.message_from_bytes(content, policy=email.policy.default)
    assert str(message["From"]) == "Acme Support — Équipe <support@acme.test>"
    assert b"From: =?UTF-8?B?" in content  # RFC 2047 on the wire
    assert message["Reply-To"] == "<desk@acme.test>" or str(message["Reply-To"]) == "desk@acme.test"
    assert re.fullmatch(r"<pg1-[0-9a-z]+-[0-9a-f]{8}-[0-9a-f]{20}@acme\.test>", message["Message-ID"])
    assert message["In-Reply-To"] == "<order-1@example.test>" and "<order-1@example.test>" in message["References"]
    assert b"bcc" not in content.lower() and b"laptop-1" not in content and b"agent7" not in content
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Thank you for contacting Acme.") and "It ships today." in text and "Acme Support team" in text
    assert "[ref:pg1-" in text
    cards = [part for part in message.iter_attachments() if part.get_content_type() == "text/vcard"]
    assert len(cards) == 1 and cards[0].get_content().replace("\r\n", "\n") == VCARD.replace("\r\n", "\n")

    # DKIM: the hosted domain's key was generated on first use; dkimpy checks the signature
    # against the record served by the test's DNS server.
    assert_dkim_verifies(data_dir, tmp_path, content)

    # The delivered reply is copied into the channel's mailbox, in the customer's session.
    reply_id = message["Message-ID"]
    (copy,) = wait_for(lambda: [r for r in messages(data_dir) if r["message_id"] == reply_id],
                       message=f"no copy of {reply_id} in the channel's mailbox")
    assert copy["mailbox_path"] == "maildir/acme.test/support" and copy["session_id"] is not None
    assert reply_id.encode() in message_file(data_dir, copy).read_bytes()

    # ... and into the agent's Sent folder, seen.
    def in_sent() -> list[bytes]:
        imap.select("Sent")
        _, found = imap.search(None, "HEADER", "Message-ID", reply_id)
        return found[0].split()
    wait_for(lambda: len(in_sent()) == 1)
    _, flags = imap.fetch(in_sent()[0].decode(), "(FLAGS)")
    assert b"\\Seen" in flags[0]
    imap.logout()

    # The second reply in the session carries no contact card.
    submit_by_smtp(server, agent_reply("<order-1@example.test>", "Tracking number 42."), "jane@example.test")
    wait_for(lambda: len(handler.acknowledged) == 2)
    assert b"text/vcard" not in handler.acknowledged[1][2]

    # The customer answers the reply: it joins the same session.
    customer_writes(server.port, "<order-2@example.test>", "Re: where is my order", f"In-Reply-To: {message['Message-ID']}\r\n")
    sessions = json.loads(cli(data_dir, "session", "list", "--address", "support@acme.test", "--json").stdout)
    assert len(sessions) == 1
    thread = json.loads(cli(data_dir, "session", "show", str(sessions[0]["id"]), "--json").stdout)
    by_id = {m["messageId"]: m for m in thread["messages"]}
    assert by_id["<order-2@example.test>"]["reason"] == "signed-message-id"
    assert reply_id in by_id and "<order-1@example.test>" in by_id


def test_failed_reply_notifies_the_agents_inbox(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    handler.rcpt_script["gone@example.test"] = ["550 5.1.1 <gone@example.test>: no such user"]
    configure_channel(data_dir, tmp_path)
    add_agent(data_dir)
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    submit(data_dir, "To: gone@example.test\r\nSubject: Re: hello\r\n\r\nHi\r\n", "gone@example.test")
    imap = login(server)

    def inbox() -> list[bytes]:
        imap.select("INBOX")
        return imap.search(None, "ALL")[1][0].split()
    wait_for(lambda: len(inbox()) == 1)
    _, data = imap.fetch(inbox()[0].decode(), "(BODY[])")
    dsn = data[0][1]
    assert b"multipart/report; report-type=delivery-status" in dsn and b"Status: 5.1.1" in dsn
    assert b"Final-Recipient: rfc822; gone@example.test" in dsn
    imap.logout()


def test_refusals_are_clear(data_dir: Path, tmp_path: Path):
    configure_channel(data_dir, tmp_path)
    add_agent(data_dir)
    subprocess.run([str(BIN), "agent", "add", "bob", "--password-stdin", "--data", str(data_dir)],
                   input="pw-bob-123456\n", text=True, check=True, capture_output=True, timeout=60)
    proc = submit(data_dir, agent_reply("<none@x>"), "jane@example.test", check=False, agent="bob")
    assert proc.returncode == 1 and "550 5.7.1 agent bob may not send as support@acme.test" in proc.stderr.decode()
    proc = submit(data_dir, "To: a@x.test, b@x.test, c@x.test\r\nSubject: x\r\n\r\nx\r\n", "a@x.test", check=False)
    assert proc.returncode == 1 and proc.stderr.decode().startswith("postgate: 550 5.5.3 too many To recipients: 3")
    cli(data_dir, "address", "set", "support@acme.test", "--usage", "inbound", "--publish")
    proc = submit(data_dir, agent_reply("<none@x>"), "jane@example.test", check=False)
    assert proc.returncode == 1 and "550 5.7.1" in proc.stderr.decode()
    assert json.loads(cli(data_dir, "outbound", "list", "--json").stdout) == []
