"""End-to-end tests of who works a session and where: the first agent to reply owns it and
finds its messages in the personal folder Mine (imaplib), later messages of the session
follow; `session assign` and `session transfer` move it, each recorded in its history; a
session no agent answers in time moves to the transfer queue, pushed to an idling IMAP
client; a session that ends idle gets the address's closing message (to a real SMTP
next hop); a returning customer's new session goes to their last agent; bad settings are
refused and change nothing."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli, wait_for
from test_imap import add_agent, idle_until_exists, login
from test_outbound import sink, write_outbound_config  # noqa: F401
from test_replies import agent_reply, customer_writes, submit_by_smtp

PASSWORD = "correct horse battery"


def session_list(data: Path) -> list[dict]:
    return json.loads(cli(data, "session", "list", "--address", "support@acme.test", "--json").stdout)


def session_show(data: Path, session: int) -> dict:
    return json.loads(cli(data, "session", "show", str(session), "--json").stdout)


def folder_message_ids(server, folder: str, agent: str = "alice") -> list[str]:
    """The Message-IDs in `folder` as the agent's IMAP client sees them (read-only)."""
    imap = login(server, agent)
    try:
        typ, data = imap.select(f'"{folder}"', readonly=True)
        if typ != "OK":
            return []
        typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])") if int(data[0]) else ("OK", [])
        return [part[1].decode().split(":", 1)[1].strip() for part in data if isinstance(part, tuple)]
    finally:
        imap.logout()


def add_second_agent(data: Path, name: str, *grants: str) -> None:
    subprocess.run([str(BIN), "agent", "add", name, "--password-stdin", "--data", str(data)],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60)
    for grant in grants:
        cli(data, "agent", "grant", name, grant)


