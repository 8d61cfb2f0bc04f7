"""Retention per address: closed sessions older than the retention go with their messages
in every mailbox but agents' own folders; a conversation still going on stays whole."""

from __future__ import annotations

import json
import smtplib
import sqlite3

from conftest import cli, messages

DAY = 86400


def send(port: int, sender: str, subject: str) -> None:
    message = (f"From: {sender}\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(sender, ["support@acme.test"], message)


def age(data, sender: str, days: int) -> None:
    """Makes a customer's messages and sessions `days` older, as if they came back then."""
    conn = sqlite3.connect(data / "postgate.sqlite", timeout=10)
    with conn:
        conn.execute("UPDATE message SET internal_date = internal_date - ? WHERE lower(mail_from) = ?", (days * DAY, sender))
        conn.execute("UPDATE session SET started_at = started_at - ?1, last_activity_at = last_activity_at - ?1, "
                     "expires_at = expires_at - ?1 WHERE lower(customer) = ?2", (days * DAY, sender))
    conn.close()


def test_retention_deletes_old_closed_sessions_everywhere_and_keeps_the_rest(data_dir, spawn):
    server = spawn(data_dir)
    send(server.port, "old@x.test", "old one")
    send(server.port, "old@x.test", "old two")
    send(server.port, "new@x.test", "new one")
    send(server.port, "edge@x.test", "edge one")
    age(data_dir, "old@x.test", 40)
    age(data_dir, "edge@x.test", 20)
    assert len(messages(data_dir, "queues/")) == 4

    # No retention set: nothing to do.
    assert json.loads(cli(data_dir, "retention", "run", "--json").stdout)["addresses"] == []

    bad = cli(data_dir, "address", "set", "support@acme.test", "--retention-days", "40000", check=False)
    assert bad.returncode == 1 and "retention must be from 1 to 36500 days" in bad.stderr and bad.stderr.count("\n") == 1
    cli(data_dir, "address", "set", "support@acme.test", "--retention-days", "30", "--publish")
    assert "30 days" in cli(data_dir, "address", "show", "support@acme.test").stdout

    dry = json.loads(cli(data_dir, "retention", "run", "--dry-run", "--json").stdout)
    assert dry["dryRun"] and dry["addresses"][0]["messages"] == {"maildir/acme.test/support": 2, "queues/general": 2}, dry
    assert len(messages(data_dir)) == 4

    report = json.loads(cli(data_dir, "retention", "run", "--json").stdout)
    assert report["addresses"][0]["messages"] == {"maildir/acme.test/support": 2, "queues/general": 2}, report
    assert report["addresses"][0]["sessions"] == 1
    audit = [(e["actor"], e["action"], e["target"], e["detail"]) for e in json.loads(cli(data_dir, "audit", "--json").stdout)]
    assert audit[0] == ("cli", "retention.run", "support@acme.test", "deleted 4 message(s) and 1 session(s) older than 30 day(s)"), audit
    assert ("cli", "retention.run", "*", "nothing to delete") in audit  # the first run, before any retention was set
    assert {m["subject"] for m in messages(data_dir)} == {"new one", "edge one"}
    assert {m["subject"] for m in messages(data_dir, "queues/")} == {"new one", "edge one"}
    customers = {s["customer"] for s in json.loads(cli(data_dir, "session", "list", "--json").stdout)}
    assert "old@x.test" not in customers and {"new@x.test", "edge@x.test"} <= customers

    # A message older than the retention in a conversation still going on (its session
    # active yesterday) stays.
    conn = sqlite3.connect(data_dir / "postgate.sqlite", timeout=10)
    with conn:
        conn.execute("UPDATE message SET internal_date = internal_date - ? WHERE subject = 'new one'", (40 * DAY,))
    conn.close()
    json.loads(cli(data_dir, "retention", "run", "--json").stdout)
    assert {m["subject"] for m in messages(data_dir)} == {"new one", "edge one"}
    assert cli(data_dir, "check", check=False).returncode == 0
