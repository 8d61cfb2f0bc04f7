"""Receiving gateways end to end: a channel address connected to a private Dovecot mailbox
(POP3 and IMAP) fetches the customer's mail into its queue exactly once, records what it
skips, and shows its connection state."""

from __future__ import annotations

import imaplib
from datetime import datetime, timedelta, timezone
import json
import os
import ssl
from pathlib import Path

import pytest

import dovecot
from conftest import cli, free_port, message_file, messages, wait_for

pytestmark = pytest.mark.skipif(not dovecot.installed(), reason="Dovecot (dovecot-imapd, dovecot-pop3d) is not installed")

PASSWORD = "correct horse battery"
ADDRESS = "support@acme.test"


@pytest.fixture
def mailbox():
    server = dovecot.Dovecot().start()
    yield server
    server.stop()


def js(data: Path, *args: str):
    return json.loads(cli(data, *args, "--json").stdout)


def message(n: int, size: int = 0, sender: str = "customer@example.org") -> bytes:
    body = "Please help.\r\n" + ("x" * 70 + "\r\n") * (size // 72)
    return (f"Return-Path: <{sender}>\r\nFrom: Customer <{sender}>\r\nTo: support@their-company.example\r\n"
            f"Subject: Request {n}\r\nMessage-ID: <request-{n}@example.org>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            f"\r\n{body}").encode()


def connect(data: Path, tmp_path: Path, mailbox: dovecot.Dovecot, kind: str, *extra: str, password: str = PASSWORD,
            ca: bool = True, poll: int = 10) -> None:
    secret = tmp_path / "password"
    secret.write_text(password + "\n")
    os.chmod(secret, 0o600)
    port = mailbox.pop3s_port if kind == "pop3" else mailbox.imaps_port
    args = ["connector", "set", ADDRESS, "--receiving", kind, "--host", "127.0.0.1", "--port", str(port), "--tls", "implicit",
            "--username", "alice", "--password-file", str(secret), "--poll-interval", str(poll)]
    if ca:
        args += ["--ca-file", str(mailbox.cert)]
    cli(data, *args, *extra)
    cli(data, "publish", "--comment", "connect the provider mailbox")


def config(tmp_path: Path) -> Path:
    path = tmp_path / "fetch.yaml"
    path.write_text("hostname: postgate.e2e.test\nconnectors:\n  retry_delay: 1\n  reload_interval: 1\n")
    return path


def queue_subjects(data: Path) -> list[str]:
    return sorted(row["subject"] for row in messages(data, "queues/support"))


def gateway_state(data: Path) -> dict:
    """The live state of the address's receiving gateway; empty before its first attempt."""
    (entry,) = [g for g in js(data, "connector", "list") if g["address"] == ADDRESS and g["direction"] == "receiving"]
    return entry["state"] or {}


@pytest.fixture
def channel(data_dir: Path) -> Path:
    cli(data_dir, "queue", "add", "support")
    cli(data_dir, "address", "set", ADDRESS, "--queue", "support", "--publish")
    return data_dir


def test_pop3_gateway_fetches_each_message_once(channel, tmp_path, mailbox, spawn):
    for n in (1, 2, 3):
        mailbox.add_message(message(n))
    connect(channel, tmp_path, mailbox, "pop3")
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, message="three fetched messages in the queue")
    assert queue_subjects(channel) == ["Request 1", "Request 2", "Request 3"]
    stored = message_file(channel, messages(channel, "queues/support")[0]).read_bytes()
    # Our trace field on top, then the message as the provider held it.
    assert stored.startswith(b"Received: from 127.0.0.1 by postgate.e2e.test (Postgate) with POP3 id "), stored[:200]
    assert b"Return-Path: <customer@example.org>\r\nFrom: Customer" in stored
    # Left on the server by default; a new message arrives and is fetched at the next poll.
    assert len(mailbox.message_files()) == 3
    mailbox.add_message(message(4))
    wait_for(lambda: len(queue_subjects(channel)) == 4, timeout=60, message="the fourth message fetched")
    state = gateway_state(channel)
    assert state["fetched"] == 4 and state["state"] in ("idle", "connected"), state
    assert state["lastSuccessAt"]
    # A restart fetches nothing again: the checkpoints were committed with the messages.
    server.stop()
    server = spawn(channel, config(tmp_path))
    mailbox.add_message(message(5))
    wait_for(lambda: len(queue_subjects(channel)) == 5, timeout=60, message="the fifth message fetched")
    assert queue_subjects(channel) == [f"Request {n}" for n in range(1, 6)]


def test_pop3_delete_after_download_and_oversize_skipped(channel, tmp_path, mailbox, spawn):
    mailbox.add_message(message(1))
    mailbox.add_message(message(2, size=4096))
    mailbox.add_message(message(3))
    connect(channel, tmp_path, mailbox, "pop3", "--delete-after-download", "true", "--max-message-size", "2048")
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 2, message="the two small messages fetched")
    # Deleted once stored; the skipped one stays on the server.
    wait_for(lambda: len(mailbox.message_files()) == 1, message="fetched messages deleted on the server")
    assert b"Request 2" in mailbox.message_files()[0].read_bytes()
    state = gateway_state(channel)
    assert state["fetched"] == 2 and state["skipped"] == 1, state
    assert queue_subjects(channel) == ["Request 1", "Request 3"]


