"""Bots end to end: an address with a bot holds its customers' messages; a bot server on
loopback (whose answers the test controls) replies, hands over, is too slow or fails. The
bot's reply reaches a real aiosmtpd next hop through the outbound queue; held messages reach
the agents' queue only when the bot lets them go. Signatures are checked by the
standardwebhooks library."""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import cli, free_port, messages, wait_for
from test_outbound import sink, write_outbound_config  # noqa: F401
from test_webhooks import Subscriber

standardwebhooks = pytest.importorskip("standardwebhooks.webhooks")


class Bot:
    """A bot on loopback: `answer(event)` gives (status, JSON or None, delay seconds)."""

    def __init__(self, answer):
        self.answer = answer
        self.events: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with bot.lock:
                    bot.events.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status, reply, delay = bot.answer(json.loads(body))
                if delay:
                    time.sleep(delay)  # the bot being slow is the point of the test
                data = json.dumps(reply).encode() if reply is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/decide"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bot():
    made: list[Bot] = []

    def _make(answer) -> Bot:
        b = Bot(answer)
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


def attach(data: Path, url: str, *extra: str) -> str | None:
    return json.loads(cli(data, "bot", "set", "support@acme.test", "--url", url, "--json", *extra).stdout)["secret"]


def customer_writes(port: int, subject: str, message_id: str, body: str, in_reply_to: str | None = None) -> None:
    extra = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("jane@example.test", ["support@acme.test"],
                      (f"From: Jane Customer <jane@example.test>\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
                       f"Message-ID: {message_id}\r\n{extra}\r\n{body}\r\n").encode())


def in_queue(data: Path) -> list:
    return messages(data, "queues/general")


def decisions(data: Path) -> list[dict]:
    return json.loads(cli(data, "bot", "log", "--json").stdout)


def test_the_bot_replies_and_the_message_stays_with_the_bot(data_dir: Path, spawn, tmp_path: Path, sink, bot):
    handler, sink_port = sink
    b = bot(lambda event: (200, {"action": "reply", "text": f"Your order {event['data']['message']['subject']} ships today."}, 0))
    secret = attach(data_dir, b.url)
    hook = Subscriber()
    cli(data_dir, "webhook", "add", "ops", "--url", hook.url, "--event", "reply.delivered")
    config = write_outbound_config(tmp_path / "out.yaml", sink_port)
    config.write_text(config.read_text() + "webhooks:\n  poll_interval: 0.05\n")
    server = spawn(data_dir, config)
    customer_writes(server.port, "A-1001", "<q1@example.test>", "Where is my order?")
    wait_for(lambda: len(handler.acknowledged) == 1, message="the bot's reply at the next hop")
    headers, body = b.events[0]
    event = standardwebhooks.Webhook(secret).verify(body, headers)
    assert event["type"] == "message.received" and "Where is my order?" in event["data"]["message"]["text"]
    assert event["data"]["customer"] == "jane@example.test" and event["data"]["queue"] == "general"
    mail_from, rcpts, content = handler.acknowledged[0]
    reply = email.message_from_bytes(content, policy=email.policy.default)
    assert rcpts == ["jane@example.test"] and reply["In-Reply-To"] == "<q1@example.test>"
    assert reply["Subject"] == "Re: A-1001" and "support@acme.test" in reply["From"]
    assert "ships today" in reply.get_body(("plain",)).get_content() and reply["DKIM-Signature"]
    assert in_queue(data_dir) == [], "a message the bot answered never reaches the agents' queue"
    assert decisions(data_dir)[0]["state"] == "replied"
    session = json.loads(cli(data_dir, "session", "list", "--json").stdout)[0]
    thread = json.loads(cli(data_dir, "session", "show", str(session["id"]), "--json").stdout)
    assert event["data"]["sessionId"] == session["id"] and len(thread["messages"]) >= 1
    try:
        wait_for(lambda: len(hook.events()) == 1, message="the reply.delivered event")
        delivered = hook.events()[0]
        assert delivered["type"] == "reply.delivered" and delivered["data"]["sessionId"] == session["id"]
        assert delivered["data"]["reply"]["recipient"] == "jane@example.test" and delivered["data"]["reply"]["serverReply"].startswith("250")
    finally:
        hook.close()


