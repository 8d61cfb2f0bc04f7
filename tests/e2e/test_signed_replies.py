"""Signed replies and format=flowed end to end: an agent's mail client submits (smtplib,
submission port) a reply signed with S/MIME (`openssl smime -sign`, a throwaway
certificate) or PGP/MIME (`gpg --detach-sign`, a throwaway GNUPGHOME), or written as
format=flowed text (RFC 3676); on what reaches the next hop (an aiosmtpd sink)
`openssl smime -verify` and `gpg --verify` still succeed, with the channel's template and
contact card in parts around the signed one, and the flowed text keeps its parameters and
soft line breaks."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import wait_for
from test_imap import add_agent
from test_outbound import sink, write_outbound_config  # noqa: F401
from test_replies import configure_channel, customer_writes, submit_by_smtp

AGENT_HEADER = ("From: Agent Seven <agent7@acme.test>\r\nTo: Jane <jane@example.test>\r\n"
                "Subject: Re: where is my order\r\nIn-Reply-To: <order-1@example.test>\r\n")
SIGNED_TEXT = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nIt ships today.\r\n"


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def body_parts(entity: bytes) -> list[bytes]:
    """The body parts of the multipart entity `entity` (its header and body), byte for byte:
    what lies between its boundary delimiters, without the CRLF that belongs to each
    delimiter (RFC 2046 section 5.1.1)."""
    header, body = entity.split(b"\r\n\r\n", 1)
    boundary = email.message_from_bytes(header + b"\r\n\r\n", policy=email.policy.compat32).get_boundary().encode()
    pieces = (b"\r\n" + body).split(b"\r\n--" + boundary)
    assert pieces[-1].startswith(b"--"), "no close delimiter"
    return [piece.split(b"\r\n", 1)[1] for piece in pieces[1:-1]]


def reply_reaching_the_sink(data_dir: Path, tmp_path: Path, sink, spawn, reply: bytes) -> bytes:
    """Starts the server for a channel with a template and contact card, lets a customer
    write in, submits `reply` as the agent and returns what the next hop received."""
    handler, port = sink
    configure_channel(data_dir, tmp_path)
    add_agent(data_dir)
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    submit_by_smtp(server, reply.decode(), "jane@example.test")
    wait_for(lambda: len(handler.acknowledged) == 1)
    return handler.acknowledged[0][2]


def assert_template_around(content: bytes, signed_type: str) -> bytes:
    """The reply is a multipart/mixed: the template's header, the signed part, the footer
    with the session marker, the contact card; returns the signed part's bytes."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message.get_content_type() == "multipart/mixed"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", signed_type, "text/plain", "text/vcard"]
    assert parts[0].get_content().startswith("Thank you for contacting Acme.")
    footer = parts[2].get_content()
    assert "Acme Support team" in footer and "[ref:pg1-" in footer
    assert "BEGIN:VCARD" in parts[3].get_content()
    (signed,) = [p for p in body_parts(content) if signed_type.encode() in p.split(b"\r\n\r\n", 1)[0]]
    assert b"Acme Support team" not in signed and b"[ref:" not in signed
    return signed


def test_an_smime_signed_reply_still_verifies_at_the_next_hop(data_dir: Path, tmp_path: Path, sink, spawn):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "agent.key"),
                    "-out", str(tmp_path / "agent.pem"), "-days", "2", "-subj", "/CN=Agent Seven/emailAddress=agent7@acme.test"],
                   check=True, capture_output=True, timeout=60)
    (tmp_path / "text.eml").write_bytes(SIGNED_TEXT)
    signed = subprocess.run(["openssl", "smime", "-sign", "-in", str(tmp_path / "text.eml"), "-signer", str(tmp_path / "agent.pem"),
                             "-inkey", str(tmp_path / "agent.key"), "-md", "sha256"],
                            check=True, capture_output=True, timeout=60).stdout
    content = reply_reaching_the_sink(data_dir, tmp_path, sink, spawn, AGENT_HEADER.encode() + crlf(signed))

    entity = assert_template_around(content, "multipart/signed")
    (tmp_path / "received.eml").write_bytes(entity)
    verified = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-in", str(tmp_path / "received.eml"),
                               "-out", str(tmp_path / "content.eml")], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and "Verification successful" in verified.stderr, verified.stderr
    assert crlf((tmp_path / "content.eml").read_bytes()) == SIGNED_TEXT


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg (GnuPG) is not installed: no PGP/MIME reply can be signed")
def test_a_pgp_mime_signed_reply_still_verifies_at_the_next_hop(data_dir: Path, tmp_path: Path, sink, spawn):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        subprocess.run([*gpg, "--quick-gen-key", "Agent Seven <agent7@acme.test>", "ed25519", "sign", "1d"],
                       check=True, capture_output=True, timeout=120)
        (tmp_path / "text.eml").write_bytes(SIGNED_TEXT)
        subprocess.run([*gpg, "--armor", "--detach-sign", "--digest-algo", "SHA256", "--output", str(tmp_path / "text.asc"),
                        str(tmp_path / "text.eml")], check=True, capture_output=True, timeout=60)
        signature = crlf((tmp_path / "text.asc").read_bytes())
        reply = (AGENT_HEADER.encode() + b"MIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"pgp-sig\"\r\n"
                 b"\r\nThis is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--pgp-sig\r\n" + SIGNED_TEXT
                 + b"\r\n--pgp-sig\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n" + signature
                 + b"\r\n--pgp-sig--\r\n")
        content = reply_reaching_the_sink(data_dir, tmp_path, sink, spawn, reply)

        data, signature_part = body_parts(assert_template_around(content, "multipart/signed"))
        (tmp_path / "received.eml").write_bytes(data)
        (tmp_path / "received.asc").write_bytes(signature_part.split(b"\r\n\r\n", 1)[1])
        verified = subprocess.run([*gpg, "--verify", str(tmp_path / "received.asc"), str(tmp_path / "received.eml")],
                                  capture_output=True, text=True, timeout=60)
        assert verified.returncode == 0 and "Good signature" in verified.stderr, verified.stderr
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, timeout=60)


def test_format_flowed_keeps_its_parameters_and_soft_breaks(data_dir: Path, tmp_path: Path, sink, spawn):
    text = (b"Your parcel left our warehouse this morning and should reach you \r\n"
            b"within two working days.\r\n")
    reply = (AGENT_HEADER.encode() + b"MIME-Version: 1.0\r\n"
             b"Content-Type: text/plain; charset=UTF-8; format=flowed; delsp=yes\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + text)
    content = reply_reaching_the_sink(data_dir, tmp_path, sink, spawn, reply)

    message = email.message_from_bytes(content, policy=email.policy.default)
    plain = message.get_body(("plain",))
    assert plain.get_param("format") == "flowed" and plain.get_param("delsp") == "yes"
    assert plain["Content-Transfer-Encoding"] == "7bit"
    assert (b"Thank you for contacting Acme.\r\n\r\n" + text + b"\r\nAcme Support team\r\nhttps://acme.test/help\r\n\r\n[ref:pg1-"
            in content), content
