"""IMAP end to end: the built server with real clients — Python's imaplib (STARTTLS,
LOGIN, SELECT, FETCH, SEARCH, STORE, APPEND, IDLE, two sessions), curl's imap:// and
mbsync (isync) syncing into a local Maildir and pushing changes back. Mail arrives over
SMTP (smtplib) into the same server."""

from __future__ import annotations

import imaplib
import json
import re
import shutil
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, cli, insecure_tls, maildir_files

PASSWORD = "correct horse battery"
SHARED = "Shared/support@acme.test"
# How long an idling client waits for a pushed update before the test fails: a deadline
# for a slow machine, not a latency requirement (the line comes as soon as the server sends it).
IDLE_PUSH_DEADLINE = 30


def add_agent(data: Path, name: str = "alice") -> None:
    subprocess.run([str(BIN), "agent", "add", name, "--password-stdin", "--data", str(data)],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60)
    subprocess.run([str(BIN), "agent", "grant", name, "support@acme.test", "--data", str(data)],
                   check=True, capture_output=True, timeout=60)


@pytest.fixture
def imap_server(data_dir: Path, spawn):
    add_agent(data_dir)
    return spawn(data_dir)


def deliver(port: int, subject: str, body: str = "Hello from a customer.", sender: str = "carol@example.com") -> None:
    message = (f"From: Carol <{sender}>\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject.replace(' ', '.')}@example.com>\r\n\r\n{body}\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail(sender, ["support@acme.test"], message)


def login(server, name: str = "alice") -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    imap.starttls(ssl_context=insecure_tls())
    imap.login(name, PASSWORD)
    return imap


def test_login_only_after_starttls(imap_server):
    imap = imaplib.IMAP4("127.0.0.1", imap_server.imap_port, timeout=10)
    assert "LOGINDISABLED" in imap.capabilities and "STARTTLS" in imap.capabilities
    typ, data = imap._simple_command("LOGIN", "alice", imaplib.IMAP4._quote(imap, PASSWORD))
    assert typ == "NO" and b"PRIVACYREQUIRED" in data[0], data  # refused in clear text
    imap.starttls(ssl_context=insecure_tls())
    assert "AUTH=PLAIN" in imap.capabilities and "LOGINDISABLED" not in imap.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("alice", "wrong password")
    typ, _ = imap.login("alice", PASSWORD)
    assert typ == "OK"
    typ, listing = imap.list()
    text = b"\n".join(listing).decode()
    assert '(\\HasNoChildren \\Drafts) "/" Drafts' in text
    assert f'"/" {SHARED}' in text
    imap.logout()


def test_implicit_tls_and_authenticate_plain(imap_server):
    imap = imaplib.IMAP4_SSL("127.0.0.1", imap_server.imaps_port, ssl_context=insecure_tls(), timeout=10)
    assert "STARTTLS" not in imap.capabilities
    typ, _ = imap.authenticate("PLAIN", lambda _: f"\0alice\0{PASSWORD}".encode())
    assert typ == "OK"
    imap.logout()


def test_select_fetch_search_store_append(imap_server, data_dir):
    deliver(imap_server.port, "Order late")
    deliver(imap_server.port, "Refund please", body="I want my money back.", sender="dave@example.org")
    imap = login(imap_server)
    typ, data = imap.select(SHARED)
    assert typ == "OK" and data == [b"2"]
    typ, data = imap.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[])")
    assert b"Subject: Order late" in data[0][1] and b"Hello from a customer." in data[0][1]
    assert b"\\Seen" not in data[0][0]
    assert imap.search(None, "FROM", "dave")[1] == [b"2"]
    assert imap.uid("SEARCH", "TEXT", "money")[1] == [b"2"]
    typ, data = imap.store("1", "+FLAGS", "(\\Flagged)")
    assert b"\\Flagged" in data[0]
    flagged = [p for p in maildir_files(data_dir, "cur") if p.name.endswith(":2,F")]
    assert len(flagged) == 1, "the Maildir file moved to cur/ with the F flag"

    draft = b"From: alice@acme.test\r\nTo: carol@example.com\r\nSubject: Re: Order late\r\n\r\nOn its way.\r\n"
    typ, data = imap.append("Drafts", "(\\Draft \\Seen)", imaplib.Time2Internaldate(time.time()), draft)
    assert typ == "OK" and re.search(rb"APPENDUID \d+ 1", data[0]), data
    drafts = [p for p in (data_dir / "agents").glob("**/cur/*") if p.read_bytes() == draft]
    assert len(drafts) == 1 and drafts[0].name.endswith(":2,DS")
    imap.select("Drafts")
    assert imap.fetch("1", "(FLAGS)")[1][0] == b"1 (FLAGS (\\Draft \\Seen \\Recent))"
    imap.logout()


