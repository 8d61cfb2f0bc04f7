"""Authentication-Results on inbound mail (RFC 8601 section 5): a field that arrives naming
Postgate's own authserv-id (its hostname) is removed before Postgate adds its own, after
the DKIM signatures were checked on the message as sent; fields of other authserv-ids
stay. Messages go in with smtplib and are read back over IMAP (imaplib FETCH)."""

from __future__ import annotations

import email
import email.policy
import smtplib
from pathlib import Path

import pytest

from test_dkim import dkimpy_key, dkimpy_sign, dnsmasq, needs_dnsmasq  # noqa: F401
from test_imap import add_agent, login

HOSTNAME = "postgate.e2e.test"

FORGED = (
    f"Authentication-Results: {HOSTNAME}; dkim=pass header.d=bank.test\r\n"
    "From: Bank <alerts@bank.test>\r\n"
    "To: support@acme.test\r\n"
    f"authentication-results: (checked)\r\n {HOSTNAME.upper()} 1;\r\n\tdkim=pass header.d=bank.test;\r\n\tspf=pass\r\n"
    "Authentication-Results: mx.forwarder.test; dkim=pass header.d=bank.test\r\n"
    "Subject: Your account\r\n"
    "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
    "Message-ID: <{id}@bank.test>\r\n"
    "\r\n"
    "Please confirm your details.\r\n"
    "Authentication-Results: {host}; dkim=pass (body text, not a field)\r\n"
).replace("{host}", HOSTNAME)


def config(path: Path, verify_inbound: bool, dns: str | None = None) -> Path:
    text = f"hostname: {HOSTNAME}\ndkim:\n  verify_inbound: {'true' if verify_inbound else 'false'}\n"
    if dns:
        text += f'dns:\n  servers: ["{dns}"]\n  timeout: 1\n  attempts: 1\n'
    path.write_text(text)
    return path


def send(server, message: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        smtp.sendmail("alerts@bank.test", ["support@acme.test"], message)


def stored_messages(server) -> list[bytes]:
    """Every message of the address's shared mailbox, as an agent's client reads it."""
    imap = login(server)
    try:
        typ, _ = imap.select('"Shared/support@acme.test"', readonly=True)
        assert typ == "OK"
        _, found = imap.search(None, "ALL")
        contents = []
        for number in found[0].split():
            _, data = imap.fetch(number.decode(), "(BODY.PEEK[])")
            contents.append(data[0][1])
        return contents
    finally:
        imap.logout()


def results_fields(content: bytes) -> list[str]:
    """The Authentication-Results fields of the header section, unfolded."""
    message = email.message_from_bytes(content, policy=email.policy.compat32)
    return [" ".join(value.split()) for value in message.get_all("Authentication-Results", [])]


@pytest.mark.parametrize("verify_inbound", [True, False], ids=["dkim-on", "dkim-off"])
def test_fields_claiming_our_authserv_id_are_removed(data_dir, spawn, tmp_path, verify_inbound):
    add_agent(data_dir)
    server = spawn(data_dir, config(tmp_path / "config.yaml", verify_inbound))
    small = FORGED.replace("{id}", "small").encode()
    # Larger than what the writer keeps in memory: the spool file is rewritten instead.
    big = FORGED.replace("{id}", "big").replace("Please confirm", ("0123456789abcdef" * 4 + "\r\n") * 6000 + "Please confirm")
    send(server, small)
    send(server, big.encode())

    stored = stored_messages(server)
    assert len(stored) == 2
    for content, sent, name in zip(stored, [small, big.encode()], ["small", "big"]):
        fields = results_fields(content)
        assert "mx.forwarder.test; dkim=pass header.d=bank.test" in fields, "another authserv-id's field stays"
        ours = [field for field in fields if field.lower().startswith(HOSTNAME) or "(checked)" in field]
        assert ours == ([f"{HOSTNAME}; dkim=none"] if verify_inbound else []), fields
        header, body = content.split(b"\r\n\r\n", 1)
        assert b"dkim=pass header.d=bank.test;" not in header and header.count(b"dkim=pass") == 1
        # Everything else arrives as sent: the other fields in order, the body untouched.
        kept = sent.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        assert [line for line in header.split(b"\r\n") if line in kept] == [
            b"From: Bank <alerts@bank.test>", b"To: support@acme.test",
            b"Authentication-Results: mx.forwarder.test; dkim=pass header.d=bank.test", b"Subject: Your account",
            b"Date: Mon, 23 Nov 2026 09:00:00 +0000", f"Message-ID: <{name}@bank.test>".encode(),
        ]
        assert body == sent.split(b"\r\n\r\n", 1)[1]
    assert server.log.read_text().count("removed Authentication-Results fields claiming this host") == 2


@needs_dnsmasq
def test_a_signature_covering_the_removed_field_is_checked_first(data_dir, dnsmasq, spawn, tmp_path):
    # The sender's signature covers the field naming us: it verifies on the message as
    # sent, and only then is the field removed.
    key, record = dkimpy_key(tmp_path, "rsa-sha256")
    dns = dnsmasq({"py._domainkey.bank.test": [record]})
    add_agent(data_dir)
    server = spawn(data_dir, config(tmp_path / "config.yaml", True, dns.server))
    message = (f"Authentication-Results: {HOSTNAME}; dkim=pass header.d=bank.test\r\n"
               "From: Bank <alerts@bank.test>\r\nTo: support@acme.test\r\nSubject: Signed\r\n"
               "Message-ID: <signed@bank.test>\r\n\r\nHello.\r\n").encode()
    signed = dkimpy_sign(message, key, "rsa-sha256", domain="bank.test", headers="from,to,subject,message-id,authentication-results")
    assert b"authentication-results" in signed.split(b"\r\n\r\n")[0].lower().split(b"h=")[1][:200]
    send(server, signed)

    (content,) = stored_messages(server)
    fields = results_fields(content)
    assert len(fields) == 1 and fields[0].startswith(f"{HOSTNAME}; dkim=pass header.d=bank.test header.s=py"), fields
    assert content.endswith(b"\r\n\r\nHello.\r\n")