def test_wrong_password_fails_then_cools_off(channel, tmp_path, mailbox, spawn):
    mailbox.add_message(message(1))
    connect(channel, tmp_path, mailbox, "pop3", "--max-tries", "2", "--cool-off-minutes", "5", password="wrong")
    spawn(channel, config(tmp_path))
    wait_for(lambda: gateway_state(channel).get("state") == "cooling-off", timeout=60, message="cooling off after two failures")
    state = gateway_state(channel)
    assert "authentication failed" in state["lastError"], state
    assert state["coolingUntil"] and state["tries"] == 2
    assert queue_subjects(channel) == []
    # `postgate check` says so, in one line.
    report = json.loads(cli(channel, "check", "--json", check=False).stdout)
    (finding,) = [f for f in report["findings"] if f["subject"] == f"connector {ADDRESS}"]
    assert finding["severity"] == "warning" and "cooling off" in finding["detail"] and "2 of 2 tries" in finding["detail"], finding
    assert "authentication failed" in finding["detail"]


def test_untrusted_certificate_is_a_clear_error(channel, tmp_path, mailbox, spawn):
    mailbox.add_message(message(1))
    connect(channel, tmp_path, mailbox, "pop3", ca=False)
    spawn(channel, config(tmp_path))
    wait_for(lambda: (gateway_state(channel).get("lastError") or "") != "", timeout=60, message="a failed attempt")
    assert "certificate" in gateway_state(channel)["lastError"]
    assert queue_subjects(channel) == []


# --------------------------------------------------------------------------- IMAP


def imap_session(mailbox: dovecot.Dovecot) -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context(cafile=str(mailbox.cert))
    session = imaplib.IMAP4_SSL("127.0.0.1", mailbox.imaps_port, ssl_context=context)
    session.login("alice", PASSWORD)
    return session


def test_imap_gateway_waits_with_idle_and_moves_fetched_mail(channel, tmp_path, mailbox, spawn):
    for n in (1, 2):
        mailbox.add_message(message(n))
    # An hour between polls: only IDLE can bring the third message in time.
    connect(channel, tmp_path, mailbox, "imap", "--after-fetch", "move", "--move-to-folder", "Archive", poll=3600)
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 2, message="two fetched messages in the queue")
    wait_for(lambda: len(mailbox.message_files(folder="Archive")) == 2, message="fetched messages moved to Archive")
    wait_for(lambda: gateway_state(channel).get("state") == "connected", message="connected and idling")
    mailbox.add_message(message(3))
    wait_for(lambda: len(queue_subjects(channel)) == 3, timeout=60, message="the third message fetched on IDLE")
    wait_for(lambda: mailbox.message_files() == [], message="INBOX emptied into Archive")
    stored = message_file(channel, messages(channel, "queues/support")[0]).read_bytes()
    assert b"(Postgate) with IMAP id " in stored.split(b"\r\n\r\n")[0]


def test_imap_uidvalidity_change_resyncs_without_duplicates(channel, tmp_path, mailbox, spawn):
    session = imap_session(mailbox)
    session.create("Support")
    for n in (1, 2, 3):
        session.append("Support", None, None, message(n))
    connect(channel, tmp_path, mailbox, "imap", "--folder", "Support", "--idle", "false")
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, message="three fetched messages")
    # The folder is made anew (a new UIDVALIDITY, RFC 9051 section 2.3.1.1) with the same
    # three messages and a fourth.
    session.delete("Support")
    session.create("Support")
    for n in (1, 2, 3, 4):
        session.append("Support", None, None, message(n))
    session.logout()
    wait_for(lambda: len(queue_subjects(channel)) == 4, timeout=60, message="the fourth message fetched")
    wait_for(lambda: gateway_state(channel).get("fetched", 0) >= 7, timeout=60, message="the resync recorded")
    assert queue_subjects(channel) == [f"Request {n}" for n in range(1, 5)]