def test_idle_sees_smtp_delivery(imap_server):
    imap = login(imap_server)
    imap.select(SHARED)
    tag = imap._new_tag()
    imap.send(tag + b" IDLE\r\n")
    assert imap.readline().startswith(b"+")
    deliver(imap_server.port, "Live one")
    # Pushed during IDLE (RFC 2177): the client sends nothing until it has the line.
    imap.sock.settimeout(IDLE_PUSH_DEADLINE)
    line = imap.readline()
    assert line == b"* 1 EXISTS\r\n", line
    imap.send(b"DONE\r\n")
    reply = imap.readline()
    assert reply == b"* 1 RECENT\r\n", reply  # the idling session takes it as recent (RFC 3501 section 2.3.2)
    assert imap.readline().startswith(tag + b" OK")
    imap.logout()


def test_expunge_seen_by_second_session(imap_server):
    deliver(imap_server.port, "First")
    deliver(imap_server.port, "Second")
    one, two = login(imap_server), login(imap_server)
    one.select(SHARED)
    two.select(SHARED)
    one.store("1", "+FLAGS", "(\\Deleted)")
    one.expunge()
    typ, _ = two.noop()
    assert typ == "OK"
    assert two.response("EXPUNGE")[1] == [b"1"]
    assert two.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].startswith(b"Subject: Second")
    one.logout()
    two.logout()


def test_curl_reads_and_lists(imap_server):
    deliver(imap_server.port, "Curl check")
    base = f"imap://127.0.0.1:{imap_server.imap_port}"
    common = ["curl", "-sS", "--ssl-reqd", "-k", "--max-time", "20", "-u", f"alice:{PASSWORD}"]
    listing = subprocess.run(common + [base + "/"], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert "Drafts" in listing.stdout and SHARED in listing.stdout
    mailbox = SHARED.replace("/", "%2F")
    message = subprocess.run(common + [f"{base}/{mailbox};UID=1"], capture_output=True, text=True, timeout=30)
    assert message.returncode == 0, message.stderr
    assert "Subject: Curl check" in message.stdout


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync (Debian isync) is not installed")
def test_mbsync_syncs_and_pushes_back(imap_server, data_dir, tmp_path):
    deliver(imap_server.port, "Sync me")
    local = tmp_path / "local"
    local.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(f"""
IMAPAccount postgate
Host localhost
Port {imap_server.imap_port}
User alice
Pass "{PASSWORD}"
SSLType STARTTLS
CertificateFile {data_dir / 'certs' / 'dev-certificate.pem'}

IMAPStore remote
Account postgate

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX Drafts {SHARED}
Create Near
Sync All
SyncState *
""")
    def mbsync():
        run = subprocess.run(["mbsync", "-c", str(config), "-a"], capture_output=True, text=True, timeout=60,
                             env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert run.returncode == 0, run.stdout + run.stderr

    mbsync()
    synced = [p for p in (local / SHARED).glob("*/*") if p.is_file()]
    assert len(synced) == 1 and b"Subject: Sync me" in synced[0].read_bytes()

    # Flag it locally and write a new draft; the next run pushes both.
    name = synced[0].name
    flagged = synced[0].parent.parent / "cur" / ((name.split(":2,")[0]) + ":2,F")
    synced[0].rename(flagged)
    draft = b"From: alice@acme.test\r\nTo: carol@example.com\r\nSubject: Draft from mbsync\r\n\r\nText.\r\n"
    (local / "Drafts" / "new" / "1700000000.local.draft").write_bytes(draft)
    mbsync()

    imap = login(imap_server)
    imap.select(SHARED)
    assert b"\\Flagged" in imap.fetch("1", "(FLAGS)")[1][0]
    imap.select("Drafts")
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert any(isinstance(item, tuple) and b"Draft from mbsync" in item[1] for item in data), data
    imap.logout()


def test_failed_logins_are_delayed_and_locked_out(data_dir, spawn, tmp_path):
    add_agent(data_dir)
    config = tmp_path / "lockout.yaml"
    config.write_text("imap:\n  failed_login_delay_ms: 200\nlogin:\n  max_failures_per_ip: 3\n  lockout_seconds: 60\n")
    server = spawn(data_dir, config=config)
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=insecure_tls(), timeout=10)
    for _ in range(3):
        start = time.monotonic()
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("alice", "nope")
        # The delay is the behaviour under test, so it is measured; as a lower bound only
        # (a slow machine makes it longer, never shorter), with the clock's 10 ms of slack.
        assert time.monotonic() - start >= 0.19
    with pytest.raises(imaplib.IMAP4.error, match="Too many failed logins"):
        imap.login("alice", PASSWORD)
    imap.logout()


def test_bad_input_gets_bad_not_a_crash(imap_server):
    with socket.create_connection(("127.0.0.1", imap_server.imap_port), timeout=10) as sock:
        f = sock.makefile("rwb")
        assert f.readline().startswith(b"* OK")
        f.write(b"a1 " + b"X" * 100_000 + b"\r\n" + b"a2 FETCH (((((\r\n" + b"a3 NOOP\r\n")
        f.flush()
        assert f.readline() == b"a1 BAD Command line too long\r\n"
        assert f.readline().startswith(b"a2 BAD")
        assert f.readline() == b"a3 OK NOOP completed\r\n"
    assert imap_server.poll() is None


def test_sigterm_says_bye(imap_server):
    imap = login(imap_server)
    imap.select(SHARED)
    imap_server.signal(15)
    imap.sock.settimeout(10)
    assert imap.readline().startswith(b"* BYE")
    assert imap_server.wait(15) == 0


def test_starttls_injection_is_dropped(imap_server):
    """Commands pipelined after STARTTLS in clear text are never run (CVE-2011-0411 class)."""
    sock = socket.create_connection(("127.0.0.1", imap_server.imap_port), timeout=10)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"* OK")
    sock.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
    assert f.readline() == b"a OK Begin TLS negotiation now\r\n"
    tls = insecure_tls().wrap_socket(sock, server_hostname="postgate.test")
    tls.sendall(b"c NOOP\r\n")
    # Replies come in order: the first line inside TLS answers c, not the injected b.
    reply = tls.makefile("rb").readline()
    assert reply == b"c OK NOOP completed\r\n", reply
    tls.close()