def test_the_first_agent_to_reply_owns_the_session_and_finds_it_in_mine(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    add_agent(data_dir)
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    [session] = session_list(data_dir)
    assert session["owner"] is None and session["awaitingSince"] is not None

    submit_by_smtp(server, agent_reply("<order-1@example.test>"), "jane@example.test")
    wait_for(lambda: handler.acknowledged)
    [session] = session_list(data_dir)
    assert session["owner"] == "alice"
    assert session["awaitingSince"] is None, "the agent's reply answered the waiting message"
    assert folder_message_ids(server, "Mine") == ["<order-1@example.test>"]
    # The shared queue keeps it: ownership adds a view, it takes nothing away.
    cli(data_dir, "agent", "grant", "alice", "general")
    assert folder_message_ids(server, "Shared/Queues/general") == ["<order-1@example.test>"]

    # The customer's next message joins the session and follows it into Mine.
    customer_writes(server.port, "<order-2@example.test>", "and another thing")
    wait_for(lambda: folder_message_ids(server, "Mine") == ["<order-1@example.test>", "<order-2@example.test>"])
    [session] = session_list(data_dir)
    assert session["awaitingSince"] is not None
    events = session_show(data_dir, session["id"])["events"]
    assert [(e["kind"], e["actor"], e["agent"]) for e in events] == [("owner", "alice", "alice")]


def test_assign_and_transfer_move_the_session_and_are_recorded(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    cli(data_dir, "queue", "add", "tier2")
    add_agent(data_dir)
    cli(data_dir, "agent", "grant", "alice", "general")
    cli(data_dir, "agent", "grant", "alice", "tier2")
    add_second_agent(data_dir, "bob", "tier2")
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    [session] = session_list(data_dir)
    sid = str(session["id"])

    # Bob sees neither the address nor the queue the message is in: refused, nothing changes.
    refused = cli(data_dir, "session", "assign", sid, "bob", check=False)
    assert refused.returncode == 1 and "bob cannot see session" in refused.stderr and "grant it" in refused.stderr
    assert session_list(data_dir)[0]["owner"] is None
    cli(data_dir, "session", "assign", sid, "alice")
    assert folder_message_ids(server, "Mine") == ["<order-1@example.test>"]
    cli(data_dir, "agent", "grant", "bob", "support@acme.test")
    cli(data_dir, "session", "assign", sid, "bob")
    assert session_list(data_dir)[0]["owner"] == "bob"
    assert folder_message_ids(server, "Mine", "bob") == ["<order-1@example.test>"]
    assert folder_message_ids(server, "Mine") == [], "the previous owner's Mine loses the session"

    # Refused transfers change nothing.
    missing = cli(data_dir, "session", "transfer", sid, "nowhere", check=False)
    assert missing.returncode == 1 and "nowhere" in missing.stderr
    assert cli(data_dir, "session", "transfer", "999", "tier2", check=False).returncode == 1
    assert session_list(data_dir)[0]["owner"] == "bob" and session_list(data_dir)[0]["queue"] is None

    moved = json.loads(cli(data_dir, "session", "transfer", sid, "tier2", "--note", "needs a specialist", "--json").stdout)
    assert moved["queue"] == "tier2" and moved["owner"] is None
    assert folder_message_ids(server, "Shared/Queues/general") == []
    assert folder_message_ids(server, "Shared/Queues/tier2") == ["<order-1@example.test>"]
    assert folder_message_ids(server, "Mine", "bob") == []
    again = cli(data_dir, "session", "transfer", sid, "tier2", check=False)
    assert again.returncode == 1 and "already" in again.stderr

    # The session's next message goes where the session is, not where the filters route.
    customer_writes(server.port, "<order-2@example.test>", "any news?")
    wait_for(lambda: folder_message_ids(server, "Shared/Queues/tier2") == ["<order-1@example.test>", "<order-2@example.test>"])
    assert folder_message_ids(server, "Shared/Queues/general") == []

    events = session_show(data_dir, int(sid))["events"]
    assert [(e["kind"], e["actor"], e["agent"]) for e in events] == [
        ("assigned", "cli", "alice"), ("assigned", "cli", "bob"), ("transferred", "cli", None)]
    assert events[2]["fromQueue"] == "general" and events[2]["toQueue"] == "tier2" and events[2]["detail"] == "needs a specialist"
    text = cli(data_dir, "session", "show", sid).stdout
    assert "transferred by cli: general → tier2 (needs a specialist)" in text


def test_a_session_nobody_answers_moves_to_the_transfer_queue_at_once_over_idle(data_dir: Path, tmp_path: Path, spawn):
    cli(data_dir, "queue", "add", "tier2")
    cli(data_dir, "address", "set", "support@acme.test", "--transfer-after", "2s", "--transfer-queue", "tier2", "--publish")
    add_agent(data_dir)
    cli(data_dir, "agent", "grant", "alice", "tier2")
    config = tmp_path / "c.yaml"
    config.write_text("sessions:\n  sweep_interval: 1s\n")
    server = spawn(data_dir, config)
    imap = login(server)
    imap.select('"Shared/Queues/tier2"')
    # Pushed to the idling client when the pass moves the session (RFC 2177).
    idle_until_exists(imap, lambda: customer_writes(server.port, "<order-1@example.test>", "where is my order"))
    imap.logout()
    [session] = session_list(data_dir)
    assert session["queue"] == "tier2" and session["owner"] is None
    [event] = session_show(data_dir, session["id"])["events"]
    assert (event["kind"], event["actor"], event["fromQueue"], event["toQueue"]) == ("transferred", "no-reply", "general", "tier2")
    assert "no agent reply" in event["detail"]
    cli(data_dir, "agent", "grant", "alice", "general")
    assert folder_message_ids(server, "Shared/Queues/general") == []


def test_an_idle_session_gets_the_closing_message_and_the_returning_customer_their_last_agent(
        data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    (tmp_path / "closing.txt").write_text("We closed case {{session_reference}} about \"{{subject}}\". Write again any time.")
    cli(data_dir, "address", "set", "support@acme.test", "--last-agent-days", "30", "--closing-text", str(tmp_path / "closing.txt"),
        "--publish")
    add_agent(data_dir)
    config = write_outbound_config(tmp_path / "c.yaml", port)
    config.write_text(config.read_text() + "sessions:\n  idle_timeout: 3s\n  sweep_interval: 1s\n")
    server = spawn(data_dir, config)
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    submit_by_smtp(server, agent_reply("<order-1@example.test>"), "jane@example.test")
    [first] = session_list(data_dir)

    # The reply, then the closing message once the session has been idle for 3 s.
    wait_for(lambda: len(handler.acknowledged) >= 2, message="no closing message reached the next hop")
    parsed = [(sender, rcpts, email.message_from_bytes(content, policy=email.policy.default))
              for sender, rcpts, content in handler.acknowledged]
    [(sender, rcpts, closing)] = [entry for entry in parsed if entry[2]["Auto-Submitted"] == "auto-generated"]
    assert rcpts == ["jane@example.test"] and sender == "support@acme.test"
    assert closing["In-Reply-To"] == "<order-1@example.test>"
    assert closing["Subject"] == "Re: where is my order"
    assert f"We closed case {first['id']} about \"where is my order\"" in closing.get_body(("plain",)).get_content()
    assert "DKIM-Signature" in closing
    [first] = session_list(data_dir)
    assert first["status"] == "closed"
    # The reply and the idle timeout race on a loaded machine; both are recorded either way.
    assert sorted(e["kind"] for e in session_show(data_dir, first["id"])["events"]) == ["closed", "owner"]

    # The customer comes back: a new session, which goes to the agent who owned the last.
    customer_writes(server.port, "<order-9@example.test>", "it came, but broken")
    second = wait_for(lambda: [s for s in session_list(data_dir) if s["id"] != first["id"]])[0]
    assert second["owner"] == "alice" and second["previousSessionId"] == first["id"]
    [event] = session_show(data_dir, second["id"])["events"]
    assert (event["kind"], event["actor"], event["agent"]) == ("assigned", "last-agent", "alice")
    wait_for(lambda: "<order-9@example.test>" in folder_message_ids(server, "Mine"))
    assert len(handler.acknowledged) == 2, "one closing message per session"


@pytest.mark.parametrize("args, message", [
    (["--transfer-after", "25:00"], "is invalid for '--transfer-after"),
    (["--transfer-after", "0s"], "the wait before a transfer must be from 1 second to 30 days"),
    (["--transfer-queue", "nowhere"], "the transfer queue 'nowhere' does not exist"),
    (["--last-agent-days", "0"], "the last-agent period must be from 1 to 3650 days"),
    (["--closing-text", "{{who}}", "--autoreply-inline"], "unknown variable {{who}}"),
    (["--closing-html", "<p>bye</p>", "--autoreply-inline"], "the closing message needs a text template"),
])
def test_bad_session_rules_are_refused_and_nothing_is_saved(data_dir: Path, args: list[str], message: str):
    proc = cli(data_dir, "address", "set", "support@acme.test", *args, check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert json.loads(cli(data_dir, "address", "diff", "support@acme.test", "--json").stdout) == []


def test_an_admin_commands_transfer_reaches_an_idling_client(data_dir: Path, tmp_path: Path, spawn):
    """`session transfer` runs in its own process beside `serve`; an idling client of the
    target queue learns of it at the next look (imap.idle_check_interval)."""
    cli(data_dir, "queue", "add", "tier2")
    add_agent(data_dir)
    cli(data_dir, "agent", "grant", "alice", "tier2")
    config = tmp_path / "c.yaml"
    config.write_text("imap:\n  idle_check_interval: 1\n")
    server = spawn(data_dir, config)
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    [session] = session_list(data_dir)
    imap = login(server)
    imap.select('"Shared/Queues/tier2"')
    idle_until_exists(imap, lambda: cli(data_dir, "session", "transfer", str(session["id"]), "tier2"))
    imap.logout()