def test_imap_sync_all_folders_skips_trash_and_junk(channel, tmp_path, mailbox, spawn):
    mailbox.add_message(message(1))
    mailbox.add_message(message(2), folder="Archive")
    mailbox.add_message(message(3), folder="Trash")
    mailbox.add_message(message(4), folder="Junk")
    connect(channel, tmp_path, mailbox, "imap", "--sync-all-folders", "true", "--idle", "false")
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 2, message="INBOX and Archive fetched")
    wait_for(lambda: gateway_state(channel).get("state") == "idle", message="the pass finished")
    assert queue_subjects(channel) == ["Request 1", "Request 2"]


def test_imap_gateway_survives_sigkill_without_loss_or_duplicates(channel, tmp_path, mailbox, spawn):
    count = 300
    for n in range(count):
        mailbox.add_message(message(n))
    connect(channel, tmp_path, mailbox, "imap", "--idle", "false")
    kills = 0
    while kills < 4:
        server = spawn(channel, config(tmp_path))
        before = len(messages(channel, "queues/support"))
        # Kill it mid-import: once some more messages are stored.
        wait_for(lambda: len(messages(channel, "queues/support")) >= min(count, before + 20), timeout=120,
                 message="import under way")
        server.kill9()
        kills += 1
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(messages(channel, "queues/support")) == count, timeout=180, message="every message imported")
    subjects = [row["subject"] for row in messages(channel, "queues/support")]
    assert len(subjects) == len(set(subjects)) == count


# --------------------------------------------------------------------------- operations


