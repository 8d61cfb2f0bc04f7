"""Webhooks end to end: a real gateway, mail over SMTP, and a subscriber on loopback whose
answers the test controls. Signatures are verified by the standardwebhooks library."""

from __future__ import annotations

import json
import smtplib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import cli, free_port, wait_for

standardwebhooks = pytest.importorskip("standardwebhooks.webhooks")


class Subscriber:
    """An HTTP server on loopback that records each POST and answers with the next status
    of `statuses` (then 200)."""

    def __init__(self, statuses: list[int] | None = None, port: int | None = None):
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict, bytes]] = []
        self.attempts = 0
        self.lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with subscriber.lock:
                    subscriber.attempts += 1
                    status = subscriber.statuses.pop(0) if subscriber.statuses else 200
                    if status == 200:
                        subscriber.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = port or free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def subscriber():
    made: list[Subscriber] = []

    def _make(statuses: list[int] | None = None) -> Subscriber:
        s = Subscriber(statuses)
        made.append(s)
        return s

    yield _make
    for s in made:
        s.close()


def webhook_config(tmp_path: Path) -> Path:
    config = tmp_path / "webhooks.yaml"
    config.write_text("webhooks:\n  poll_interval: 0.05\n  retry_initial: 0.2\n  retry_max: 1\n  timeout: 2\n")
    return config


def add_webhook(data: Path, name: str, url: str, *events: str) -> str:
    args = ["webhook", "add", name, "--url", url, "--json"]
    for event in events:
        args += ["--event", event]
    return json.loads(cli(data, *args).stdout)["secret"]


def send(port: int, subject: str, message_id: str, body: str = "It leaks.", sender: str = "carol@customer.test",
         extra: str = "") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(sender, ["support@acme.test"],
                      (f"From: Carol <{sender}>\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
                       f"Message-ID: <{message_id}>\r\n{extra}\r\n{body}\r\n").encode())


def test_events_are_signed_and_carry_what_a_bot_needs(data_dir: Path, spawn, tmp_path: Path, subscriber):
    hook = subscriber()
    secret = add_webhook(data_dir, "flows", hook.url)
    server = spawn(data_dir, webhook_config(tmp_path))
    send(server.port, "Broken kettle", "kettle-1@customer.test", body="The kettle leaks since Monday.")
    wait_for(lambda: len(hook.events()) >= 2, message="two events delivered")
    verifier = standardwebhooks.Webhook(secret)
    for headers, body in hook.received:
        verifier.verify(body, headers)  # raises unless the signature, id and timestamp are right
        tampered = body.replace(b"kettle", b"kettlE")
        with pytest.raises(Exception):
            verifier.verify(tampered, headers)
    opened, received = hook.events()[:2]
    assert opened["type"] == "session.opened" and received["type"] == "message.received"
    assert opened["data"]["sessionId"] == received["data"]["sessionId"]
    data = received["data"]
    assert data["address"] == "support@acme.test" and data["customer"] == "carol@customer.test" and data["queue"] == "general"
    message = data["message"]
    assert message["messageId"] == "<kettle-1@customer.test>" and message["subject"] == "Broken kettle"
    assert "carol@customer.test" in message["from"] and "The kettle leaks since Monday." in message["text"]
    assert message["textTruncated"] is False and message["attachments"] == []
    state = {d["type"]: d["state"] for d in json.loads(cli(data_dir, "webhook", "show", "flows", "--json").stdout)}
    assert state == {"session.opened": "delivered", "message.received": "delivered"}


def test_a_subscriber_answering_500_gets_the_event_again_and_nothing_is_lost(data_dir: Path, spawn, tmp_path: Path, subscriber):
    hook = subscriber(statuses=[500, 503])
    add_webhook(data_dir, "flows", hook.url, "message.received")
    server = spawn(data_dir, webhook_config(tmp_path))
    send(server.port, "First", "first@customer.test")
    wait_for(lambda: len(hook.events()) == 1, message="the event after two refusals")
    assert hook.attempts == 3
    delivery = json.loads(cli(data_dir, "webhook", "show", "flows", "--json").stdout)[0]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3 and delivery["lastStatus"] == 200


