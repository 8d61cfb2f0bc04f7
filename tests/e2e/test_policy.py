"""The inbound policy end to end: blocklists (CLI and CSV import), auto-reply
flags, allowed domains and recipient-only sync into a visible quarantine, release and
delete; through real SMTP (smtplib) into the real store."""

from __future__ import annotations

import json
import os
import pty
import smtplib
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli, db, messages, published

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def send(port: int, sender: str, recipients: list[str], headers: dict[str, str], body: str = "Hello\r\n") -> None:
    lines = [f"{k}: {v}" for k, v in headers.items()]
    data = ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        assert s.sendmail(sender, recipients, data) == {}


def rows(data: Path) -> list[sqlite3.Row]:
    """The rows of the addresses' own mailboxes and quarantines (not the agents' queues)."""
    return [r for r in messages(data, "") if not r["mailbox_path"].startswith("queues/")]


def queued(data: Path) -> list[str]:
    """The subjects of the messages routed to an agents' queue."""
    return [r["subject"] for r in messages(data, "queues/")]


def files_in(data: Path, mailbox: str, prefix: str = "maildir/") -> list[str]:
    """The names in DATA/<mailbox>/new/ once every message indexed under `prefix` has its
    file in place (the rename into new/ follows the 250)."""
    published(data, prefix)
    return sorted(p.name for p in (data / mailbox / "new").iterdir())


def filenames(data: Path, mailbox: str) -> list[str]:
    """The file names the index gives the messages of `mailbox`."""
    return sorted(r["filename"] for r in messages(data, "") if r["mailbox_path"] == mailbox)


def blocklist_rows(data: Path) -> list[tuple]:
    conn = db(data)
    try:
        return conn.execute("SELECT address_id, kind, value, display FROM blocklist ORDER BY id").fetchall()
    finally:
        conn.close()


# --------------------------------------------------------------------------- blocklist CLI


def test_blocklist_add_list_search_remove(data_dir: Path):
    cli(data_dir, "blocklist", "add", "support@acme.test", "Bob@Bücher.example", "@spam.example")
    listed = json.loads(cli(data_dir, "blocklist", "list", "help@acme.test", "--json").stdout)
    assert [(e["entry"], e["kind"], e["value"]) for e in listed] == [
        ("bob@bücher.example", "address", "bob@xn--bcher-kva.example"),
        ("spam.example", "domain", "spam.example"),
    ]
    assert all(e["address"] == "support@acme.test" for e in listed)
    found = json.loads(cli(data_dir, "blocklist", "search", "support@acme.test", "XN--BCHER", "--json").stdout)
    assert [e["entry"] for e in found] == ["bob@bücher.example"]
    assert "spam.example" in cli(data_dir, "blocklist", "list", "support@acme.test").stdout

    dup = cli(data_dir, "blocklist", "add", "support@acme.test", "new@x.example", "bob@xn--bcher-kva.example", check=False)
    assert dup.returncode == 1
    assert dup.stderr.startswith("postgate: ") and dup.stderr.count("\n") == 1
    assert "already on the blocklist" in dup.stderr
    assert len(blocklist_rows(data_dir)) == 2, "a refused add changed nothing"

    cli(data_dir, "blocklist", "remove", "support@acme.test", "SPAM.example")
    assert [e["entry"] for e in json.loads(cli(data_dir, "blocklist", "list", "support@acme.test", "--json").stdout)] == [
        "bob@bücher.example"
    ]
    gone = cli(data_dir, "blocklist", "remove", "support@acme.test", "spam.example", check=False)
    assert gone.returncode == 1 and "not on the blocklist" in gone.stderr
    unknown = cli(data_dir, "blocklist", "list", "nobody@acme.test", check=False)
    assert unknown.returncode == 1 and unknown.stderr.strip() == (
        "postgate: address nobody@acme.test is not hosted; see `postgate address list`"
    )
    bad = cli(data_dir, "blocklist", "add", "support@acme.test", "not an entry", check=False)
    assert bad.returncode == 1 and "is not an address or a domain" in bad.stderr