# --------------------------------------------------------------------------- queues and policy

def send_raw(port: int, sender: str, headers: dict[str, str], body: str = "Hello\r\n") -> None:
    data = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n" + body
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        assert smtp.sendmail(sender, ["support@acme.test"], data.encode()) == {}


def idle_until_exists(imap: imaplib.IMAP4, action) -> bytes:
    """Runs `action` during IDLE; returns the EXISTS line pushed to the idling client."""
    tag = imap._new_tag()
    imap.send(tag + b" IDLE\r\n")
    assert imap.readline().startswith(b"+")
    action()
    imap.sock.settimeout(IDLE_PUSH_DEADLINE)
    line = imap.readline()
    assert re.fullmatch(rb"\* \d+ EXISTS\r\n", line), line
    imap.send(b"DONE\r\n")
    reply = imap.readline()
    # The idling session takes the new message as recent (RFC 3501 section 2.3.2).
    if re.fullmatch(rb"\* \d+ RECENT\r\n", reply):
        reply = imap.readline()
    assert reply.startswith(tag + b" OK"), reply
    imap.sock.settimeout(10)
    return line


def test_queue_folder_idle_and_private_seen(data_dir: Path, spawn):
    cli(data_dir, "queue", "add", "refunds", "--private-seen")
    cli(data_dir, "filter", "add", "support@acme.test", "--field", "subject", "--keyword", "refund", "--queue", "refunds")
    add_agent(data_dir, "alice")
    add_agent(data_dir, "bob")
    for agent in ("alice", "bob"):
        cli(data_dir, "agent", "grant", agent, "refunds")
    assert json.loads(cli(data_dir, "agent", "show", "bob", "--json").stdout)["queues"] == ["refunds"]
    assert "already belongs to queue refunds" in cli(data_dir, "agent", "grant", "bob", "refunds", check=False).stderr
    missing = cli(data_dir, "agent", "grant", "bob", "nope", check=False)
    assert missing.returncode == 1 and missing.stderr.startswith("postgate: there is no queue 'nope'"), missing.stderr
    assert [q["privateSeen"] for q in json.loads(cli(data_dir, "queue", "list", "--json").stdout)] == [False, True]
    server = spawn(data_dir)

    alice, bob = login(server, "alice"), login(server, "bob")
    listing = b"\n".join(alice.list()[1]).decode()
    assert '"/" Shared/Queues/refunds' in listing and '(\\Noselect \\HasChildren) "/" Shared/Queues' in listing
    assert alice.select("Shared/Queues/refunds") == ("OK", [b"0"])
    # A delivery routed into the queue is pushed to an idling agent.
    assert idle_until_exists(alice, lambda: deliver(server.port, "Refund please")) == b"* 1 EXISTS\r\n"
    deliver(server.port, "Just a question")  # not routed here
    assert bob.select("Shared/Queues/refunds") == ("OK", [b"1"])
    alice.store("1", "+FLAGS", "(\\Seen \\Flagged)")
    bob.noop()
    assert bob.response("FETCH")[1] == [b"1 (UID 1 FLAGS (\\Flagged))"], "alice's change, without her \\Seen"
    assert bob.fetch("1", "(FLAGS)")[1] == [b"1 (FLAGS (\\Flagged))"], "\\Seen is bob's own; \\Flagged is shared"
    assert alice.fetch("1", "(FLAGS)")[1] == [b"1 (FLAGS (\\Flagged \\Seen \\Recent))"]

    cli(data_dir, "queue", "set", "refunds", "--private-seen", "off")
    assert [q["privateSeen"] for q in json.loads(cli(data_dir, "queue", "list", "--json").stdout)] == [False, False]
    bad = cli(data_dir, "queue", "set", "refunds", "--private-seen", "maybe", check=False)
    assert bad.stderr == "postgate: --private-seen takes on or off, not 'maybe'\n"
    bob.store("1", "+FLAGS", "(\\Seen)")
    bob.select("Shared/Queues/refunds")  # re-read: shared \Seen from now on
    assert alice.select("Shared/Queues/refunds")[0] == "OK"
    assert b"\\Seen" in alice.fetch("1", "(FLAGS)")[1][0]
    cli(data_dir, "agent", "revoke", "alice", "refunds")
    assert alice.select("Shared/Queues/refunds")[0] == "NO"
    alice.logout()
    bob.logout()


