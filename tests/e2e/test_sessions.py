"""Sessions and threads end to end: header fixtures written as real clients write them
(tests/e2e/fixtures/threads/) are sent through SMTP with smtplib, and `postgate session
list/show --json` must show which session each joined and why."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import smtplib
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

import pytest

from conftest import cli, delivered_files, maildir_files, messages, wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "threads"
SCENARIO = json.loads((FIXTURES / "scenario.json").read_text())
CHANNEL = "support@acme.test"


# --------------------------------------------------------------------------- helpers


def base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def signed_token(data: Path, session_id: int) -> str:
    """A token as SessionMessageID makes it, computed independently from DATA/session.key."""
    key = (data / "session.key").read_bytes()
    body = f"pg1-{base36(session_id)}-{secrets.token_hex(4)}"
    return f"{body}-{hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:20]}"


def fixture_bytes(name: str, data: Path, labels: dict[str, int]) -> bytes:
    text = (FIXTURES / name).read_text()
    for label, session_id in labels.items():
        key = label.upper().replace("-", "_")
        text = text.replace("{{REPLY_ID_%s}}" % key, f"<{signed_token(data, session_id)}@acme.test>")
        text = text.replace("{{MARKER_%s}}" % key, f"[ref:{signed_token(data, session_id)}]")
    assert "{{" not in text, f"{name}: placeholder without a session: {text}"
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def header(raw: bytes, name: str) -> str | None:
    for line in raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def send(port: int, raw: bytes, to: str = CHANNEL) -> None:
    sender = parseaddr(header(raw, "From") or "")[1]
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        refused = s.sendmail(sender, [to], raw)
        assert refused == {}


def sessions(data: Path, *extra: str) -> list[dict]:
    return json.loads(cli(data, "session", "list", "--address", CHANNEL, "--json", *extra).stdout)


def show(data: Path, session_id: int) -> dict:
    return json.loads(cli(data, "session", "show", str(session_id), "--json").stdout)


def set_mode(data: Path, mode: str) -> None:
    """Sets and publishes the address's session mode (`postgate address set --session-mode`)."""
    cli(data, "address", "set", CHANNEL, "--session-mode", mode, "--publish")
    record = json.loads(cli(data, "address", "show", CHANNEL, "--json").stdout)
    assert record["settings"]["sessionMode"] == mode, record


def run_steps(server, steps: list[dict]) -> dict[str, int]:
    """Sends each step's fixture and checks the session it joined; returns label → id."""
    data = server.data
    labels: dict[str, int] = {}
    counts = {s["id"]: s["messageCount"] for s in sessions(data)}
    for step in steps:
        raw = fixture_bytes(step["file"], data, labels)
        send(server.port, raw)
        after = {s["id"]: s["messageCount"] for s in sessions(data)}
        changed = [i for i, n in after.items() if n != counts.get(i, 0)]
        if step["session"] is None:
            assert changed == [], f"{step['file']}: labelled {step['policy']}, it must start or join no session"
            [stored] = [r for r in messages(data) if r["message_id"] == header(raw, "Message-ID")]
            assert stored["policy"] == step["policy"] and stored["session_id"] is None
            continue
        assert len(changed) == 1, f"{step['file']}: expected one session to change, got {changed}"
        session_id = changed[0]
        if step.get("new"):
            assert session_id not in counts, f"{step['file']} joined session {session_id} instead of starting one"
            assert step["session"] not in labels
            labels[step["session"]] = session_id
        else:
            assert session_id == labels[step["session"]], (
                f"{step['file']} joined session {session_id}, expected {step['session']} ({labels[step['session']]})")
        thread = show(data, session_id)
        message_id = header(raw, "Message-ID")
        entries = [m for m in thread["messages"] if m["messageId"] == message_id]
        assert len(entries) == 1, f"{step['file']} not found once in session {session_id}: {thread['messages']}"
        assert entries[0]["reason"] == step["reason"], f"{step['file']}: {entries[0]}"
        counts = after
    return labels


# --------------------------------------------------------------------------- tests


