"""`postgate erase --customer EMAIL`: every message naming the customer leaves every
mailbox (a client selecting it again no longer sees it), their sessions go, nobody else's mail does."""

from __future__ import annotations

import json
import re
import smtplib

from conftest import cli, messages
from test_imap import SHARED, add_agent, login


def send(port: int, sender: str, subject: str, cc: str | None = None, mid: str | None = None, to: str = "support@acme.test") -> None:
    cc_line = f"Cc: {cc}\r\n" if cc else ""
    message = (f"From: Someone <{sender}>\r\nTo: {to}\r\n{cc_line}Subject: {subject}\r\n"
               f"Message-ID: <{mid or subject.replace(' ', '.')}@example.org>\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(sender, ["support@acme.test"], message)


def subjects(data, prefix="maildir/") -> set[str]:
    return {m["subject"] for m in messages(data, prefix)}


def test_erase_removes_one_customer_everywhere_and_nobody_else(data_dir, spawn):
    add_agent(data_dir)
    server = spawn(data_dir)
    send(server.port, "bob@x.test", "bob one")
    send(server.port, "Bob@X.test", "bob two")                       # the same customer, other case
    send(server.port, "alice@y.test", "alice cc bob", cc="Bob <bob@x.test>")
    send(server.port, "jimbob@x.test", "jimbob")                     # contains bob@x.test as a substring
    send(server.port, "carol@z.test", "carol")
    assert subjects(data_dir) == {"bob one", "bob two", "alice cc bob", "jimbob", "carol"}
    assert subjects(data_dir, "queues/") == subjects(data_dir)       # routed to the default queue too

    imap = login(server)
    imap.select(f'"{SHARED}"')
    assert int(imap.select(f'"{SHARED}"')[1][0]) == 5

    dry = json.loads(cli(data_dir, "erase", "--customer", "bob@x.test", "--dry-run", "--json").stdout)
    assert dry["dryRun"] and dry["messages"] == {"maildir/acme.test/support": 3, "queues/general": 3}, dry
    assert dry["sessions"] >= 1
    assert len(messages(data_dir, "")) == 10                          # nothing erased yet
    assert json.loads(cli(data_dir, "audit", "--json").stdout) == []   # a dry run is not audited

    report = json.loads(cli(data_dir, "erase", "--customer", "BOB@x.test", "--json").stdout)
    assert report["messages"] == {"maildir/acme.test/support": 3, "queues/general": 3}, report
    assert subjects(data_dir) == {"jimbob", "carol"}
    # The audit log says what was erased, in counts: never a subject or a body.
    (event,) = json.loads(cli(data_dir, "audit", "--json").stdout)
    assert (event["actor"], event["action"], event["target"]) == ("cli", "erase", "bob@x.test"), event
    assert event["detail"].startswith("erased 6 message(s) in 2 mailbox(es)"), event
    assert subjects(data_dir, "queues/") == {"jimbob", "carol"}
    for path in ("maildir/acme.test/support", "queues/general"):
        files = [f for sub in ("new", "cur") for f in (data_dir / path / sub).iterdir()]
        assert len(files) == 2, files

    # A client selecting the mailbox again sees the two messages left.
    assert int(imap.select(f'"{SHARED}"')[1][0]) == 2
    typ, data = imap.uid("SEARCH", None, "ALL")
    assert typ == "OK" and len(data[0].split()) == 2
    imap.logout()

    # The customer's sessions are gone; the others' remain and show no trace of bob.
    sessions = json.loads(cli(data_dir, "session", "list", "--json").stdout)
    text = json.dumps(sessions).lower()
    assert "bob@x.test" not in re.sub(r"jimbob@x\.test", "", text)
    assert any("jimbob@x.test" in json.dumps(s).lower() for s in sessions)

    # Erasing again finds nothing; a bad address is one clear error.
    again = json.loads(cli(data_dir, "erase", "--customer", "bob@x.test", "--json").stdout)
    assert again["messages"] == {} and again["sessions"] == 0
    bad = cli(data_dir, "erase", "--customer", "not an address", check=False)
    assert bad.returncode != 0 and bad.stderr.startswith("postgate: ") and bad.stderr.count("\n") == 1
