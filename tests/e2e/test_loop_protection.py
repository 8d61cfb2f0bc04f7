"""Loop protection and sessions of policy-labelled mail, end to end through SMTP: a copy
of Postgate's own reply that comes back (the contact centre's Bcc copy forwarded to the
channel address by Gmail or Exchange) is filed as `own-reply` in its session, never
routed, never customer activity; a forged id is an ordinary message; auto-replies and
blocked mail start no session and extend none. Labels survive in the Maildir file names."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

from conftest import cli, db, messages, published
from test_sessions import CHANNEL, fixture_bytes, header, sessions, signed_token

OWN = Path(__file__).parent / "fixtures" / "own-replies"


def own_reply(name: str, data: Path, session_id: int, forge: bool = False) -> bytes:
    """A fixture with Postgate's signed Message-ID and body marker for `session_id`; with
    `forge`, the Message-ID's MAC is altered (a guessed id)."""
    token = signed_token(data, session_id)
    if forge:
        token = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    text = (OWN / name).read_text()
    text = text.replace("{{REPLY_ID_ANA}}", f"<{token}@acme.test>")
    text = text.replace("{{MARKER_ANA}}", f"[ref:{signed_token(data, session_id)}]")
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def send(port: int, raw: bytes, sender: str, to: str = CHANNEL) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        assert s.sendmail(sender, [to], raw) == {}


def row(data: Path, message_id: str):
    """The message's row in the address's mailbox or quarantine (not an agents' queue)."""
    found = [r for r in messages(data, "") if r["message_id"] == message_id and not r["mailbox_path"].startswith("queues/")]
    assert len(found) == 1, f"{message_id}: {[(r['mailbox_path'], r['policy']) for r in found]}"
    return found[0]


def activity(data: Path, session_id: int) -> tuple:
    conn = db(data)
    try:
        return tuple(conn.execute("SELECT last_activity_at, expires_at, status FROM session WHERE id = ?", (session_id,)).fetchone())
    finally:
        conn.close()


def inbox_files(data: Path) -> list[str]:
    """The names in the address's new/ once every indexed message's file is there (the
    rename into new/ follows the 250)."""
    published(data)
    return sorted(p.name for p in (data / "maildir/acme.test/support/new").iterdir())


def queued(data: Path) -> list[str]:
    return [r["message_id"] for r in messages(data, "queues/")]


GMAIL_SRS = "service+caf_=support=acme.test@acme-contact.test"


def test_own_reply_copies_are_filed_in_their_session(data_dir: Path, spawn):
    server = spawn(data_dir)
    first = fixture_bytes("01-gmail-new.eml", data_dir, {})
    send(server.port, first, "ana.souza@gmail.test")
    [session] = sessions(data_dir)
    before = activity(data_dir, session["id"])

    gmail = own_reply("gmail-forwarded-bcc-copy.eml", data_dir, session["id"])
    exchange = own_reply("exchange-redirected-bcc-copy.eml", data_dir, session["id"])
    send(server.port, gmail, GMAIL_SRS)
    send(server.port, exchange, "support@acme.test")

    for raw in (gmail, exchange):
        stored = row(data_dir, header(raw, "Message-ID"))
        assert stored["policy"] == "own-reply"
        assert stored["mailbox_path"] == "maildir/acme.test/support"
        assert stored["session_id"] == session["id"] and stored["session_reason"] == "own-reply"
    assert activity(data_dir, session["id"]) == before, "an own reply must not extend the idle timeout"
    [after] = sessions(data_dir)
    assert after["messageCount"] == 3
    # Dev, whom the agent copied on the Exchange reply, became a participant; not the channel.
    assert after["participants"] == ["ana.souza@gmail.test", "dev.souza@family.test"]
    assert queued(data_dir) == [header(first, "Message-ID")], "own replies are never routed to a queue"
    shown = json.loads(cli(data_dir, "session", "show", str(session["id"]), "--json").stdout)
    assert [m["reason"] for m in shown["messages"]] == ["new-thread", "own-reply", "own-reply"]
    names = inbox_files(data_dir)
    assert sum(n.endswith(",P=own-reply") for n in names) == 2, names


