"""CONDSTORE (RFC 7162 section 3.1) end to end with Python's imaplib: a flag change in one
session is exactly what `FETCH ... (CHANGEDSINCE m)` reports in another, and rebuilding
the index from the Maildir (`postgate check --repair`) never lets HIGHESTMODSEQ go down."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from conftest import cli
from test_imap import SHARED, add_agent, deliver, login


def highest_modseq(imap) -> int:
    typ, data = imap.status(SHARED, "(HIGHESTMODSEQ)")
    assert typ == "OK", data
    return int(re.search(rb"HIGHESTMODSEQ (\d+)", data[0]).group(1))


def fetched(data: list) -> dict[int, int]:
    """UID -> MODSEQ of the FETCH responses imaplib collected."""
    items = {}
    for entry in data:
        text = entry[0] if isinstance(entry, tuple) else entry
        if text is None:
            continue
        uid = re.search(rb"UID (\d+)", text)
        modseq = re.search(rb"MODSEQ \((\d+)\)", text)
        assert uid and modseq, data
        items[int(uid.group(1))] = int(modseq.group(1))
    return items


def test_changedsince_names_exactly_the_message_changed_in_another_session(data_dir: Path, spawn):
    add_agent(data_dir)
    server = spawn(data_dir)
    for n in range(3):
        deliver(server.port, f"Order {n}")
    changer, watcher = login(server), login(server)
    assert "CONDSTORE" in watcher.capabilities
    changer.select(SHARED)
    typ, data = watcher.enable("CONDSTORE")
    assert typ == "OK" and watcher.untagged_responses.get("ENABLED") == [b"CONDSTORE"], (typ, data)
    typ, _ = watcher.select(SHARED)
    assert typ == "OK"
    _, (since,) = watcher.response("HIGHESTMODSEQ")
    since = int(since)

    typ, _ = changer.store("2", "+FLAGS", "(\\Flagged)")
    assert typ == "OK"
    typ, data = watcher.uid("FETCH", "1:*", f"(FLAGS) (CHANGEDSINCE {since})")
    assert typ == "OK", data
    changed = fetched(data)
    assert list(changed) == [2] and changed[2] > since, data
    assert all(b"\\Flagged" in (d[0] if isinstance(d, tuple) else d) for d in data if d), data

    # Nothing changed since the message's new value; STORE UNCHANGEDSINCE refuses a stale one.
    typ, data = watcher.uid("FETCH", "1:*", f"(FLAGS) (CHANGEDSINCE {changed[2]})")
    assert typ == "OK" and data == [None], data
    typ, data = watcher._simple_command("UID", "STORE", "2", f"(UNCHANGEDSINCE {since})", "+FLAGS", "(\\Seen)")
    assert typ == "OK" and data[0].startswith(b"[MODIFIED 2] "), (typ, data)
    assert highest_modseq(watcher) == changed[2]
    changer.logout()
    watcher.logout()


def test_rebuilt_index_keeps_highestmodseq_from_going_down(data_dir: Path, spawn):
    add_agent(data_dir)
    server = spawn(data_dir)
    for n in range(2):
        deliver(server.port, f"Order {n}")
    imap = login(server)
    imap.select(SHARED)
    imap.store("1", "+FLAGS", "(\\Seen)")
    before = highest_modseq(imap)
    imap.logout()
    assert server.stop() == 0

    # The index loses the rows and the mailbox's counter; the Maildir files stay.
    conn = sqlite3.connect(data_dir / "postgate.sqlite", timeout=10)
    conn.execute("DELETE FROM message")
    conn.execute("UPDATE mailbox SET highest_modseq = 1")
    conn.commit()
    conn.close()
    cli(data_dir, "check", "--repair")

    imap = login(spawn(data_dir))
    imap.select(SHARED)
    after = highest_modseq(imap)
    assert after > before
    typ, data = imap.uid("FETCH", "1:*", "(MODSEQ)")
    modseqs = fetched(data)
    assert sorted(modseqs) == [1, 2] and all(value > before for value in modseqs.values()), data
    # A client that cached `before` sees both messages as changed, with their flags.
    typ, data = imap.uid("FETCH", "1:*", f"(FLAGS) (CHANGEDSINCE {before})")
    assert typ == "OK" and sorted(fetched(data)) == [1, 2], data
    imap.logout()
