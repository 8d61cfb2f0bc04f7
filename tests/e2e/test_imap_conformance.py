"""IMAP conformance: scripted cases run with Python's imaplib against Postgate and, in the
same test run, against a private Dovecot (tests/e2e/dovecot.py, `/` as its separator).

Where RFC 3501 / RFC 9051 and their extensions leave room, Postgate must answer as
Dovecot does; where Dovecot's answer is the rule (a new UIDVALIDITY, one session per
`\\Recent` message), the same assertion runs on both. Every case uses folders of its own,
so the Dovecot shared by the module's cases never sees another case's folders.

Postgate-only cases at the end: what Dovecot has no counterpart for (granted shared
folders, the import commands)."""

from __future__ import annotations

import imaplib
import json
import re
import ssl
import subprocess
import uuid
from pathlib import Path

import pytest

import dovecot
from conftest import BIN, cli
from test_imap import PASSWORD, add_agent, login

MESSAGE = (b"From: Carol <carol@example.com>\r\nTo: support@acme.test\r\nSubject: Order late\r\n"
           b"Message-ID: <order-late@example.com>\r\n\r\nWhere is my order?\r\n")
MULTIPART = (b"From: bob@example.com\r\nSubject: Photo\r\nMessage-ID: <photo@example.com>\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
             b"See attached.\r\n--XX--\r\n")


@pytest.fixture(scope="module")
def dovecot_server():
    if not dovecot.installed():
        pytest.skip("dovecot-imapd is not installed")
    server = dovecot.Dovecot(users={"alice": PASSWORD}, separator="/").start()
    yield server
    server.stop()


@pytest.fixture(params=["postgate", "dovecot"])
def connect(request, data_dir, spawn):
    """A function that opens a logged-in imaplib session to the server under test."""
    if request.param == "postgate":
        add_agent(data_dir)
        server = spawn(data_dir)
        return lambda: login(server)
    server = request.getfixturevalue("dovecot_server")

    def open_dovecot() -> imaplib.IMAP4:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        imap = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=context, timeout=10)
        imap.login("alice", PASSWORD)
        return imap
    return open_dovecot


def folder() -> str:
    """A folder name no other case uses."""
    return "T" + uuid.uuid4().hex[:10]


def take(imap: imaplib.IMAP4, name: str) -> list[bytes]:
    """The untagged responses `name` collected so far, forgotten once read."""
    return [r for r in imap.untagged_responses.pop(name, []) if r is not None]


def ok(result: tuple) -> list:
    typ, data = result
    assert typ == "OK", data
    return data


def command(imap: imaplib.IMAP4, *args: str) -> list:
    return ok(imap._simple_command(*args))


def append(imap: imaplib.IMAP4, mailbox: str, message: bytes = MESSAGE) -> None:
    ok(imap.append(mailbox, None, None, message))


def flat(data: list) -> bytes:
    """A FETCH answer as one text, each literal written as a quoted string."""
    parts = []
    for item in data:
        if isinstance(item, tuple):
            parts.append(re.sub(rb"\{\d+\}$", b"", item[0]) + b'"' + item[1] + b'"')
        elif item is not None:
            parts.append(item)
    return b"".join(parts)


# --------------------------------------------------------------------------- mailboxes


def test_a_mailbox_made_again_has_a_new_uidvalidity_and_only_its_messages(connect):
    imap, name = connect(), folder()
    ok(imap.create(name))
    for _ in range(5):
        append(imap, name, MESSAGE + b"x" * 10)
    ok(imap.select(name))
    [old] = take(imap, "UIDVALIDITY")
    ok(imap.close())
    ok(imap.delete(name))
    ok(imap.create(name))
    for _ in range(3):
        append(imap, name)
    assert ok(imap.select(name)) == [b"3"]
    [new] = take(imap, "UIDVALIDITY")
    assert new != old  # RFC 9051 section 2.3.1.1
    sizes = flat(ok(imap.fetch("1:*", "(RFC822.SIZE)")))
    assert sizes.count(b"RFC822.SIZE %d" % len(MESSAGE)) == 3, sizes
    assert re.search(rb"MESSAGES 3\)", ok(imap.status(name, "(MESSAGES)"))[0])
    imap.logout()


def test_append_stores_a_message_the_folder_already_holds(connect):
    imap, name = connect(), folder()
    ok(imap.create(name))
    for _ in range(2):
        typ, data = imap.append(name, None, None, MESSAGE)
        assert typ == "OK" and b"agents/" not in data[0], data
    assert ok(imap.select(name)) == [b"2"]
    imap.logout()


