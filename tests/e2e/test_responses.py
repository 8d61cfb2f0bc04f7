"""End-to-end tests of standard responses: `postgate response add|list|show|remove`, each
response a message in a read-only IMAP folder (Shared/Responses for everyone,
Shared/Responses/<queue> for the agents of that queue) that a real client (imaplib) reads,
parses (Python's email package) and copies out as a template, but cannot change."""

from __future__ import annotations

import email
import email.policy
import imaplib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli
from test_imap import add_agent, login

PASSWORD = "correct horse battery"


def add_response(data: Path, tmp: Path, name: str, *extra: str, text: str = "Hello,\n\nthank you.\n", check: bool = True):
    (tmp / f"{name}.txt").write_text(text)
    return cli(data, "response", "add", name, "--text", str(tmp / f"{name}.txt"), *extra, check=check)


def folders(imap) -> list[str]:
    typ, lines = imap.list()
    return sorted(line.decode().rsplit(' "/" ', 1)[1].strip('"') for line in lines)


def fetch_all(imap, folder: str) -> list[email.message.EmailMessage]:
    typ, data = imap.select(f'"{folder}"', readonly=True)
    assert typ == "OK", data
    if int(data[0]) == 0:
        return []
    typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
    return [email.message_from_bytes(part[1], policy=email.policy.default) for part in data if isinstance(part, tuple)]


def test_responses_reach_the_agents_that_may_see_them_read_only(data_dir: Path, tmp_path: Path, spawn):
    cli(data_dir, "queue", "add", "billing")
    add_agent(data_dir)  # alice: the address only
    subprocess.run([str(BIN), "agent", "add", "bob", "--password-stdin", "--data", str(data_dir)],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60)
    cli(data_dir, "agent", "grant", "bob", "billing")
    (tmp_path / "greeting.html").write_text("<p>Hello, <b>thank you</b>.</p>")
    attachment = tmp_path / "Preisliste €.pdf"
    attachment.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    added = json.loads(add_response(data_dir, tmp_path, "greeting", "--subject", "Grüße aus Köln", "--html",
                                    str(tmp_path / "greeting.html"), "--attach", str(attachment), "--json").stdout)
    assert added["folder"] == "Shared/Responses" and added["attachments"] == ["Preisliste €.pdf"] and added["queue"] is None
    add_response(data_dir, tmp_path, "refund", "--subject", "Your refund", "--queue", "BILLING", text="The refund is on its way.\n")
    server = spawn(data_dir)

    alice, bob = login(server), login(server, "bob")
    assert "Shared/Responses" in folders(alice) and "Shared/Responses/billing" not in folders(alice)
    assert {"Shared/Responses", "Shared/Responses/billing"} <= set(folders(bob))

    [greeting] = fetch_all(alice, "Shared/Responses")
    assert greeting["Subject"] == "Grüße aus Köln"
    assert greeting.get_body(("plain",)).get_content() == "Hello,\n\nthank you.\n"
    assert "<b>thank you</b>" in greeting.get_body(("html",)).get_content()
    [part] = list(greeting.iter_attachments())
    assert part.get_filename() == "Preisliste €.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_content() == attachment.read_bytes()
    [refund] = fetch_all(bob, "Shared/Responses/billing")
    assert refund["Subject"] == "Your refund"

    # Read-only: SELECT opens it as EXAMINE; nothing is stored, appended or copied into it.
    with pytest.raises(imaplib.IMAP4.readonly):
        alice.select('"Shared/Responses"')
    alice.is_readonly = True  # imaplib's own guard off, so the server is the one that refuses
    typ, data = alice.store("1", "+FLAGS", "(\\Deleted)")
    assert typ == "NO"
    typ, data = alice.append('"Shared/Responses"', None, None, b"From: a@b.test\r\nSubject: x\r\n\r\nx\r\n")
    assert typ == "NO" and b"NOPERM" in data[0]
    # … but it can be copied out, which is what "use as template" needs.
    typ, data = alice.copy("1", "Drafts")
    assert typ == "OK"
    assert [m["Subject"] for m in fetch_all(alice, "Drafts")] == ["Grüße aus Köln"]
    typ, data = alice.select("Drafts")
    typ, data = alice.copy("1", '"Shared/Responses"')
    assert typ == "NO" and b"NOPERM" in data[0]
    assert len(fetch_all(alice, "Shared/Responses")) == 1

    # Replacing keeps one message, with the new content; removing leaves the folder empty.
    again = add_response(data_dir, tmp_path, "greeting", "--subject", "Hi", check=False)
    assert again.returncode == 1 and "exists already" in again.stderr and "--replace" in again.stderr
    add_response(data_dir, tmp_path, "greeting", "--subject", "Hello again", "--replace", text="Hello again.\n")
    assert [m["Subject"] for m in fetch_all(alice, "Shared/Responses")] == ["Hello again"]
    listed = json.loads(cli(data_dir, "response", "list", "--json").stdout)
    assert [(r["name"], r["folder"], r["attachments"]) for r in listed] == [
        ("greeting", "Shared/Responses", []), ("refund", "Shared/Responses/billing", [])]
    raw = cli(data_dir, "response", "show", "refund", "--raw").stdout
    assert "X-Postgate-Response: refund" in raw and "Subject: Your refund" in raw

    # A queue with responses is not removed under them.
    blocked = cli(data_dir, "queue", "remove", "billing", check=False)
    assert blocked.returncode == 1 and "standard response refund" in blocked.stderr
    cli(data_dir, "response", "remove", "refund")
    assert fetch_all(bob, "Shared/Responses/billing") == []
    assert json.loads(cli(data_dir, "response", "list", "--json").stdout)[0]["name"] == "greeting"
    alice.logout()
    bob.logout()


@pytest.mark.parametrize("args, message", [
    (["bad name", "--subject", "x"], "response name 'bad name' must be"),
    (["ok", "--subject", ""], "the subject must be one line"),
    (["ok", "--subject", "x", "--queue", "nowhere"], "there is no queue 'nowhere'"),
    (["ok", "--subject", "x", "--attach", "/nonexistent/file.pdf"], "cannot read the attachment /nonexistent/file.pdf"),
])
def test_bad_responses_are_refused_and_nothing_is_saved(data_dir: Path, tmp_path: Path, args: list[str], message: str):
    (tmp_path / "t.txt").write_text("text")
    proc = cli(data_dir, "response", "add", *args, "--text", str(tmp_path / "t.txt"), check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert json.loads(cli(data_dir, "response", "list", "--json").stdout) == []
    missing = cli(data_dir, "response", "remove", "ok", check=False)
    assert missing.returncode == 1 and "there is no standard response 'ok'" in missing.stderr
