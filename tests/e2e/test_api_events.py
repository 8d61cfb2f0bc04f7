"""Webhooks, bots and standard responses through the HTTP API, end to end: a real
`postgate serve` with its API listener on loopback over TLS, Python's http.client, the
command line reading back what the API did, subscribers and bots on loopback, and every
signature verified by the standardwebhooks library."""

from __future__ import annotations

import base64
import json
import smtplib
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli, free_port, wait_for
from test_api import API, assert_problem, make_token
from test_bots import bot  # noqa: F401
from test_webhooks import Subscriber

standardwebhooks = pytest.importorskip("standardwebhooks.webhooks")


@pytest.fixture
def gateway(data_dir: Path, spawn, tmp_path: Path) -> API:
    """The API, and webhooks whose failed deliveries wait an hour unless retried."""
    port = free_port()
    config = tmp_path / "api.yaml"
    config.write_text(f"hostname: localhost\napi:\n  listen: [\"127.0.0.1:{port}\"]\n"
                      "webhooks:\n  poll_interval: 0.05\n  retry_initial: 3600\n  retry_max: 3600\n  timeout: 2\n"
                      "bots:\n  poll_interval: 0.05\n")
    server = spawn(data_dir, config)
    return API(port, data_dir / "certs" / "dev-certificate.pem", server.port)


def audit(data: Path) -> list[tuple]:
    return [(e["actor"], e["action"], e["target"]) for e in json.loads(cli(data, "audit", "--json").stdout)]


def stored_bytes(data: Path) -> bytes:
    return (data / "postgate.sqlite").read_bytes() + b"".join(p.read_bytes() for p in data.glob("postgate.sqlite-*") if p.is_file())