def test_policy_labels_in_the_agents_view(data_dir: Path, spawn):
    cli(data_dir, "blocklist", "add", "support@acme.test", "@spam.example")
    cli(data_dir, "address", "set", "support@acme.test", "--allowed-domain", "example.com", "--allowed-domain", "spam.example",
        "--publish", "--comment", "imap policy test")
    add_agent(data_dir, "alice")
    cli(data_dir, "agent", "grant", "alice", "general")
    server = spawn(data_dir)
    to = {"To": "support@acme.test"}
    send_raw(server.port, "carol@example.com", {**to, "From": "carol@example.com", "Subject": "Ordinary"})
    send_raw(server.port, "x@spam.example", {**to, "From": "x@spam.example", "Subject": "Buy now"})
    send_raw(server.port, "carol@example.com", {**to, "From": "carol@example.com", "Subject": "Out of office",
                                                 "Auto-Submitted": "auto-replied"})
    send_raw(server.port, "eve@evil.example", {**to, "From": "eve@evil.example", "Subject": "Held back"})
    assert len(json.loads(cli(data_dir, "quarantine", "list", "--json").stdout)) == 1

    imap = login(server)
    assert imap.select(SHARED) == ("OK", [b"3"]), "the quarantined message is not in the address folder"
    typ, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    flags = {item[1].decode().strip(): item[0].decode() for item in data if isinstance(item, tuple)}
    assert "$Blocked" in flags["Subject: Buy now"] and "$AutoReply" in flags["Subject: Out of office"], flags
    assert "$" not in flags["Subject: Ordinary"].split("FLAGS")[1].split(")")[0], flags
    assert imap.search(None, "KEYWORD", "$Blocked")[1] == [b"2"]
    assert imap.search(None, "SUBJECT", "Held")[1] == [b""]
    assert imap.select("Shared/Queues/general") == ("OK", [b"1"]), "only the ordinary message was routed"
    listing = b"\n".join(imap.list()[1]).decode()
    assert "quarantine" not in listing.lower(), listing
    imap.logout()