def test_recent_belongs_to_one_session(connect):
    writer, first, second, name = connect(), connect(), connect(), folder()
    ok(writer.create(name))
    append(writer, name)
    ok(first.select(name))
    assert take(first, "RECENT") == [b"1"]
    ok(second.select(name))
    assert take(second, "RECENT") == [b"0"]
    assert b"\\Recent" in flat(ok(first.fetch("1", "(FLAGS)")))
    assert b"\\Recent" not in flat(ok(second.fetch("1", "(FLAGS)")))
    for imap in (first, second):
        imap.untagged_responses.clear()
    append(writer, name)
    ok(second.noop())
    assert take(second, "EXISTS") == [b"2"] and take(second, "RECENT") == [b"1"]
    ok(first.noop())  # its count of recent messages is unchanged: no RECENT
    assert take(first, "EXISTS") == [b"2"] and take(first, "RECENT") == []
    assert ok(second.search(None, "RECENT")) == [b"2"]
    assert ok(second.search(None, "NEW")) == [b"2"]
    assert ok(second.search(None, "OLD")) == [b"1"]
    assert ok(first.search(None, "RECENT")) == [b"1"]
    for imap in (writer, first, second):
        imap.logout()


def test_new_keywords_are_announced_in_flags_and_permanentflags(connect):
    imap, other, name = connect(), connect(), folder()
    ok(imap.create(name))
    append(imap, name)
    ok(imap.select(name))
    assert b"\\*" in take(imap, "PERMANENTFLAGS")[0]
    ok(other.select(name))
    take(imap, "FLAGS")
    ok(imap.store("1", "+FLAGS", "($Label1)"))
    [flags] = take(imap, "FLAGS")
    assert b"$Label1" in flags, flags
    [permanent] = take(imap, "PERMANENTFLAGS")
    assert b"$Label1" in permanent and b"\\*" in permanent, permanent
    ok(other.noop())
    assert any(b"$Label1" in f for f in take(other, "FLAGS"))
    third = connect()
    ok(third.select(name))
    assert b"$Label1" in take(third, "FLAGS")[0]
    for session in (imap, other, third):
        session.logout()


# --------------------------------------------------------------------------- LIST


def test_recursivematch_alone_and_unknown_return_options_are_bad(connect):
    imap = connect()
    for args in (("LIST", "(RECURSIVEMATCH)", '""', '""'), ("LIST", '""', "%", "RETURN", "(FOO)")):
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            imap._simple_command(*args)
    imap.logout()


def unquoted(lines: list[bytes]) -> list[bytes]:
    """LIST lines with quotes dropped: `"CHILDINFO"` and `CHILDINFO` are the same astring."""
    return [line.replace(b'"', b"") for line in lines]


