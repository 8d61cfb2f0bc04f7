"""QRESYNC (RFC 7162 section 3.2) end to end with Python's imaplib issuing the raw commands,
against Postgate and, in the same test run, against a private Dovecot (the fixtures of
test_imap_conformance.py): the same steps and the same assertions on both servers.

Where the two differ by design (Postgate keeps no per-UID tombstones, so after an expunge
it reports every known UID that is gone, Dovecot only those expunged after the client's
mod-sequence), the steps below stay within what both answer alike: the UIDs gone since
the client's mod-sequence."""

from __future__ import annotations

import imaplib
import re

import pytest

from test_imap_conformance import append, connect, dovecot_server, folder, ok, take  # noqa: F401 (fixtures)

MESSAGES = [b"From: a@example.com\r\nSubject: message %d\r\nMessage-ID: <q%d@example.com>\r\n\r\nbody %d\r\n" % (n, n, n)
            for n in range(1, 6)]


def filled(imap: imaplib.IMAP4) -> str:
    """A new folder holding five messages, UIDs 1 to 5."""
    name = folder()
    ok(imap.create(name))
    for message in MESSAGES:
        append(imap, name, message)
    return name


def status(imap: imaplib.IMAP4, name: str) -> tuple[int, int]:
    """UIDVALIDITY and HIGHESTMODSEQ of `name`."""
    [line] = ok(imap.status(name, "(UIDVALIDITY HIGHESTMODSEQ)"))
    return (int(re.search(rb"UIDVALIDITY (\d+)", line).group(1)), int(re.search(rb"HIGHESTMODSEQ (\d+)", line).group(1)))


def enable_qresync(imap: imaplib.IMAP4) -> None:
    ok(imap.enable("QRESYNC"))
    assert take(imap, "ENABLED") == [b"QRESYNC"]


def select(imap: imaplib.IMAP4, *args: str) -> None:
    """SELECT or EXAMINE with parameters, which imaplib's own select() cannot send; the
    responses kept are this command's, as after imaplib's select()."""
    imap.untagged_responses = {}
    imap.is_readonly = args[0] == "EXAMINE"
    ok(imap._simple_command(*args))
    imap.state = "SELECTED"


def fetched(imap: imaplib.IMAP4) -> dict[int, bytes]:
    """UID -> FETCH response text of the FETCH responses collected so far."""
    return {int(re.search(rb"UID (\d+)", line).group(1)): line for line in take(imap, "FETCH")}


def expunge_elsewhere(imap: imaplib.IMAP4, name: str, uids: str) -> None:
    ok(imap.select(name))
    ok(imap.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)"))
    ok(imap.expunge())


def test_select_with_qresync_reports_what_vanished_and_changed(connect):
    imap, other = connect(), connect()
    name = filled(imap)
    assert b"QRESYNC" in ok(imap.capability())[0].split()
    uidvalidity, since = status(imap, name)
    ok(other.select(name))
    ok(other.uid("STORE", "2", "+FLAGS", "(\\Flagged)"))
    expunge_elsewhere(other, name, "4")

    enable_qresync(imap)
    select(imap, "SELECT", name, f"(QRESYNC ({uidvalidity} {since}))")
    assert take(imap, "VANISHED") == [b"(EARLIER) 4"]
    changes = fetched(imap)
    assert list(changes) == [2], changes
    assert b"\\Flagged" in changes[2] and b"MODSEQ (" in changes[2]
    assert take(imap, "EXISTS") == [b"4"]

    # Up to date: nothing more to say; a UIDVALIDITY that changed gets the plain answer.
    _, now = status(other, name)
    select(imap, "EXAMINE", name, f"(QRESYNC ({uidvalidity} {now} 1:5))")
    assert take(imap, "VANISHED") == [] and take(imap, "FETCH") == []
    select(imap, "EXAMINE", name, f"(QRESYNC ({uidvalidity + 1} {since}))")
    assert take(imap, "VANISHED") == [] and take(imap, "FETCH") == []
    imap.logout()
    other.logout()