# --------------------------------------------------------------------------- CSV import


def import_json(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return cli(data, "blocklist", "import", "support@acme.test", str(FIXTURES / "blocklist.csv"), *args, "--json", check=check)


def test_csv_import_reports_then_saves_all_valid_rows(data_dir: Path):
    cli(data_dir, "blocklist", "add", "support@acme.test", "already@listed.example")
    before = blocklist_rows(data_dir)

    missing = import_json(data_dir, check=False)
    assert missing.returncode == 1
    assert "3 columns ('Name', 'Email Address', 'Note')" in missing.stderr and "--column" in missing.stderr
    unknown = import_json(data_dir, "--column", "mail", check=False)
    assert unknown.returncode == 1 and "no column 'mail'" in unknown.stderr

    dry = json.loads(import_json(data_dir, "--column", "email address", "--dry-run").stdout)
    assert blocklist_rows(data_dir) == before, "--dry-run changed the blocklist"
    assert dry["dryRun"] is True and dry["saved"] is False
    assert dry["column"] == "Email Address"
    assert dry["rows"] == 10
    assert [v["line"] for v in dry["valid"]] == [2, 3, 6, 9, 13]
    assert [v["entry"]["value"] for v in dry["valid"]] == [
        "bob@spam.example", "ann@spam.example", "carol@xn--bcher-kva.example", "junk.example", "dave@spam.example",
    ]
    assert [d["line"] for d in dry["duplicatesInFile"]] == [4, 8]
    assert [d["line"] for d in dry["alreadyListed"]] == [10]
    assert [e["line"] for e in dry["errors"]] == [5, 11]
    assert dry["errors"][0]["text"] == "not-an-address@"

    human = cli(data_dir, "blocklist", "import", "support@acme.test", str(FIXTURES / "blocklist.csv"),
                "--column", "Email Address", "--dry-run")
    assert "10 rows read from column 'Email Address': 5 valid, 2 duplicates in the file, 1 already listed, 2 errors" in human.stdout
    assert "line 4: bob@spam.example duplicates line 2" in human.stdout
    assert "dry run: nothing saved" in human.stdout
    assert blocklist_rows(data_dir) == before

    saved = json.loads(import_json(data_dir, "--column", "Email Address").stdout)
    assert saved["saved"] is True
    values = [r[2] for r in blocklist_rows(data_dir)]
    assert sorted(values) == sorted(["already@listed.example", "bob@spam.example", "ann@spam.example",
                                     "carol@xn--bcher-kva.example", "junk.example", "dave@spam.example"])
    again = json.loads(import_json(data_dir, "--column", "Email Address").stdout)
    assert again["valid"] == [] and len(again["alreadyListed"]) == 6 and again["saved"] is False


def test_csv_import_single_column_and_progress_only_on_a_terminal(data_dir: Path, tmp_path: Path):
    csv = tmp_path / "big.csv"
    with csv.open("w", newline="") as f:
        f.write("email\n")
        for i in range(100_000):
            f.write(f"user{i}@bulk.example\n")
    # `cli` gives the import 60 seconds (about ten times what a debug build needs): a
    # deadline against an import that stalls, not a speed requirement.
    plain = cli(data_dir, "blocklist", "import", "support@acme.test", str(csv))
    assert "100000 rows read from column 'email': 100000 valid" in plain.stdout
    assert plain.stderr == "", "no progress bar when stderr is not a terminal"
    conn = db(data_dir)
    try:
        assert conn.execute("SELECT count(*) FROM blocklist").fetchone()[0] == 100_000
    finally:
        conn.close()

    # On a terminal the progress bar is drawn on stderr (dry run: nothing changes).
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [str(BIN), "blocklist", "import", "support@acme.test", str(csv), "--dry-run", "--data", str(data_dir)],
            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, timeout=120,
        )
        os.close(slave)
        slave = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert b"100%" in drawn and b"[" in drawn
    assert b"100000 already listed" in proc.stdout


# --------------------------------------------------------------------------- through SMTP


