"""Auto-replies (RFC 3834) end to end: a customer writes in by SMTP, `postgate serve`
decides and queues the address's auto-reply (in or out of working hours, by the address's
calendar), composes, DKIM-signs and delivers it to a real aiosmtpd next hop through the
outbound queue, and records it in the customer's session. Automatic mail, null senders,
later messages of a session and loops between responders get none; bad settings are
refused with one line and change nothing.

The auto-reply is queued before the customer's message is acknowledged, so once smtplib
returns, `postgate outbound list` shows whether it got one: no waiting for an absence.

Working hours without a fake clock: the tests choose the whole-hour time zone (Etc/GMT±N)
in which it is now 23:xx, and make that local day and the next holidays, so the customer
writes at 23:00 on a holiday and the next opening is the day after, at 09:00, even if the
local day turns while the test runs.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import json
import smtplib
import subprocess
from pathlib import Path

import pytest

from conftest import cli, message_file, messages, wait_for
from test_dkim import SYSTEM_PYTHON, TOOL, DNSMasq, _have_dkimpy
from test_outbound import sink, write_outbound_config  # noqa: F401
from test_replies import configure_channel

needs_dkimpy = pytest.mark.skipif(not _have_dkimpy() or DNSMasq is None, reason="dkimpy or dnsmasq not installed")

IN_TEXT = ("{{#customer_name}}Dear {{customer_name}},{{/customer_name}}{{^customer_name}}Hello,{{/customer_name}}\n\n"
           "we have your message \"{{subject}}\" (queue {{queue}}). Your reference: {{session_reference}}.\n")
IN_HTML = "<p>Dear {{customer_name}}, your reference is <b>{{session_reference}}</b>.</p>"
OUT_TEXT = "Hello {{customer_name}}, we are closed. We open again on {{next_opening}} ({{time_zone}}).\n"
OUT_HTML = "<p>We open again on {{next_opening_date}} at {{next_opening_time}}.</p>"


def set_autoreplies(data: Path, tmp: Path, *extra: str) -> None:
    for name, text in [("in.txt", IN_TEXT), ("in.html", IN_HTML), ("out.txt", OUT_TEXT), ("out.html", OUT_HTML)]:
        (tmp / name).write_text(text)
    cli(data, "address", "set", "support@acme.test", "--autoreply-in", "true", "--autoreply-out", "true",
        "--autoreply-in-text", str(tmp / "in.txt"), "--autoreply-in-html", str(tmp / "in.html"),
        "--autoreply-out-text", str(tmp / "out.txt"), "--autoreply-out-html", str(tmp / "out.html"), *extra, "--publish")


def write(port: int, sender: str, subject: str, message_id: str, extra: str = "", name: str = "Jane Customer") -> None:
    message = (f"From: {name} <{sender or 'nobody@example.test'}>\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
               f"Message-ID: {message_id}\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n{extra}\r\nMy order has not arrived.\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, ["support@acme.test"], message.encode())


def queued(data: Path) -> list[dict]:
    return json.loads(cli(data, "outbound", "list", "--json").stdout)


def late_night_holiday_calendar(data: Path) -> datetime.datetime:
    """A calendar named night in the zone where it is now 23:xx, today and tomorrow (local)
    holidays, 09:00-17:00 every other day; the address uses it. Returns the next opening."""
    now = datetime.datetime.now(datetime.timezone.utc)
    offset = next(h for h in range(-12, 15) if (now + datetime.timedelta(hours=h)).hour == 23)
    zone = "Etc/GMT" + ("" if offset == 0 else f"{-offset:+d}")  # Etc/GMT-5 is UTC+5
    today = (now + datetime.timedelta(hours=offset)).date()
    cli(data, "calendar", "set", "night", "--time-zone", zone, "--workdays", "mon,tue,wed,thu,fri,sat,sun",
        "--workday", "09:00-17:00", "--holiday", today.isoformat(), "--holiday", (today + datetime.timedelta(days=1)).isoformat())
    cli(data, "address", "set", "support@acme.test", "--calendar", "night", "--publish")
    opening = today + datetime.timedelta(days=2)
    return datetime.datetime(opening.year, opening.month, opening.day, 9, 0), zone


@needs_dkimpy
def test_a_customer_writing_at_night_on_a_holiday_gets_the_next_opening(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    configure_channel(data_dir, tmp_path)
    set_autoreplies(data_dir, tmp_path)
    opening, zone = late_night_holiday_calendar(data_dir)
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    write(server.port, "jane@example.test", "Where is my order?", "<q1@example.test>")

    assert [m["autoReply"] for m in queued(data_dir)] == ["out"]
    wait_for(lambda: len(handler.acknowledged) == 1)
    sender, rcpts, content = handler.acknowledged[0]
    assert sender == "support@acme.test" and sorted(rcpts) == ["desk@acme.test", "jane@example.test"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Subject"] == "Auto: Where is my order?"
    assert message["In-Reply-To"] == "<q1@example.test>" and "<q1@example.test>" in message["References"]
    assert str(message["Reply-To"]) in ("desk@acme.test", "<desk@acme.test>")
    assert str(message["To"]) in ("jane@example.test", "<jane@example.test>")
    text = message.get_body(("plain",)).get_content()
    expected = f"{opening:%A} {opening.day} {opening:%B %Y}, 09:00"
    assert text.startswith("Thank you for contacting Acme.")  # the address's reply template header
    assert f"Hello Jane Customer, we are closed. We open again on {expected} ({zone})." in text
    assert "Acme Support team" in text and "[ref:pg1-" in text
    assert b"text/vcard" not in content  # the contact card waits for an agent's first reply
    html = message.get_body(("html",)).get_content()
    assert f"We open again on {opening:%Y-%m-%d} at 09:00." in html

    # DKIM-signed with the hosted domain's key, checked by dkimpy against a loopback DNS server.
    (key,) = json.loads(cli(data_dir, "dkim", "show", "acme.test", "--json").stdout)
    dns = DNSMasq(tmp_path).start({key["recordName"]: [key["publicRecord"]]})
    try:
        verified = subprocess.run([SYSTEM_PYTHON, str(TOOL), "verify", "--dns", dns.server], input=content, capture_output=True, timeout=60)
    finally:
        dns.stop()
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # Recorded in the customer's session as Postgate's reply.
    (session,) = json.loads(cli(data_dir, "session", "list", "--address", "support@acme.test", "--json").stdout)
    reply_id = message["Message-ID"]
    (copy,) = wait_for(lambda: [r for r in messages(data_dir) if r["message_id"] == reply_id],
                       message=f"no copy of {reply_id} in the channel's mailbox")
    assert copy["session_id"] == session["id"]
    assert b"Auto-Submitted: auto-replied" in message_file(data_dir, copy).read_bytes()

    # The report counts it as an auto-reply, neither as an agent's reply nor as an answer.
    report = json.loads(cli(data_dir, "report", "--address", "support@acme.test", "--since", "1d", "--json").stdout)
    assert report["totals"]["autoReplies"] == 1 and report["totals"]["messagesOut"] == 0
    assert report["totals"]["autoRepliesReceived"] == 0
    assert report["firstResponse"]["answered"] == 0 and report["firstResponse"]["unanswered"] == 1


def test_the_acknowledgement_carries_the_session_reference_and_only_a_sessions_first_message_gets_one(
        data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    set_autoreplies(data_dir, tmp_path)  # no calendar: always in working hours
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    write(server.port, "jane@example.test", "Refund", "<r1@example.test>")
    assert len(queued(data_dir)) == 1 and " (auto)" in cli(data_dir, "outbound", "list").stdout
    (session,) = json.loads(cli(data_dir, "session", "list", "--address", "support@acme.test", "--json").stdout)

    wait_for(lambda: len(handler.acknowledged) == 1)
    message = email.message_from_bytes(handler.acknowledged[0][2], policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Dear Jane Customer,")
    assert f'we have your message "Refund" (queue general). Your reference: {session["id"]}.' in text
    assert f"<b>{session['id']}</b>" in message.get_body(("html",)).get_content()

    # The customer writes again, in the same session (and once answering the auto-reply):
    # no second auto-reply.
    write(server.port, "jane@example.test", "Refund, again", "<r2@example.test>")
    write(server.port, "jane@example.test", "Re: Auto: Refund", "<r3@example.test>", f"In-Reply-To: {message['Message-ID']}\r\n")
    sessions = json.loads(cli(data_dir, "session", "list", "--address", "support@acme.test", "--json").stdout)
    assert [s["id"] for s in sessions] == [session["id"]] and sessions[0]["messageCount"] >= 3
    assert len(queued(data_dir)) == 1

    # Another customer opens a session of their own, and gets one.
    write(server.port, "bob@example.test", "Invoice", "<b1@example.test>", name="Bob")
    assert len(queued(data_dir)) == 2


def test_automatic_mail_null_senders_and_own_addresses_get_none(data_dir: Path, tmp_path: Path, sink, spawn):
    _, port = sink
    set_autoreplies(data_dir, tmp_path)
    cli(data_dir, "address", "set", "support@acme.test", "--exclude-auto-replies", "false", "--publish")
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    write(server.port, "", "Delivery report", "<n1@example.test>")
    write(server.port, "robot@example.test", "Out of office", "<a1@example.test>", "Auto-Submitted: auto-replied\r\n")
    write(server.port, "news@example.test", "Our news", "<l1@example.test>", "List-Id: <news.example.test>\r\n")
    write(server.port, "bulk@example.test", "Offer", "<p1@example.test>", "Precedence: bulk\r\n")
    write(server.port, "colleague@acme.test", "Internal", "<o1@acme.test>")
    assert queued(data_dir) == []
    # The same address answers a person at once.
    write(server.port, "jane@example.test", "Hello", "<h1@example.test>")
    assert len(queued(data_dir)) == 1


def test_two_auto_responders_stop_at_the_hourly_cap(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    # Thread mode, so that each unthreaded message opens a session of its own: only the cap
    # stands between two responders that do not mark their replies.
    set_autoreplies(data_dir, tmp_path, "--session-mode", "thread", "--autoreply-hourly-cap", "2")
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    # The other responder writes once, then answers each auto-reply it receives (at the next
    # hop) with a new message, neither marked nor threaded; the loop ends when one of its
    # messages gets no auto-reply.
    write(server.port, "responder@example.test", "Question", "<loop-0@example.test>", name="Responder")
    answered = 0
    while (count := len(queued(data_dir))) > answered:
        assert count <= 10, "the loop did not stop"
        answered = count
        wait_for(lambda: len(handler.acknowledged) == answered)
        assert handler.acknowledged[-1][1] == ["responder@example.test"]
        write(server.port, "responder@example.test", f"Thank you for your message {answered}", f"<loop-{answered}@example.test>",
              name="Responder")
    assert answered == 2
    assert [m["autoReply"] for m in queued(data_dir)] == ["in", "in"]

    # A responder that marks its replies (Auto-Submitted) gets none at all.
    for i in range(3):
        write(server.port, "vacation@example.test", f"Away {i}", f"<away-{i}@example.test>", "Auto-Submitted: auto-replied\r\n")
    assert len(queued(data_dir)) == 2
    assert "auto-reply held back" in server.log_text()


@pytest.mark.parametrize("args, message", [
    (["--autoreply-in-text", "Hello {{name}}", "--autoreply-inline"],
     "the in-hours text auto-reply template: unknown variable {{name}}; known: customer_name, next_opening, next_opening_date, "
     "next_opening_time, queue, session_reference, subject, time_zone"),
    (["--autoreply-out-html", "<p>{{#subject}}open</p>", "--autoreply-inline"],
     "the out-of-hours HTML auto-reply template: syntax error on line 1: a section is not closed ({{#name}} needs {{/name}})"),
    (["--autoreply-in-text", "{{> footer}}", "--autoreply-inline"],
     "the in-hours text auto-reply template: {{> footer}}: partials, blocks and delimiter changes are not supported"),
    (["--autoreply-hourly-cap=-1"], "the auto-reply hourly cap must be from 0 to 100, not -1"),
    (["--autoreply-period", "0"],
     "the auto-reply period must be from 1 to 8760 hours, not 0 (or session: once per session)"),
    (["--autoreply-out", "true"], "the out-of-hours auto-reply needs a text template: give it with --autoreply-out-text FILE"),
])
def test_bad_auto_reply_settings_are_refused_and_nothing_is_saved(data_dir: Path, args: list[str], message: str):
    before = json.loads(cli(data_dir, "address", "show", "support@acme.test", "--json").stdout)
    result = cli(data_dir, "address", "set", "support@acme.test", *args, "--publish", check=False)
    assert result.returncode == 1 and result.stderr == f"postgate: {message}\n"
    assert json.loads(cli(data_dir, "address", "diff", "support@acme.test", "--json").stdout) == []
    assert json.loads(cli(data_dir, "address", "show", "support@acme.test", "--json").stdout) == before


def test_preview_renders_the_out_of_hours_reply_at_a_given_time(data_dir: Path, tmp_path: Path):
    set_autoreplies(data_dir, tmp_path)
    cli(data_dir, "calendar", "set", "default", "--time-zone", "Europe/Berlin", "--workday", "09:00-17:00",
        "--non-workday", "10:00-12:00", "--holiday", "2026-12-25")
    # Thursday 24 December, 23:00 UTC: closed; Christmas opens 10:00-12:00 Berlin time.
    shown = json.loads(cli(data_dir, "address", "autoreply", "preview", "support@acme.test", "--at", "2026-12-24T23:00:00Z",
                           "--json").stdout)
    assert shown["kind"] == "out" and shown["autoSubmitted"] == "auto-replied" and shown["subject"].startswith("Auto: ")
    assert "We open again on Friday 25 December 2026, 10:00 (Europe/Berlin)." in shown["text"]
    assert "2026-12-25 at 10:00" in shown["html"]
    ack = cli(data_dir, "address", "autoreply", "preview", "support@acme.test", "--hours", "in").stdout
    assert "Dear Alex Example," in ack and "Your reference: 1234." in ack
    help_text = cli(data_dir, "address", "autoreply", "preview", "--help").stdout
    assert "--hours" in help_text and "--at" in help_text


def test_the_gateway_wide_switch_turns_every_auto_reply_off(data_dir: Path, tmp_path: Path, sink, spawn):
    _, port = sink
    set_autoreplies(data_dir, tmp_path)
    config = write_outbound_config(tmp_path / "c.yaml", port)
    config.write_text(config.read_text() + "auto_replies:\n  enabled: false\n")
    server = spawn(data_dir, config)
    write(server.port, "jane@example.test", "Hello", "<off-1@example.test>")
    assert queued(data_dir) == []
    shown = cli(data_dir, "address", "show", "support@acme.test").stdout
    assert "auto-replying:   in hours and outside hours; once per session; the default hourly cap" in shown