def send(port: int, subject: str, message_id: str, body: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("carol@customer.test", ["support@acme.test"],
                      (f"From: Carol <carol@customer.test>\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
                       f"Message-ID: <{message_id}>\r\n\r\n{body}\r\n").encode())


def test_webhooks_are_added_shown_retried_and_removed(gateway: API, data_dir: Path):
    admin, reader = make_token(data_dir, "ops", "admin"), make_token(data_dir, "viewer", "read")
    hook = Subscriber(statuses=[500])  # down for the first delivery, then up
    try:
        assert gateway.json("GET", "/v1/webhooks", reader)[0] == {"items": []}
        status, fields, data = gateway.request("POST", "/v1/webhooks", reader, {"name": "flows", "url": hook.url})
        assert_problem(status, fields, data, 403)
        assert json.loads(cli(data_dir, "webhook", "list", "--json").stdout) == [], "a refused request changes nothing"

        made, _ = gateway.json("POST", "/v1/webhooks", admin, {"name": "flows", "url": hook.url, "events": ["message.received"]},
                               expect=201)
        secret = made["secret"]
        assert secret.startswith("whsec_") and made["webhook"]["name"] == "flows" and made["webhook"]["events"] == ["message.received"]
        assert secret.encode() not in stored_bytes(data_dir), "the secret is sealed at rest"
        listed, _ = gateway.json("GET", "/v1/webhooks", reader)
        assert [w["name"] for w in listed["items"]] == ["flows"] and secret not in json.dumps(listed)
        assert ("token:ops", "webhook.add", "flows") in audit(data_dir)

        # The same checks and refusals as `postgate webhook add`; none saves anything.
        for body, expected, reason in [
            ({"name": "FLOWS", "url": hook.url}, 409, "already a webhook named FLOWS"),
            ({"name": "other", "url": "ftp://example.test/x"}, 422, "not an http:// or https:// URL"),
            ({"name": "other", "url": "http://hooks.example.test/x"}, 422, "must be https://"),
            ({"name": "other", "url": hook.url, "events": ["message.sent"]}, 422, "not an event type"),
            ({"name": "9lives", "url": hook.url}, 422, "must start with a letter"),
            ({"name": "other", "url": hook.url, "secret": "mine"}, 400, "not a property"),
        ]:
            status, fields, data = gateway.request("POST", "/v1/webhooks", admin, body)
            assert reason in assert_problem(status, fields, data, expected)["detail"], (body, data)
        assert [w["name"] for w in gateway.json("GET", "/v1/webhooks", admin)[0]["items"]] == ["flows"]

        # The first delivery fails, and waits an hour for its next attempt ...
        send(gateway.smtp_port, "Broken kettle", "kettle-1@customer.test", "It leaks.")
        def deliveries() -> list[dict]:
            return gateway.json("GET", "/v1/webhooks/flows?limit=10", reader)[0]["deliveries"]
        wait_for(lambda: deliveries() and deliveries()[0]["attempts"] == 1, message="the first attempt")
        [delivery] = deliveries()
        assert delivery["state"] == "pending" and delivery["lastStatus"] == 500 and delivery["type"] == "message.received"
        shown, _ = gateway.json("GET", "/v1/webhooks/flows", reader)
        assert shown["webhook"]["pending"] == 1 and secret not in json.dumps(shown)
        assert [d["id"] for d in json.loads(cli(data_dir, "webhook", "show", "flows", "--json").stdout)] == [delivery["id"]]

        # ... until it is retried: a read token may not, an admin's makes it due now.
        status, fields, data = gateway.request("POST", "/v1/webhooks/flows/retry", reader)
        assert_problem(status, fields, data, 403)
        retried, _ = gateway.json("POST", "/v1/webhooks/flows/retry", admin)
        assert retried == {"due": 1}
        wait_for(lambda: deliveries()[0]["state"] == "delivered", message="the retried delivery")
        headers, body = hook.received[0]
        event = standardwebhooks.Webhook(secret).verify(body, headers)  # the secret of the 201 signs it
        assert event["type"] == "message.received" and event["data"]["message"]["subject"] == "Broken kettle"
        assert ("token:ops", "webhook.retry", "flows") in audit(data_dir)

        for method, path in [("GET", "/v1/webhooks/nothing"), ("DELETE", "/v1/webhooks/nothing"), ("POST", "/v1/webhooks/nothing/retry")]:
            status, fields, data = gateway.request(method, path, admin)
            assert_problem(status, fields, data, 404)
        status, fields, data = gateway.request("GET", "/v1/webhooks/flows?limit=0", admin)
        assert_problem(status, fields, data, 400)
        status, fields, data = gateway.request("DELETE", "/v1/webhooks/flows", reader)
        assert_problem(status, fields, data, 403)
        status, _, _ = gateway.request("DELETE", "/v1/webhooks/Flows", admin)
        assert status == 204
        assert json.loads(cli(data_dir, "webhook", "list", "--json").stdout) == []
        status, fields, data = gateway.request("DELETE", "/v1/webhooks/flows", admin)
        assert_problem(status, fields, data, 404)
        assert ("token:ops", "webhook.remove", "flows") in audit(data_dir)
    finally:
        hook.close()


def test_a_bot_is_attached_changed_and_detached(gateway: API, data_dir: Path, bot):
    admin, reader = make_token(data_dir, "ops", "admin"), make_token(data_dir, "viewer", "read")
    b = bot(lambda event: (200, {"action": "reply", "text": "Thanks, a new kettle is on its way."}, 0))
    path = "/v1/addresses/support@acme.test/bot"
    status, fields, data = gateway.request("GET", path, reader)
    assert "has no bot" in assert_problem(status, fields, data, 404)["detail"]
    status, fields, data = gateway.request("PUT", path, reader, {"url": b.url})
    assert_problem(status, fields, data, 403)
    # The same checks and refusals as `postgate bot set`; none saves anything.
    for address, body, expected, reason in [
        ("support@acme.test", {"url": "http://bot.example.test/"}, 422, "must be https://"),
        ("support@acme.test", {"url": b.url, "timeout": 0}, 422, "timeout is 1 to 300 seconds"),
        ("support@acme.test", {"url": b.url, "transferKeywords": ["a\nb"]}, 400, "transferKeywords[0]"),
        ("support@acme.test", {"url": b.url, "colour": "red"}, 400, "not a property"),
        ("nobody@acme.test", {"url": b.url}, 404, "nobody@acme.test"),
        ("help@acme.test", {"url": b.url}, 409, "alias"),
    ]:
        status, fields, data = gateway.request("PUT", f"/v1/addresses/{address}/bot", admin, body)
        assert reason in assert_problem(status, fields, data, expected)["detail"], (body, data)
    assert cli(data_dir, "bot", "show", "support@acme.test", check=False).returncode == 1

    made, fields = gateway.json("PUT", path, admin, {"url": b.url, "timeout": 5, "transferKeywords": ["speak to a human"]})
    secret = made["secret"]
    assert secret.startswith("whsec_") and made["bot"]["timeout"] == 5 and made["bot"]["transferKeywords"] == ["speak to a human"]
    assert secret.encode() not in stored_bytes(data_dir), "the secret is sealed at rest"
    shown, shown_fields = gateway.json("GET", path, reader)
    assert shown == made["bot"] and shown_fields["etag"] == fields["etag"] and secret not in json.dumps(shown)
    assert json.loads(cli(data_dir, "bot", "show", "support@acme.test", "--json").stdout)["url"] == b.url

    # A change keeps the secret, unless a new one is asked for; a stale ETag changes nothing.
    changed, changed_fields = gateway.json("PUT", path, admin, {"url": b.url, "timeout": 7}, {"If-Match": fields["etag"]})
    assert "secret" not in changed and changed["bot"]["timeout"] == 7 and changed["bot"]["transferKeywords"] == []
    status, fields_, data = gateway.request("PUT", path, admin, {"url": b.url, "timeout": 9}, {"If-Match": fields["etag"]})
    assert changed_fields["etag"] in assert_problem(status, fields_, data, 412)["detail"]
    assert gateway.json("GET", path, reader)[0]["timeout"] == 7

    # The bot decides on a customer message with the secret the API gave; its log is a read.
    send(gateway.smtp_port, "Broken kettle", "kettle-2@customer.test", "It leaks.")
    def decided() -> bool:
        log = gateway.json("GET", "/v1/bot-log?address=support@acme.test", reader)[0]
        return bool(log) and log[0]["state"] == "replied"
    wait_for(decided, message="the bot's reply decided")
    headers, body = b.events[0]
    assert standardwebhooks.Webhook(secret).verify(body, headers)["type"] == "message.received"
    log, _ = gateway.json("GET", "/v1/bot-log?address=support@acme.test&limit=1", reader)
    assert [d["id"] for d in log] == [d["id"] for d in json.loads(cli(data_dir, "bot", "log", "--json", "--limit", "1").stdout)]
    status, fields_, data = gateway.request("GET", "/v1/bot-log?address=nobody@acme.test", reader)
    assert_problem(status, fields_, data, 404)

    renewed, _ = gateway.json("PUT", path, admin, {"url": b.url, "newSecret": True})
    assert renewed["secret"].startswith("whsec_") and renewed["secret"] != secret

    status, fields_, data = gateway.request("DELETE", path, reader)
    assert_problem(status, fields_, data, 403)
    status, fields_, data = gateway.request("DELETE", path, admin, headers={"If-Match": '"stale"'})
    assert_problem(status, fields_, data, 412)
    status, _, _ = gateway.request("DELETE", path, admin)
    assert status == 204
    assert cli(data_dir, "bot", "show", "support@acme.test", check=False).returncode == 1
    status, fields_, data = gateway.request("DELETE", path, admin)
    assert_problem(status, fields_, data, 404)
    actions = audit(data_dir)
    assert actions.count(("token:ops", "bot.set", "support@acme.test")) == 3
    assert ("token:ops", "bot.remove", "support@acme.test") in actions


def test_standard_responses_are_added_replaced_and_removed(gateway: API, data_dir: Path):
    admin, reader = make_token(data_dir, "ops", "admin"), make_token(data_dir, "viewer", "read")
    cli(data_dir, "queue", "add", "billing")
    pdf = b"%PDF-1.4 refund form"
    body = {"name": "refund", "subject": "Your refund", "text": "We have refunded your order.\n",
            "html": "<p>We have refunded your order.</p>", "queue": "billing",
            "attachments": [{"filename": "form.pdf", "content": base64.b64encode(pdf).decode()}]}
    status, fields, data = gateway.request("POST", "/v1/responses", reader, body)
    assert_problem(status, fields, data, 403)
    made, _ = gateway.json("POST", "/v1/responses", admin, body, expect=201)
    assert made["name"] == "refund" and made["queue"] == "billing" and made["attachments"] == ["form.pdf"]
    assert made["folder"] == "Shared/Responses/billing"
    assert json.loads(cli(data_dir, "response", "show", "refund", "--json").stdout)["subject"] == "Your refund"
    message = cli(data_dir, "response", "show", "refund", "--raw").stdout
    assert "application/pdf" in message and base64.b64encode(pdf).decode() in message.replace("\r\n", "")
    status, fields, raw = gateway.request("GET", "/v1/responses/refund/message", reader)
    stored = subprocess.run([str(BIN), "response", "show", "refund", "--raw", "--data", str(data_dir)],
                            capture_output=True, check=True, timeout=60).stdout
    assert status == 200 and fields["content-type"] == "message/rfc822" and raw == stored and b"\r\n" in raw
    assert gateway.json("GET", "/v1/responses/refund", reader)[0] == made
    assert [r["name"] for r in gateway.json("GET", "/v1/responses", reader)[0]["items"]] == ["refund"]

    # The same checks and refusals as `postgate response add`; none saves anything.
    for wrong, expected, reason in [
        ({}, 409, "refund"),
        ({"name": "thanks", "queue": "nowhere"}, 422, "nowhere"),
        ({"name": "-dash"}, 422, "must be a letter or digit"),
        ({"name": "thanks", "subject": "a\nb"}, 400, "body.subject"),
        ({"name": "thanks", "attachments": [{"filename": "../x.pdf", "content": "AAAA"}]}, 400, "filename"),
        ({"name": "thanks", "attachments": [{"filename": "x.pdf", "content": "not base64!"}]}, 400, "content"),
    ]:
        status, fields, data = gateway.request("POST", "/v1/responses", admin, dict(body, **wrong))
        assert reason in assert_problem(status, fields, data, expected)["detail"], (wrong, data)
    assert [r["name"] for r in json.loads(cli(data_dir, "response", "list", "--json").stdout)] == ["refund"]

    replaced, _ = gateway.json("POST", "/v1/responses", admin, dict(body, subject="Your refund is on its way", queue=None,
                                                                     attachments=[], replace=True))
    assert replaced["subject"] == "Your refund is on its way" and replaced["folder"] == "Shared/Responses"
    assert replaced["attachments"] == [] and replaced["createdAt"] == made["createdAt"]

    status, fields, data = gateway.request("DELETE", "/v1/responses/refund", reader)
    assert_problem(status, fields, data, 403)
    status, _, _ = gateway.request("DELETE", "/v1/responses/refund", admin)
    assert status == 204
    assert json.loads(cli(data_dir, "response", "list", "--json").stdout) == []
    for method, path in [("GET", "/v1/responses/refund"), ("DELETE", "/v1/responses/refund"), ("GET", "/v1/responses/refund/message")]:
        status, fields, data = gateway.request(method, path, admin)
        assert_problem(status, fields, data, 404)
    actions = audit(data_dir)
    for action in ["response.add", "response.replace", "response.remove"]:
        assert ("token:ops", action, "refund") in actions


def test_connectors_are_shown_without_secrets_discarded_and_removed(gateway: API, data_dir: Path, tmp_path: Path):
    admin, reader = make_token(data_dir, "ops", "admin"), make_token(data_dir, "viewer", "read")
    password = "Pa55-unique-api-secret-41c7"
    (tmp_path / "password.txt").write_text(password + "\n")
    cli(data_dir, "connector", "set", "support@acme.test", "--receiving", "imap", "--host", "imap.customer.example",
        "--username", "support@customer.example", "--password-file", str(tmp_path / "password.txt"), "--folder", "Support")
    cli(data_dir, "publish", "--comment", "fetch from the customer's mailbox")
    cli(data_dir, "connector", "set", "support@acme.test", "--receiving", "imap", "--poll-interval", "300")

    page, _ = gateway.json("GET", "/v1/connectors", reader)
    [listing] = page["items"]
    assert (listing["address"], listing["direction"], listing["kind"], listing["status"], listing["hasDraft"]) == \
        ("support@acme.test", "receiving", "imap", "Active", True)
    shown, _ = gateway.json("GET", "/v1/addresses/support@acme.test/connectors", reader)
    command = json.loads(cli(data_dir, "connector", "show", "support@acme.test", "--json").stdout)
    receiving = shown["receiving"]
    assert "sending" not in shown and receiving["status"] == "Active"
    assert receiving["published"] == command["receiving"]["published"] and receiving["draft"] == command["receiving"]["draft"]
    assert receiving["published"]["settings"]["folders"] == ["Support"]
    assert receiving["published"]["secrets"]["password"] == "set" and "password" not in receiving["published"]["settings"]
    assert [c["field"] for c in receiving["pending"]] == [c["field"] for c in command["receiving"]["pending"]] != []
    assert password not in json.dumps(shown) + json.dumps(page), "a secret is never exported"

    status, fields, data = gateway.request("DELETE", "/v1/addresses/support@acme.test/connectors/receiving/draft", reader)
    assert_problem(status, fields, data, 403)
    dropped, _ = gateway.json("DELETE", "/v1/addresses/support@acme.test/connectors/receiving/draft", admin)
    assert dropped == {"address": "support@acme.test", "discarded": ["receiving"]}
    assert json.loads(cli(data_dir, "connector", "show", "support@acme.test", "--json").stdout)["receiving"]["draft"] is None
    assert gateway.json("DELETE", "/v1/addresses/support@acme.test/connectors/sending/draft", admin)[0]["discarded"] == []

    for method, path, expected in [
        ("DELETE", "/v1/addresses/support@acme.test/connectors/sending", 404),
        ("DELETE", "/v1/addresses/support@acme.test/connectors/sideways", 400),
        ("GET", "/v1/addresses/nobody@acme.test/connectors", 404),
        ("GET", "/v1/addresses/help@acme.test/connectors", 409),
    ]:
        status, fields, data = gateway.request(method, path, admin)
        assert_problem(status, fields, data, expected)
    status, fields, data = gateway.request("DELETE", "/v1/addresses/support@acme.test/connectors/receiving", reader)
    assert_problem(status, fields, data, 403)
    status, _, _ = gateway.request("DELETE", "/v1/addresses/support@acme.test/connectors/receiving", admin)
    assert status == 204
    assert json.loads(cli(data_dir, "connector", "list", "--json").stdout) == []
    assert gateway.json("GET", "/v1/connectors", reader)[0] == {"items": []}
    actions = audit(data_dir)
    assert ("token:ops", "connector.discard", "support@acme.test") in actions
    assert ("token:ops", "connector.remove", "support@acme.test") in actions