def test_blocklisted_sender_is_kept_but_flagged(data_dir: Path, spawn):
    cli(data_dir, "blocklist", "add", "support@acme.test", "spam.example")
    server = spawn(data_dir)
    send(server.port, "bob@spam.example", ["help@acme.test"],
         {"From": "Bob <bob@spam.example>", "To": "help@acme.test", "Subject": "Buy now"})
    send(server.port, "alice@customer.example", ["support@acme.test"],
         {"From": "Alice <alice@customer.example>", "To": "support@acme.test", "Subject": "My order"})
    stored = rows(data_dir)
    assert [(r["subject"], r["policy"], r["mailbox_path"]) for r in stored] == [
        ("Buy now", "blocked", "maildir/acme.test/support"),
        ("My order", None, "maildir/acme.test/support"),
    ]
    inbox = files_in(data_dir, "maildir/acme.test/support")
    assert len(inbox) == 2 and inbox == filenames(data_dir, "maildir/acme.test/support"), inbox
    assert queued(data_dir) == ["My order"], "blocked mail is never routed to an agents' queue"


def test_auto_replies_are_flagged(data_dir: Path, spawn):
    server = spawn(data_dir)
    base = {"From": "Carol <carol@customer.example>", "To": "support@acme.test"}
    send(server.port, "carol@customer.example", ["support@acme.test"], {**base, "Subject": "Question", "X-Auto-Response-Suppress": "All"})
    send(server.port, "carol@customer.example", ["support@acme.test"], {**base, "Subject": "Re: Ticket", "Auto-Submitted": "auto-replied"})
    send(server.port, "carol@customer.example", ["support@acme.test"], {**base, "Subject": "=?UTF-8?Q?Abwesenheitsnotiz=3A_Ticket?="})
    send(server.port, "carol@customer.example", ["support@acme.test"], {**base, "Subject": "News", "Precedence": "bulk"})
    send(server.port, "", ["support@acme.test"], {"From": "MAILER-DAEMON@mx.customer.example", "To": "support@acme.test",
                                                  "Subject": "Undelivered Mail Returned to Sender",
                                                  "Content-Type": "multipart/report; report-type=delivery-status; boundary=x"})
    assert [r["policy"] for r in rows(data_dir)] == [None, "auto-reply", "auto-reply", "auto-reply", "auto-reply"]
    assert queued(data_dir) == ["Question"], "auto-replies are never routed as a new interaction"


