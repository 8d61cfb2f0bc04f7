"""End-to-end tests of agents' signatures and personal replies: an agent's signature
(Mustache over agent_name, agent_email, address, address_name) follows the address's
footer in each reply it writes; on an address with personal replies on, the reply is
from the agent's own address, with the channel's Reply-To, DKIM-signed for its domain
(checked by dkimpy against a dnsmasq on loopback); the customer's answer joins the
session, and the contact centre's copy coming back is recognised as Postgate's own."""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli, messages, wait_for
from test_imap import add_agent
from test_outbound import sink, write_outbound_config  # noqa: F401
from test_replies import agent_reply, assert_dkim_verifies, configure_channel, customer_writes, needs_dkimpy, submit_by_smtp

SIGNATURE_TEXT = "-- \n{{agent_name}}\n{{address_name}} <{{address}}>\n"
SIGNATURE_HTML = "<p class=\"sig\">{{agent_name}} · {{agent_email}}</p>"


def profile(data: Path, tmp: Path, *extra: str) -> None:
    (tmp / "sig.txt").write_text(SIGNATURE_TEXT)
    (tmp / "sig.html").write_text(SIGNATURE_HTML)
    cli(data, "agent", "set", "alice", "--signature-text", str(tmp / "sig.txt"), "--signature-html", str(tmp / "sig.html"), *extra)


@needs_dkimpy
def test_a_personal_reply_with_signature_reaches_the_customer_signed_and_threads(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    configure_channel(data_dir, tmp_path)
    subprocess.run([str(BIN), "agent", "add", "alice", "--name", "Alice <Ops>", "--password-stdin",
                    "--data", str(data_dir)], input="correct horse battery\n", text=True, check=True, capture_output=True)
    cli(data_dir, "agent", "grant", "alice", "support@acme.test")
    profile(data_dir, tmp_path, "--email", "Alice@acme.test")
    cli(data_dir, "address", "set", "support@acme.test", "--personal-replies", "true", "--publish")
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    submit_by_smtp(server, agent_reply("<order-1@example.test>"), "jane@example.test")
    wait_for(lambda: len(handler.acknowledged) == 1)
    sender, rcpts, content = handler.acknowledged[0]
    assert sender == "support@acme.test", "bounces still come back to the channel address"

    reply = email.message_from_bytes(content, policy=email.policy.default)
    assert reply["From"].addresses[0].addr_spec == "alice@acme.test" and reply["From"].addresses[0].display_name == "Alice <Ops>"
    assert str(reply["Reply-To"]) == "desk@acme.test"
    text = reply.get_body(("plain",)).get_content().replace("\r\n", "\n")
    footer = text.index("Acme Support team")
    signature = text.index("-- \nAlice <Ops>\nAcme Support — Équipe <support@acme.test>")
    assert footer < signature < text.index("[ref:pg1-")

    # DKIM for the domain of From, checked by dkimpy against the key served by dnsmasq.
    entry = assert_dkim_verifies(data_dir, tmp_path, content)
    assert f"d={entry['domain']}" in str(reply["DKIM-Signature"]).replace(" ", "")

    # The contact centre's copy forwarded back (From: the agent's own address) is Postgate's
    # own reply, filed in the session; the customer's answer joins the same session.
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.sendmail("desk@acme.test", ["support@acme.test"], b"X-Forwarded-To: support@acme.test\r\n" + content)
    customer_writes(server.port, "<order-2@example.test>", "Re: where is my order", extra=f"In-Reply-To: {reply['Message-ID']}\r\n")
    def arrived():
        rows = [row for row in messages(data_dir) if row["mailbox_path"] == "maildir/acme.test/support"]
        ids = {row["message_id"] for row in rows}
        own = [row for row in rows if row["message_id"] == reply["Message-ID"] and row["policy"] == "own-reply"]
        return rows if own and "<order-2@example.test>" in ids else None
    rows = wait_for(arrived, message="the copy back as own-reply and the customer's answer")
    by_id = {row["message_id"]: row for row in rows}
    copies = [row for row in rows if row["message_id"] == reply["Message-ID"]]
    assert {row["session_id"] for row in copies} | {by_id["<order-2@example.test>"]["session_id"]} \
        == {by_id["<order-1@example.test>"]["session_id"]}
    assert json.loads(cli(data_dir, "session", "list", "--json").stdout).__len__() == 1


def test_the_preview_shows_the_signature_and_the_personal_from(data_dir: Path, tmp_path: Path):
    add_agent(data_dir)
    profile(data_dir, tmp_path, "--email", "alice@acme.test")
    shown = json.loads(cli(data_dir, "address", "preview", "support@acme.test", "--agent", "alice", "--json").stdout)
    assert shown["from"].endswith("<support@acme.test>"), "personal replies are off by default"
    assert shown["text"].rstrip().endswith("Acme Support <support@acme.test>") and "\n-- \nalice\n" in shown["text"].replace("\r\n", "\n")
    assert "<p class=\"sig\">alice · alice@acme.test</p>" in shown["html"]
    cli(data_dir, "address", "set", "support@acme.test", "--personal-replies", "true", "--publish")
    personal = json.loads(cli(data_dir, "address", "preview", "support@acme.test", "--agent", "alice", "--json").stdout)
    assert "alice@acme.test" in personal["from"] and personal["replyTo"] == "<support@acme.test>"
    # Without --agent, no signature.
    unsigned = json.loads(cli(data_dir, "address", "preview", "support@acme.test", "--json").stdout)
    assert "sig" not in unsigned["html"] and "-- \n" not in unsigned["text"].replace("\r\n", "\n")


@pytest.mark.parametrize("args, reason", [
    (["--email", "alice@elsewhere.test"], "not on a domain this gateway hosts"),
    (["--email", "help@acme.test"], "is a channel address or alias"),
    (["--email", "bob@acme.test"], "already the email address of agent bob"),
    (["--email", "not an address"], "is not a valid email address"),
    (["--signature-text", "{bad}"], "unknown variable {{customer_name}}"),
    (["--signature-html", "{missing}"], "cannot read the signature file"),
    ([], "nothing to set"),
])
def test_bad_profile_values_are_one_line_and_change_nothing(data_dir: Path, tmp_path: Path, args: list[str], reason: str):
    add_agent(data_dir)
    add_agent(data_dir, "bob")
    cli(data_dir, "agent", "set", "bob", "--email", "bob@acme.test")
    (tmp_path / "bad.txt").write_text("Regards, {{customer_name}}")
    args = [a.replace("{bad}", str(tmp_path / "bad.txt")).replace("{missing}", str(tmp_path / "none.html")) for a in args]
    before = cli(data_dir, "agent", "show", "alice", "--json").stdout
    result = cli(data_dir, "agent", "set", "alice", *args, check=False)
    assert result.returncode != 0 and reason in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli(data_dir, "agent", "show", "alice", "--json").stdout == before