def test_thread_mode_real_client_corpus(server):
    set_mode(server.data, "thread")
    labels = run_steps(server, SCENARIO["steps"])
    data = server.data

    # Every message is stored with its session id in the index.
    rows = messages(data)
    assert len(rows) == len(SCENARIO["steps"])
    assert [r["session_id"] is not None for r in rows] == [s["session"] is not None for s in SCENARIO["steps"]]

    ana = show(data, labels["ana"])
    assert ana["session"]["customer"] == "ana.souza@gmail.test"
    assert ana["session"]["status"] == "open"
    assert ana["session"]["mode"] == "thread"
    # Dev was added in Cc mid-thread: a participant, whose reply-all joined.
    assert ana["session"]["participants"] == ["ana.souza@gmail.test", "dev.souza@family.test"]
    assert ana["session"]["messageCount"] == 7
    # The tree: the Apple Mail reply answers the first message, Thunderbird answers Apple
    # Mail, Dev answers Thunderbird.
    depth = {m["messageId"]: m["depth"] for m in ana["messages"]}
    assert depth["<CAF3kQ1xT8m2+oYxgR4nq=Kp0vZ7hW@mail.gmail.com>"] == 0
    assert depth["<5E3A7C21-9B8D-4F10-A2C3-D4E5F6A7B8C9@gmail.test>"] == 1
    assert depth["<8f2c1e0a-3b4d-4c5e-9f6a-7b8c9d0e1f2a@gmail.test>"] == 2
    assert depth["<b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e@family.test>"] == 3
    snippets = {m["messageId"]: m["snippet"] for m in ana["messages"]}
    assert snippets["<CAF3kQ1xT8m2+oYxgR4nq=Kp0vZ7hW@mail.gmail.com>"] == "Olá, my order 4512 has not arrived yet. Can you check? Ana"
    assert snippets["<PAXPR02MB7711F00DBA11C0FFEE00112233@PAXPR02MB7711.eurprd02.prod.outlook.com>"].startswith(
        "Sorry, one more question: can I pick it up myself?")

    juergen = show(data, labels["juergen"])
    assert juergen["session"]["customer"] == "j.mueller@contoso.test"
    assert juergen["messages"][0]["from"] == "Jürgen Müller <j.mueller@contoso.test>"
    assert [m["snippet"] for m in juergen["messages"]][2] == "Nachtrag: bitte die Rechnung an buchhaltung@contoso.test senden."

    # The message without a Message-ID is stored and has a session of its own.
    bob = show(data, labels["bob"])
    assert bob["messages"][0]["messageId"] is None
    assert bob["session"]["customer"] == "bob@example.test"

    # The newsletter (bulk mail) has no session; its replies from two customers did not merge.
    assert labels["ana-sale"] != labels["carol"]

    # The human-readable tree.
    text = cli(data, "session", "show", str(labels["ana"])).stdout
    assert text.startswith(f"session {labels['ana']}: ana.souza@gmail.test → support@acme.test, open, thread mode")
    assert "\n    ├ Ana Souza <ana.souza@gmail.test>" in text  # Thunderbird's reply, two levels in
    assert "│   Got it, thanks! Sent from my iPhone" in text


def test_channel_mode_one_session_per_customer(server):
    run_steps(server, SCENARIO["channel_mode"]["steps"])
    listed = sessions(server.data)
    assert sorted(s["customer"] for s in listed) == [
        "ana.souza@gmail.test", "bob@example.test", "carol.lee@example.test", "j.mueller@contoso.test"]
    assert all(s["mode"] == "channel" and s["status"] == "open" for s in listed)
    text = cli(server.data, "session", "list").stdout
    assert text.splitlines()[0].split() == ["ID", "ADDRESS", "CUSTOMER", "STATUS", "OWNER", "MESSAGES", "LAST", "ACTIVITY", "SUBJECT"]


def test_duplicates_stored_once_and_acknowledged(server):
    raw = fixture_bytes("01-gmail-new.eml", server.data, {})
    send(server.port, raw)
    send(server.port, raw)  # a retried delivery: 250 again (send asserts it), stored once
    # A forward plus Bcc copy: another relay's Received field in front, same message.
    send(server.port, b"Received: from relay.gmail.test by mx.acme.test; Mon, 23 Nov 2026 09:12:50 +0100\r\n" + raw)
    # Via the alias: the same mailbox, so still one copy.
    send(server.port, raw, to="help@acme.test")
    assert len(messages(server.data)) == 1
    # One file; the duplicates' links in tmp/ are gone, and so is the first copy's once
    # it is renamed into new/ (just after its 250).
    assert len(delivered_files(server.data, "new")) == 1
    assert maildir_files(server.data, "tmp") == []
    assert [s["messageCount"] for s in sessions(server.data)] == [1]


def test_idle_timeout_closes_and_links(data_dir, spawn, tmp_path):
    config = tmp_path / "postgate.yaml"
    config.write_text("sessions:\n  idle_timeout: 2s\n")
    server = spawn(data_dir, config)
    send(server.port, fixture_bytes("01-gmail-new.eml", data_dir, {}))
    first = sessions(data_dir)[0]
    assert first["status"] == "open"
    # The configured idle timeout sets the expiry: two seconds after the last activity.
    expires, last = (datetime.fromisoformat(first[k].replace("Z", "+00:00")) for k in ("expiresAt", "lastActivityAt"))
    assert expires - last == timedelta(seconds=2), first
    # The session closes by itself once that time has passed.
    wait_for(lambda: sessions(data_dir, "--open") == [], message="the session is still open after its idle timeout")
    assert sessions(data_dir)[0]["status"] == "closed"
    send(server.port, fixture_bytes("06-apple-mail-reply.eml", data_dir, {}))
    newest, old = sessions(data_dir)
    assert old["id"] == first["id"] and old["status"] == "closed"
    assert newest["status"] == "open" and newest["previousSessionId"] == first["id"]
    assert show(data_dir, newest["id"])["messages"][0]["reason"] == "expired"
    # The closed session is never listed as open again (the new one may have expired by now too).
    assert first["id"] not in [s["id"] for s in sessions(data_dir, "--open")]


def test_session_cli_errors(data_dir, postgate_bin):
    proc = cli(data_dir, "session", "show", "999", check=False)
    assert proc.returncode == 1
    assert proc.stderr == "postgate: there is no session 999; see `postgate session list`\n"
    proc = cli(data_dir, "session", "list", "--address", "nobody@acme.test", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("postgate: address nobody@acme.test is not hosted")
    assert cli(data_dir, "session", "list").stdout == "no sessions\n"


def test_bad_config_duration_is_refused(data_dir, postgate_bin, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("sessions:\n  idle_timeout: soon\n")
    proc = cli(data_dir, "serve", "--config", str(config), check=False)
    assert proc.returncode != 0
    assert "sessions.idle_timeout must be a duration" in proc.stderr