def test_sequence_match_data_leaves_out_what_the_client_saw_go(connect):
    """RFC 7162 section 3.2.5.2: message 1 is UID 2 and message 2 is UID 3, as the client
    says, so it saw UID 1 go: only UID 4, expunged after its mod-sequence, is reported.
    (Without the match data Postgate would report UID 1 too; Dovecot remembers when each
    UID went.)"""
    imap, other = connect(), connect()
    name = filled(imap)
    expunge_elsewhere(other, name, "1")
    uidvalidity, since = status(imap, name)
    expunge_elsewhere(other, name, "4")
    enable_qresync(imap)
    select(imap, "EXAMINE", name, f"(QRESYNC ({uidvalidity} {since} 1:5 (1:2 2:3)))")
    assert take(imap, "VANISHED") == [b"(EARLIER) 4"]
    imap.logout()
    other.logout()


def test_qresync_needs_enable_and_uid_fetch_with_changedsince(connect):
    imap = connect()
    name = filled(imap)
    uidvalidity, since = status(imap, name)
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        imap._simple_command("SELECT", name, f"(QRESYNC ({uidvalidity} {since}))")
    ok(imap.select(name))
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        imap.uid("FETCH", "1:*", f"(FLAGS) (CHANGEDSINCE {since} VANISHED)")
    imap.logout()

    imap = connect()
    enable_qresync(imap)
    ok(imap.select(name))
    for args in (("UID", "FETCH", "1:*", "(FLAGS)", "(VANISHED)"), ("FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {since} VANISHED)")):
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            imap._simple_command(*args)
    imap.logout()


def test_expunges_are_reported_as_vanished(connect):
    imap, other = connect(), connect()
    name = filled(imap)
    enable_qresync(imap)
    ok(imap.select(name))
    ok(imap.store("2:3", "+FLAGS.SILENT", "(\\Deleted)"))
    take(imap, "FETCH")
    # RFC 7162 section 3.2.7: EXPUNGE's OK carries the HIGHESTMODSEQ after it.
    [text] = ok(imap._simple_command("EXPUNGE"))
    assert re.match(rb"\[HIGHESTMODSEQ \d+\]", text), text
    assert take(imap, "VANISHED") == [b"2:3"] and take(imap, "EXPUNGE") == []
    expunge_elsewhere(other, name, "5")
    ok(imap.noop())
    assert take(imap, "VANISHED") == [b"5"] and take(imap, "EXPUNGE") == []
    # CLOSE says nothing but its OK (section 3.2.8).
    ok(imap.store("1", "+FLAGS.SILENT", "(\\Deleted)"))
    imap.untagged_responses = {}
    [text] = ok(imap._simple_command("CLOSE"))
    assert not text.startswith(b"["), text
    assert "VANISHED" not in imap.untagged_responses and "EXPUNGE" not in imap.untagged_responses
    imap.state = "AUTH"
    imap.logout()
    other.logout()


def test_uid_fetch_vanished_reports_the_gone_uids_of_the_set(connect):
    imap = connect()
    name = filled(imap)
    enable_qresync(imap)
    _, since = status(imap, name)
    ok(imap.select(name))
    # imaplib hands back the FETCH responses of a UID FETCH as its result.
    assert ok(imap.uid("FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {since} VANISHED)")) == [None]
    assert take(imap, "VANISHED") == []
    ok(imap.uid("STORE", "3", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(imap.uid("STORE", "4", "+FLAGS.SILENT", "(\\Seen)"))
    ok(imap.expunge())
    assert take(imap, "VANISHED") == [b"3"]
    data = ok(imap.uid("FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {since} VANISHED)"))
    assert take(imap, "VANISHED") == [b"(EARLIER) 3"]
    assert len(data) == 1 and b"UID 4 " in data[0] and b"\\Seen" in data[0], data
    imap.logout()


def test_selecting_another_mailbox_says_closed(connect):
    imap = connect()
    name = filled(imap)
    ok(imap.select(name))
    assert "CLOSED" not in imap.untagged_responses
    ok(imap.select("INBOX", readonly=True))
    assert "CLOSED" in imap.untagged_responses
    # Also when the next mailbox cannot be opened: the one before is closed all the same.
    typ, _ = imap.select(folder())
    assert typ == "NO" and "CLOSED" in imap.untagged_responses
    imap.logout()