def probe(data: Path, *args: str) -> tuple[int, dict]:
    proc = cli(data, "connector", "test", ADDRESS, *args, "--json", check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_connector_test_reports_each_step_on_a_draft(channel, tmp_path, mailbox):
    mailbox.add_message(message(1))
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    base = ["connector", "set", ADDRESS, "--receiving", "imap", "--host", "127.0.0.1", "--port", str(mailbox.imaps_port),
            "--username", "alice", "--password-file", str(secret), "--ca-file", str(mailbox.cert)]
    cli(channel, *base)
    code, report = probe(channel)
    assert code == 0 and report["ok"] and report["settings"] == "draft", report
    assert [s["step"] for s in report["steps"]] == ["open stored password", "connect", "authenticate", "list folders"]
    assert "Archive" in report["steps"][-1]["detail"] and "TLS active" in report["steps"][1]["detail"]
    # A folder the server does not have fails the last step, naming it.
    cli(channel, "connector", "set", ADDRESS, "--receiving", "imap", "--folder", "Tickets")
    code, report = probe(channel)
    assert code == 1 and not report["ok"]
    assert report["steps"][-1]["step"] == "list folders" and "Tickets" in report["steps"][-1]["detail"]
    # A wrong password fails at authentication; nothing after it is tried.
    secret.write_text("wrong")
    cli(channel, "connector", "set", ADDRESS, "--receiving", "imap", "--folder", "INBOX", "--password-file", str(secret))
    code, report = probe(channel)
    assert code == 1 and report["steps"][-1]["step"] == "authenticate" and not report["steps"][-1]["ok"]
    assert "authentication failed" in report["steps"][-1]["detail"]
    # Nothing listens: the connect step says so.
    cli(channel, "connector", "set", ADDRESS, "--receiving", "imap", "--port", str(free_port()))
    code, report = probe(channel)
    assert code == 1 and report["steps"][-1]["step"] == "connect" and "refused" in report["steps"][-1]["detail"], report
    # POP3 counts the messages; the human form is a table of the steps.
    secret.write_text(PASSWORD)
    cli(channel, "connector", "remove", ADDRESS, "--receiving")
    cli(channel, "connector", "set", ADDRESS, "--receiving", "pop3", "--host", "127.0.0.1", "--port", str(mailbox.pop3s_port),
        "--username", "alice", "--password-file", str(secret), "--ca-file", str(mailbox.cert))
    code, report = probe(channel)
    assert code == 0 and report["steps"][-1] == {**report["steps"][-1], "step": "count messages", "ok": True}
    assert report["steps"][-1]["detail"].startswith("1 messages")
    text = cli(channel, "connector", "test", ADDRESS).stdout
    assert "count messages" in text and "ok" in text


def test_status_shows_checkpoints_and_skipped_messages(channel, tmp_path, mailbox, spawn):
    mailbox.add_message(message(1))
    mailbox.add_message(message(2, size=4096))
    connect(channel, tmp_path, mailbox, "imap", "--idle", "false", "--max-message-size", "2048")
    spawn(channel, config(tmp_path))
    wait_for(lambda: gateway_state(channel).get("skipped") == 1 and gateway_state(channel).get("fetched") == 1,
             message="one fetched, one skipped")
    (status,) = js(channel, "connector", "status", ADDRESS)
    assert status["folders"]["INBOX"]["lastUID"] == 2
    (skipped,) = status["skipped"]
    assert skipped["folder"] == "INBOX" and skipped["remoteID"] == f"{status['folders']['INBOX']['uidValidity']}.2"
    assert "over the limit of 2048" in skipped["reason"]
    text = cli(channel, "connector", "status", ADDRESS).stdout
    assert "folder INBOX: UIDVALIDITY" in text and "skipped INBOX" in text


def test_retry_starts_a_cooling_off_gateway_again(channel, tmp_path, mailbox, spawn):
    mailbox.add_message(message(1))
    connect(channel, tmp_path, mailbox, "pop3", "--max-tries", "1", "--cool-off-minutes", "60", password="wrong")
    spawn(channel, config(tmp_path))
    wait_for(lambda: gateway_state(channel).get("state") == "cooling-off", message="cooling off after the failure")
    # The administrator fixes the password in the mailbox's users file, then asks for a retry.
    mailbox.set_password("alice", "wrong")
    cli(channel, "connector", "retry", ADDRESS)
    wait_for(lambda: len(queue_subjects(channel)) == 1, timeout=60, message="fetched after the retry")
    assert gateway_state(channel)["state"] == "idle"


def test_nothing_is_fetched_inside_a_skip_window(channel, tmp_path, mailbox, spawn):
    mailbox.add_message(message(1))
    now = datetime.now(timezone.utc)
    start = (now - timedelta(minutes=5)).strftime("%H:%M")
    end = (now + timedelta(hours=2)).strftime("%H:%M")
    connect(channel, tmp_path, mailbox, "pop3", "--skip-time", f"{start}-{end}", "--time-zone", "UTC")
    spawn(channel, config(tmp_path))
    wait_for(lambda: gateway_state(channel).get("state") == "skipped", message="in the skip window")
    assert queue_subjects(channel) == [] and gateway_state(channel)["fetched"] == 0


def big_message(megabytes: int) -> bytes:
    head = (b"Return-Path: <customer@example.org>\r\nFrom: customer@example.org\r\nSubject: Big attachment\r\n"
            b"Message-ID: <big@example.org>\r\n\r\n")
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n"
    return head + line * (megabytes * 1024 * 1024 // len(line))


def test_sixty_megabytes_skipped_by_default_then_streamed_in_bounded_memory(channel, tmp_path, mailbox, spawn):
    MB = 1024 * 1024
    # A truncated message (cut inside its header, no body) and a normal one around a 60 MB one.
    mailbox.add_message(b"From: customer@example.org\r\nSubject: Cut off\r\nMessage-ID: <cut@example.org>\r\nX-Trunc")
    big = big_message(60)
    mailbox.add_message(big)
    mailbox.add_message(message(3))
    connect(channel, tmp_path, mailbox, "imap", "--idle", "false")
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: gateway_state(channel).get("fetched") == 2 and gateway_state(channel).get("skipped") == 1,
             timeout=120, message="the 60 MB message skipped under the default 50 MiB limit, the others fetched")
    assert queue_subjects(channel) == ["Cut off", "Request 3"]
    (status,) = js(channel, "connector", "status", ADDRESS)
    assert "over the limit of 52428800" in status["skipped"][0]["reason"]
    # A larger limit: fetched from now on, streamed to disk.
    cli(channel, "connector", "set", ADDRESS, "--receiving", "imap", "--max-message-size", "100M", "--publish")
    server.stop()
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: (gateway_state(channel).get("lastSuccessAt") or "") > status["state"]["lastSuccessAt"], timeout=60,
             message="a pass under the new limit")
    before = server.vm("VmHWM")
    # The checkpoint is past the skipped message: a new limit applies to new mail only,
    # and the skipped one is recorded with its remote id for the administrator.
    assert queue_subjects(channel) == ["Cut off", "Request 3"]
    mailbox.add_message(big.replace(b"<big@example.org>", b"<big2@example.org>"))
    wait_for(lambda: len(queue_subjects(channel)) == 3, timeout=180, message="the second 60 MB message fetched")
    (row,) = [r for r in messages(channel, "queues/support") if r["subject"] == "Big attachment"]
    stored = message_file(channel, row).read_bytes()
    assert stored.endswith(big[-4096:]) and len(stored) > 60 * MB
    growth = server.vm("VmHWM") - before
    assert growth < 24 * MB, f"peak RSS grew by {growth / MB:.1f} MB while fetching a 60 MB message"