def test_a_handoff_files_the_message_and_the_session_stays_with_people(data_dir: Path, spawn, tmp_path: Path, bot):
    cli(data_dir, "queue", "add", "billing")
    b = bot(lambda event: (200, {"action": "handoff", "queue": "billing", "note": "wants a refund"}, 0))
    attach(data_dir, b.url)
    server = spawn(data_dir)
    customer_writes(server.port, "Refund", "<r1@example.test>", "I want my money back.")
    wait_for(lambda: len(messages(data_dir, "queues/billing")) == 1, message="the message in the billing queue")
    assert decisions(data_dir)[0]["state"] == "handed-over" and "wants a refund" in decisions(data_dir)[0]["detail"]
    [session] = json.loads(cli(data_dir, "session", "list", "--json").stdout)
    [event] = json.loads(cli(data_dir, "session", "show", str(session["id"]), "--json").stdout)["events"]
    assert (event["kind"], event["actor"], event["toQueue"]) == ("handed-over", "bot", "billing")
    assert "wants a refund" in event["detail"], "the bot's note is there for the agents"
    customer_writes(server.port, "Re: Refund", "<r2@example.test>", "Any news?", in_reply_to="<r1@example.test>")
    # Straight to people, in the queue the bot handed the session to.
    wait_for(lambda: len(messages(data_dir, "queues/billing")) == 2, message="the session's next message straight to people")
    assert in_queue(data_dir) == []
    assert len(b.events) == 1, "the bot is not asked about a session handed over"
    assert decisions(data_dir)[0]["detail"] == "the session was handed over to people"


def test_a_transfer_keyword_goes_to_people_without_asking_the_bot(data_dir: Path, spawn, tmp_path: Path, bot):
    b = bot(lambda event: (200, {"action": "reply", "text": "never sent"}, 0))
    attach(data_dir, b.url, "--transfer-keyword", "speak to a human")
    server = spawn(data_dir)
    customer_writes(server.port, "Help", "<k1@example.test>", "Please let me SPEAK TO A HUMAN now.")
    wait_for(lambda: len(in_queue(data_dir)) == 1, message="the message in the queue")
    assert b.events == [] and decisions(data_dir)[0]["detail"] == 'transfer keyword "speak to a human"'


@pytest.mark.parametrize("behaviour", ["slow", "error", "garbage"])
def test_no_decision_sends_the_message_to_the_queue(data_dir: Path, spawn, tmp_path: Path, bot, behaviour):
    answers = {
        "slow": (200, {"action": "reply", "text": "too late"}, 4),
        "error": (500, None, 0),
        "garbage": (200, "not a decision", 0),
    }
    b = bot(lambda event: answers[behaviour])
    attach(data_dir, b.url, "--timeout", "1")
    server = spawn(data_dir)
    customer_writes(server.port, "Kettle", "<t1@example.test>", "It leaks.")
    wait_for(lambda: len(in_queue(data_dir)) == 1, message="the message in the queue")
    assert decisions(data_dir)[0]["state"] == "queued"
    assert json.loads(cli(data_dir, "outbound", "list", "--json").stdout) == [], "no reply from a bot that did not decide"


def test_bad_bot_settings_are_refused_and_nothing_is_saved(data_dir: Path):
    for args, reason in [
        (["--url", "ftp://bot.example.test/"], "not an http:// or https:// URL"),
        (["--url", "http://bot.example.test/"], "must be https://"),
        (["--url", "https://bot.example.test/", "--timeout", "0"], "timeout is 1 to 300 seconds"),
    ]:
        proc = cli(data_dir, "bot", "set", "support@acme.test", *args, check=False)
        assert proc.returncode == 1 and reason in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    proc = cli(data_dir, "bot", "show", "support@acme.test", check=False)
    assert proc.returncode == 1 and "has no bot" in proc.stderr
    secret = attach(data_dir, "https://bot.example.test/")
    assert secret.startswith("whsec_") and attach(data_dir, "https://bot2.example.test/") is None, "a change keeps the secret"
    assert secret.encode() not in (data_dir / "postgate.sqlite").read_bytes()