def test_quarantine_allowed_domains_and_recipient_only_then_release_and_delete(data_dir: Path, spawn, tmp_path: Path):
    server = spawn(data_dir)
    # Published while the server runs: the next message sees it.
    cli(data_dir, "address", "set", "support@acme.test", "--allowed-domain", "customer.example",
        "--sync-recipient-only", "true", "--publish", "--comment", "policy test")
    # 1: sender domain not allowed.
    send(server.port, "eve@evil.example", ["support@acme.test"],
         {"From": "eve@evil.example", "To": "support@acme.test", "Subject": "Not allowed"})
    # 2: a copy forwarded here from another mailbox: To and the trace name only others.
    send(server.port, "bob@customer.example", ["support@acme.test"],
         {"From": "bob@customer.example", "To": "friend@other.example", "Delivered-To": "desk@other.example", "Subject": "Bcc copy"})
    # 2b: a Bcc copy: in neither To nor Cc, but delivered to the address (envelope, and trace).
    send(server.port, "bob@customer.example", ["support@acme.test"],
         {"From": "bob@customer.example", "To": "friend@other.example", "Subject": "Blind copy"})
    send(server.port, "bob@customer.example", ["support@acme.test"],
         {"From": "bob@customer.example", "To": "friend@other.example", "Delivered-To": "support@acme.test", "Subject": "Fetched blind copy"})
    # 2c: a mailing-list copy is not addressed to the address.
    send(server.port, "news@customer.example", ["support@acme.test"],
         {"From": "news@customer.example", "To": "members@lists.customer.example", "List-Id": "<members.lists.customer.example>",
          "Subject": "List copy"})
    # 3: forwarded by the contact centre's own address, which kept To.
    send(server.port, "srs0=ab@acme.example", ["support@acme.test"],
         {"From": "bob@eu.customer.example", "To": "Acme <service@acme.example>", "X-Original-To": "service@acme.example",
          "Subject": "Forwarded"})
    # 4: addressed by Cc to an alias.
    send(server.port, "bob@customer.example", ["help@acme.test"],
         {"From": "bob@customer.example", "To": "x@customer.example", "Cc": "HELP@acme.test", "Subject": "Cc alias"})

    stored = {r["subject"]: r for r in rows(data_dir)}
    assert stored["Not allowed"]["policy"] == "quarantined:sender-domain-not-allowed"
    assert stored["Not allowed"]["mailbox_path"] == "quarantine/acme.test/support"
    assert stored["Bcc copy"]["policy"] == "quarantined:not-a-recipient"
    assert stored["Forwarded"]["policy"] is None and stored["Forwarded"]["mailbox_path"] == "maildir/acme.test/support"
    assert stored["Cc alias"]["policy"] is None
    assert stored["Blind copy"]["policy"] is None and stored["Fetched blind copy"]["policy"] is None
    assert stored["List copy"]["policy"] == "quarantined:not-a-recipient"
    held_files = files_in(data_dir, "quarantine/acme.test/support", "quarantine/")
    assert len(held_files) == 3 and held_files == filenames(data_dir, "quarantine/acme.test/support"), held_files
    inbox = files_in(data_dir, "maildir/acme.test/support")
    assert len(inbox) == 4 and inbox == filenames(data_dir, "maildir/acme.test/support"), inbox
    assert sorted(queued(data_dir)) == ["Blind copy", "Cc alias", "Fetched blind copy", "Forwarded"]

    held = json.loads(cli(data_dir, "quarantine", "list", "--address", "help@acme.test", "--json").stdout)
    assert [(h["subject"], h["reason"], h["address"]) for h in held] == [
        ("Not allowed", "sender-domain-not-allowed", "support@acme.test"),
        ("Bcc copy", "not-a-recipient", "support@acme.test"),
        ("List copy", "not-a-recipient", "support@acme.test"),
    ]
    table = cli(data_dir, "quarantine", "list").stdout
    assert "sender-domain-not-allowed" in table and "Bcc copy" in table
    shown = json.loads(cli(data_dir, "quarantine", "show", str(held[0]["id"]), "--json").stdout)
    assert shown["mailFrom"] == "eve@evil.example" and Path(shown["file"]).read_bytes().endswith(b"Hello\r\n")
    assert "reason:" in cli(data_dir, "quarantine", "show", str(held[0]["id"])).stdout

    released = json.loads(cli(data_dir, "quarantine", "release", str(held[0]["id"]), "--json").stdout)
    assert released["mailboxPath"] == "maildir/acme.test/support"
    cli(data_dir, "quarantine", "delete", str(held[1]["id"]))
    cli(data_dir, "quarantine", "delete", str(held[2]["id"]))
    assert json.loads(cli(data_dir, "quarantine", "list", "--json").stdout) == []
    assert list((data_dir / "quarantine/acme.test/support/new").iterdir()) == []
    inbox = {r["subject"]: r["policy"] for r in rows(data_dir) if r["mailbox_path"] == "maildir/acme.test/support"}
    assert inbox == {"Forwarded": None, "Cc alias": None, "Not allowed": None, "Blind copy": None, "Fetched blind copy": None}
    inbox = files_in(data_dir, "maildir/acme.test/support")
    assert len(inbox) == 5 and inbox == filenames(data_dir, "maildir/acme.test/support"), inbox
    assert sorted(queued(data_dir)) == ["Blind copy", "Cc alias", "Fetched blind copy", "Forwarded", "Not allowed"], \
        "a release routes like a delivery"

    missing = cli(data_dir, "quarantine", "release", str(held[0]["id"]), check=False)
    assert missing.returncode == 1
    assert missing.stderr == f"postgate: no quarantined message {held[0]['id']}; see `postgate quarantine list`\n"