def test_subscriptions_outlive_mailboxes_and_stand_behind_their_parents(connect):
    imap, parent = connect(), folder()
    ok(imap.create(parent + "/child"))
    ok(imap.subscribe(parent + "/child"))
    # RFC 3501 section 6.3.9: `%` lists the unsubscribed parent as \Noselect.
    assert unquoted(ok(imap.lsub('""', parent + "%"))) == [b"(\\Noselect) / " + parent.encode()]
    assert unquoted(ok(imap.lsub('""', parent + "/%"))) == [b"() / " + parent.encode() + b"/child"]
    # RFC 5258 section 3.5: CHILDINFO.
    command(imap, "LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', parent + "%")
    lines = unquoted(take(imap, "LIST"))
    assert lines == [b"(\\NonExistent) / " + parent.encode() + b" (CHILDINFO (SUBSCRIBED))"], lines
    # RFC 3501 section 6.3.6: DELETE leaves the subscription; LIST shows \NonExistent.
    gone = folder()
    ok(imap.create(gone))
    ok(imap.subscribe(gone))
    ok(imap.delete(gone))
    assert unquoted(ok(imap.lsub('""', gone))) == [b"() / " + gone.encode()]
    command(imap, "LIST", "(SUBSCRIBED)", '""', gone)
    assert unquoted(take(imap, "LIST")) == [b"(\\Subscribed \\NonExistent) / " + gone.encode()]
    assert ok(imap.list('""', gone)) == [None]
    imap.logout()


def test_list_wildcards_do_not_backtrack(connect):
    """A pattern that backtracking would take hours over is answered like any other."""
    imap, name = connect(), folder()
    long_name = name + "a" * 180
    ok(imap.create(long_name))
    hostile = "*a" * 10 + "b"
    assert ok(imap.list('""', name + hostile)) == [None]
    assert ok(imap.list('""', name + "%a" * 10 + "b")) == [None]
    assert len(ok(imap.list('""', name + "*a" * 10))) == 1
    imap.logout()


def test_dot_levels_are_refused(connect):
    imap = connect()
    for name in ("..", ".", "../../x", "a/../b", "a/.."):
        typ, data = imap.create(f'"{name}"')
        assert typ == "NO" and b"[CANNOT]" in data[0], (name, data)
    imap.logout()


# --------------------------------------------------------------------------- messages


def test_first_modseq_fetch_says_highestmodseq_and_min_max_report_their_own(connect):
    imap, name = connect(), folder()
    ok(imap.create(name))
    for _ in range(3):
        append(imap, name)
    ok(imap.select(name))
    take(imap, "HIGHESTMODSEQ")
    fetched = flat(ok(imap.fetch("1:3", "(MODSEQ)")))
    assert take(imap, "HIGHESTMODSEQ"), "RFC 7162 section 3.1: the first CONDSTORE command is told HIGHESTMODSEQ"
    ok(imap.fetch("1", "(MODSEQ)"))
    assert not take(imap, "HIGHESTMODSEQ")
    ok(imap.store("3", "+FLAGS", "(\\Flagged)"))
    modseqs = {int(n): int(m) for n, m in re.findall(rb"(\d+) \(MODSEQ \((\d+)\)", flat(ok(imap.fetch("1:3", "(MODSEQ)"))))}
    assert len(modseqs) == 3 and fetched
    command(imap, "SEARCH", "RETURN", "(MIN)", "MODSEQ", "1")
    [minimum] = take(imap, "ESEARCH")
    assert minimum.endswith(b"MIN 1 MODSEQ %d" % modseqs[1]), minimum  # RFC 4731 section 3.2
    command(imap, "SEARCH", "RETURN", "(MAX)", "MODSEQ", "1")
    [maximum] = take(imap, "ESEARCH")
    assert maximum.endswith(b"MAX 3 MODSEQ %d" % modseqs[3]), maximum
    imap.logout()


def test_header_and_text_of_a_non_message_part_and_missing_sections_are_empty(connect):
    imap, name = connect(), folder()
    ok(imap.create(name))
    append(imap, name, MULTIPART)
    ok(imap.select(name))
    text = flat(ok(imap.fetch("1", "(BODY.PEEK[1.HEADER] BODY.PEEK[1.TEXT] BODY.PEEK[5] BODY.PEEK[1.MIME])")))
    for section in (b"1.HEADER", b"1.TEXT", b"5"):
        assert b"BODY[%s] \"\"" % section in text, text
    assert b"BODY[1.MIME] \"Content-Type: text/plain\r\n\r\n\"" in text, text
    imap.logout()


def test_a_sequence_set_repeating_everything_answers_each_message_once(connect):
    imap, name = connect(), folder()
    ok(imap.create(name))
    for _ in range(3):
        append(imap, name)
    ok(imap.select(name))
    repeated = ",".join(["1:*"] * 10_000)
    data = ok(imap.fetch(repeated, "(UID)"))
    assert sorted(data) == [b"1 (UID 1)", b"2 (UID 2)", b"3 (UID 3)"], data[:5]
    assert ok(imap.uid("SEARCH", "UID", repeated)) == [b"1 2 3"]
    imap.logout()


# --------------------------------------------------------------------------- Postgate only


def test_trailing_slashes_and_granted_folders(data_dir, spawn):
    add_agent(data_dir)  # grants support@acme.test
    imap = login(spawn(data_dir))
    assert ok(imap.lsub('""', "Shared/*")) == [b'() "/" Shared/support@acme.test']
    ok(imap.select("Drafts" + "/" * 30_000))
    imap.logout()


def test_rename_of_a_name_with_a_combining_accent_moves_it_whole(data_dir, spawn):
    add_agent(data_dir)
    imap = login(spawn(data_dir))
    name = "e\u0301x".encode()
    ok(imap._simple_command("CREATE", b'"' + name + b'"'))
    ok(imap._simple_command("CREATE", b'"' + name + b'/child"'))
    ok(imap._simple_command("RENAME", b'"' + name + b'"', "moved"))
    listed = b"\n".join(ok(imap.list('""', "*")))
    assert b'"/" moved\n' in listed + b"\n" and b'"/" moved/child' in listed and name not in listed, listed
    imap.logout()


def test_imports_refuse_binary_invalid_utf8_and_conflicting_entries(data_dir, tmp_path):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0xFF, 0xFE]) + bytes(range(256)) * 4)
    proc = cli(data_dir, "blocklist", "import", "support@acme.test", str(garbage), check=False)
    assert proc.returncode != 0 and "not UTF-8 text" in proc.stderr, proc
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr

    proc = subprocess.run([str(BIN), "blocklist", "add", "support@acme.test", b"spam\xff@example.org", "--data", str(data_dir)],
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0 and b"UTF-8" in proc.stderr, proc
    assert json.loads(cli(data_dir, "blocklist", "list", "support@acme.test", "--json").stdout) == []

    doc = json.loads(cli(data_dir, "export", "--json").stdout)
    twice = dict(doc["addresses"][0])
    twice["settings"] = dict(twice["settings"], enabled=not twice["settings"].get("enabled", True))
    doc["addresses"].append(twice)
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(doc))
    proc = cli(data_dir, "import", str(path), check=False)
    assert proc.returncode != 0 and "given twice" in proc.stderr, proc