def test_a_subscriber_that_is_down_gets_every_event_in_order_once_it_is_back(data_dir: Path, spawn, tmp_path: Path, subscriber):
    port = free_port()  # nothing listens here yet
    add_webhook(data_dir, "flows", f"http://127.0.0.1:{port}/events", "message.received")
    server = spawn(data_dir, webhook_config(tmp_path))
    for n in range(5):
        extra = f"In-Reply-To: <m{n - 1}@customer.test>\r\nReferences: <m0@customer.test>\r\n" if n else ""
        send(server.port, "Kettle", f"m{n}@customer.test", body=f"message {n}", extra=extra)
    def deliveries() -> list[dict]:
        return json.loads(cli(data_dir, "webhook", "show", "flows", "--json").stdout)

    wait_for(lambda: len(deliveries()) == 5 and deliveries()[-1]["attempts"] >= 2,
             message="the first event tried twice while the subscriber is down")
    assert json.loads(cli(data_dir, "webhook", "list", "--json").stdout)[0]["pending"] == 5
    # Only the session's oldest event is tried while it waits: the others keep their order.
    assert [d["attempts"] > 0 for d in deliveries()] == [False] * 4 + [True]

    hook = Subscriber(port=port)
    try:
        cli(data_dir, "webhook", "retry", "flows")
        wait_for(lambda: len(hook.events()) == 5, message="every event once the subscriber is back")
        texts = [e["data"]["message"]["text"].strip() for e in hook.events()]
        assert texts == [f"message {n}" for n in range(5)]
        assert len({e["data"]["sessionId"] for e in hook.events()}) == 1
    finally:
        hook.close()


def test_bad_subscriptions_are_refused_and_nothing_is_saved(data_dir: Path):
    for args, reason in [
        (["--url", "ftp://example.test/x"], "not an http:// or https:// URL"),
        (["--url", "http://hooks.example.test/x"], "must be https://"),
        (["--url", "https://user:pw@hooks.example.test/x"], "without a user or password"),
        (["--url", "https://hooks.example.test/x", "--event", "message.sent"], "not an event type"),
    ]:
        proc = cli(data_dir, "webhook", "add", "flows", *args, check=False)
        assert proc.returncode == 1 and reason in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert json.loads(cli(data_dir, "webhook", "list", "--json").stdout) == []
    secret = add_webhook(data_dir, "flows", "https://hooks.example.test/x")
    assert secret.startswith("whsec_")
    listed = cli(data_dir, "webhook", "list", "--json").stdout
    assert secret not in listed and secret.encode() not in (data_dir / "postgate.sqlite").read_bytes()


def test_a_transfer_and_an_idle_end_are_told_signed(data_dir: Path, spawn, tmp_path: Path, subscriber):
    hook = subscriber()
    secret = add_webhook(data_dir, "flows", hook.url, "session.transferred", "session.closed")
    cli(data_dir, "queue", "add", "tier2")
    config = webhook_config(tmp_path)
    config.write_text(config.read_text() + "sessions:\n  idle_timeout: 3s\n  sweep_interval: 1s\n")
    server = spawn(data_dir, config)
    send(server.port, "Broken kettle", "kettle-1@customer.test")
    [session] = json.loads(cli(data_dir, "session", "list", "--json").stdout)
    cli(data_dir, "session", "transfer", str(session["id"]), "tier2", "--note", "warranty case")
    wait_for(lambda: len(hook.events()) == 2, message="the transfer and the idle end delivered")
    verifier = standardwebhooks.Webhook(secret)
    for headers, body in hook.received:
        verifier.verify(body, headers)
    # Ordered per session; which of the two comes first is the machine's speed.
    closed, transferred = sorted(hook.events(), key=lambda event: event["type"])
    assert transferred["type"] == "session.transferred" and transferred["data"]["sessionId"] == session["id"]
    assert transferred["data"]["queue"] == "tier2"
    assert closed["type"] == "session.closed" and closed["data"]["sessionId"] == session["id"]