def test_own_reply_passes_strict_policy_and_a_forged_id_does_not(data_dir: Path, spawn):
    server = spawn(data_dir)
    send(server.port, fixture_bytes("01-gmail-new.eml", data_dir, {}), "ana.souza@gmail.test")
    [session] = sessions(data_dir)
    # Only gmail.test may write, and only mail addressed to the channel in To/Cc counts.
    cli(data_dir, "address", "set", CHANNEL, "--allowed-domain", "gmail.test", "--sync-recipient-only", "true",
        "--publish", "--comment", "strict")
    genuine = own_reply("gmail-forwarded-bcc-copy.eml", data_dir, session["id"])
    send(server.port, genuine, GMAIL_SRS)
    assert row(data_dir, header(genuine, "Message-ID"))["policy"] == "own-reply"

    forged = own_reply("gmail-forwarded-bcc-copy.eml", data_dir, session["id"], forge=True)
    send(server.port, forged, GMAIL_SRS)
    stored = row(data_dir, header(forged, "Message-ID"))
    assert stored["policy"] == "quarantined:sender-domain-not-allowed", "a forged id gets the ordinary rules"
    assert stored["mailbox_path"] == "quarantine/acme.test/support"
    assert stored["session_id"] is None


def test_forged_id_without_restrictions_is_an_ordinary_message(data_dir: Path, spawn):
    server = spawn(data_dir)
    send(server.port, fixture_bytes("01-gmail-new.eml", data_dir, {}), "ana.souza@gmail.test")
    [session] = sessions(data_dir)
    forged = own_reply("exchange-redirected-bcc-copy.eml", data_dir, session["id"], forge=True)
    send(server.port, forged, "support@acme.test")
    stored = row(data_dir, header(forged, "Message-ID"))
    assert stored["policy"] is None
    assert stored["session_id"] != session["id"], "a forged id never joins the session it names"
    assert header(forged, "Message-ID") in queued(data_dir)


def test_auto_replies_and_blocked_mail_start_no_session_and_extend_none(data_dir: Path, spawn):
    cli(data_dir, "blocklist", "add", CHANNEL, "spam.example")
    server = spawn(data_dir)
    ooo = ("From: Ana Souza <ana.souza@gmail.test>\r\nTo: support@acme.test\r\nSubject: Out of office: Order 4512\r\n"
           "Message-ID: <ooo-{n}@gmail.test>\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n")
    spam = b"From: Bob <bob@spam.example>\r\nTo: support@acme.test\r\nSubject: Buy now\r\nMessage-ID: <s1@spam.example>\r\n\r\nx\r\n"
    send(server.port, ooo.format(n=1).encode(), "ana.souza@gmail.test")
    send(server.port, spam, "bob@spam.example")
    assert sessions(data_dir) == []
    assert [r["session_id"] for r in messages(data_dir)] == [None, None]
    assert [r["policy"] for r in messages(data_dir)] == ["auto-reply", "blocked"]

    send(server.port, fixture_bytes("01-gmail-new.eml", data_dir, {}), "ana.souza@gmail.test")
    [session] = sessions(data_dir)
    before = activity(data_dir, session["id"])
    send(server.port, ooo.format(n=2).encode(), "ana.souza@gmail.test")
    later = row(data_dir, "<ooo-2@gmail.test>")
    assert later["policy"] == "auto-reply" and later["session_id"] == session["id"], "filed in the customer's open session"
    assert activity(data_dir, session["id"]) == before, "an auto-reply is not customer activity"
    assert len(sessions(data_dir)) == 1
    names = inbox_files(data_dir)
    assert sum(n.endswith(",P=auto-reply") for n in names) == 2 and sum(n.endswith(",P=blocked") for n in names) == 1
