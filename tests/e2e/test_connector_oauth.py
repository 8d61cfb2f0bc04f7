"""Receiving gateways with OAuth 2.0 end to end: a channel address fetches a private Dovecot
mailbox over IMAP and POP3 with an access token (SASL XOAUTH2 or OAUTHBEARER, RFC 7628),
which it obtains from a test authorization server with the stored refresh token (RFC 6749
section 6) and which Dovecot checks by introspection (RFC 7662). The token is reused while
it is valid and refreshed when it expires or is refused; a refused refresh token or an
unavailable token endpoint is a clear error; a rotated refresh token is stored; no secret
is ever shown or logged."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

import dovecot
from conftest import cli, messages, wait_for
from oauth_server import OAuthServer

ADDRESS = "support@acme.test"

needs_dovecot = pytest.mark.skipif(not dovecot.installed(), reason="Dovecot (dovecot-imapd, dovecot-pop3d) is not installed")


@pytest.fixture
def auth():
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(auth):
    server = dovecot.Dovecot(oauth2_introspection_url=auth.introspection_url).start()
    yield server
    server.stop()


@pytest.fixture
def channel(data_dir: Path) -> Path:
    cli(data_dir, "queue", "add", "support")
    cli(data_dir, "address", "set", ADDRESS, "--queue", "support", "--publish")
    return data_dir


def js(data: Path, *args: str):
    return json.loads(cli(data, *args, "--json").stdout)


def message(n: int) -> bytes:
    sender = "customer@example.org"
    return (f"Return-Path: <{sender}>\r\nFrom: Customer <{sender}>\r\nTo: support@their-company.example\r\n"
            f"Subject: Request {n}\r\nMessage-ID: <request-{n}@example.org>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            f"\r\nPlease help.\r\n").encode()


def secret_file(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n")
    os.chmod(path, 0o600)
    return path


def connect(data: Path, tmp_path: Path, mailbox: dovecot.Dovecot, auth: OAuthServer, kind: str, *extra: str,
            mechanism: str = "xoauth2", poll: int = 10) -> None:
    """Connects the address's receiving gateway with OAuth 2.0 and publishes it."""
    port = mailbox.pop3s_port if kind == "pop3" else mailbox.imaps_port
    args = ["connector", "set", ADDRESS, "--receiving", kind, "--host", "127.0.0.1", "--port", str(port),
            "--tls", "implicit", "--ca-file", str(mailbox.cert), "--username", "alice", "--poll-interval", str(poll),
            "--auth", "oauth2", "--oauth-mechanism", mechanism, "--oauth-client-id", auth.client_id,
            "--oauth-client-secret-file", str(secret_file(tmp_path, "client-secret", auth.client_secret)),
            "--oauth-token-endpoint", auth.token_url,
            "--oauth-refresh-token-file", str(secret_file(tmp_path, "refresh-token", auth.refresh_token)),
            "--oauth-scope", auth.scope]
    if kind == "imap":
        args += ["--idle", "false"]
    cli(data, *args, *extra)
    cli(data, "publish", "--comment", "connect the provider mailbox with OAuth 2.0")


def config(tmp_path: Path) -> Path:
    path = tmp_path / "fetch.yaml"
    path.write_text("hostname: postgate.e2e.test\nconnectors:\n  retry_delay: 1\n  reload_interval: 1\n")
    return path


def queue_subjects(data: Path) -> list[str]:
    return sorted(row["subject"] for row in messages(data, "queues/support"))


def gateway_state(data: Path) -> dict:
    """The live state of the address's receiving gateway; empty before its first attempt."""
    (entry,) = [g for g in js(data, "connector", "list") if g["address"] == ADDRESS and g["direction"] == "receiving"]
    return entry["state"] or {}


def assert_no_secrets(data: Path, server, auth: OAuthServer) -> None:
    """Neither the client secret nor any refresh or access token is in the server's log or in
    what `connector show` and `connector list` print."""
    outputs = [server.log.read_text(errors="replace"),
               cli(data, "connector", "show", ADDRESS).stdout, cli(data, "connector", "show", ADDRESS, "--json").stdout,
               cli(data, "connector", "list").stdout, cli(data, "connector", "list", "--json").stdout]
    for secret in auth.issued_secrets():
        for output in outputs:
            assert secret not in output


# --------------------------------------------------------------------------- fetching


@needs_dovecot
@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_imap_gateway_fetches_with_an_access_token(channel, tmp_path, mailbox, auth, spawn, mechanism):
    for n in (1, 2):
        mailbox.add_message(message(n))
    connect(channel, tmp_path, mailbox, auth, "imap", mechanism=mechanism)
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: queue_subjects(channel) == ["Request 1", "Request 2"], message="two fetched messages in the queue")
    wait_for(lambda: gateway_state(channel).get("state") == "idle", message="the pass finished")
    state = gateway_state(channel)
    assert state["fetched"] == 2 and not state.get("lastError"), state
    assert auth.successful_token_requests() == 1
    # Dovecot let the gateway in because the token was active at introspection.
    assert auth.introspected(active=True) >= 1 and auth.introspected(active=False) == 0
    # Dovecot logs each login with its SASL mechanism.
    assert f"method={mechanism.upper()}" in mailbox.log()
    assert_no_secrets(channel, server, auth)


@needs_dovecot
def test_pop3_gateway_fetches_with_xoauth2(channel, tmp_path, mailbox, auth, spawn):
    for n in (1, 2, 3):
        mailbox.add_message(message(n))
    connect(channel, tmp_path, mailbox, auth, "pop3", mechanism="xoauth2")
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, message="three fetched messages in the queue")
    assert queue_subjects(channel) == ["Request 1", "Request 2", "Request 3"]
    stored = messages(channel, "queues/support")
    assert len(stored) == 3
    wait_for(lambda: gateway_state(channel).get("fetched") == 3, message="the pass recorded")
    assert auth.successful_token_requests() == 1 and auth.introspected(active=True) >= 1
    assert_no_secrets(channel, server, auth)


# --------------------------------------------------------------------------- token lifetime


@needs_dovecot
def test_token_is_reused_while_valid(channel, tmp_path, mailbox, auth, spawn):
    auth.lifetime = 3600
    connect(channel, tmp_path, mailbox, auth, "imap")
    spawn(channel, config(tmp_path))
    # Three passes, each started by the poll interval: one token serves them all.
    for n in (1, 2, 3):
        mailbox.add_message(message(n))
        wait_for(lambda: len(queue_subjects(channel)) == n, timeout=60, message=f"message {n} fetched")
    assert auth.token_request_count() == 1
    assert auth.introspected(active=True) >= 3 and len(auth.access_tokens) == 1


@needs_dovecot
def test_token_is_refreshed_when_it_expires(channel, tmp_path, mailbox, auth, spawn):
    # Tokens live 2 s, less than the 10 s between polls: each pass finds its token expired
    # and refreshes it first, so Dovecot never sees an expired one.
    auth.lifetime = 2
    connect(channel, tmp_path, mailbox, auth, "imap")
    spawn(channel, config(tmp_path))
    for n in (1, 2):
        mailbox.add_message(message(n))
        wait_for(lambda: len(queue_subjects(channel)) == n, timeout=60, message=f"message {n} fetched")
    assert auth.successful_token_requests() == 2 and len(auth.access_tokens) == 2
    assert auth.introspected(active=False) == 0
    assert not gateway_state(channel).get("lastError")


@needs_dovecot
def test_revoked_token_is_replaced_on_the_next_attempt(channel, tmp_path, mailbox, auth, spawn):
    mailbox.add_message(message(1))
    connect(channel, tmp_path, mailbox, auth, "imap")
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 1, message="the first message fetched")
    assert auth.token_request_count() == 1
    # Revoked at the authorization server before it expires (RFC 7009): Dovecot refuses it,
    # and the gateway asks for a new one on its next attempt.
    auth.revoke_access_tokens()
    mailbox.add_message(message(2))
    wait_for(lambda: len(queue_subjects(channel)) == 2, timeout=60, message="the second message fetched with a new token")
    assert auth.introspected(active=False) >= 1
    assert auth.successful_token_requests() == 2
    wait_for(lambda: not gateway_state(channel).get("lastError"), message="the error cleared after the next pass")


# --------------------------------------------------------------------------- token endpoint errors


@needs_dovecot
def test_refused_refresh_token_says_reauthorize_then_cools_off(channel, tmp_path, mailbox, auth, spawn):
    auth.fail_with = "invalid_grant"
    mailbox.add_message(message(1))
    connect(channel, tmp_path, mailbox, auth, "imap", "--max-tries", "2", "--cool-off-minutes", "5")
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: gateway_state(channel).get("state") == "cooling-off", timeout=60, message="cooling off after two refusals")
    state = gateway_state(channel)
    error = state["lastError"]
    assert "refresh token was refused" in error and "invalid_grant" in error and "reauthorize" in error, state
    assert state["tries"] == 2 and state["coolingUntil"]
    # A refusal is not remembered as a token: each attempt asked the endpoint again.
    assert auth.token_request_count() == 2
    assert auth.introspected() == 0 and queue_subjects(channel) == []
    assert_no_secrets(channel, server, auth)


@needs_dovecot
def test_unavailable_token_endpoint_is_temporary_and_recovers(channel, tmp_path, mailbox, auth, spawn):
    auth.fail_with = 500
    mailbox.add_message(message(1))
    connect(channel, tmp_path, mailbox, auth, "imap", "--max-tries", "10")
    spawn(channel, config(tmp_path))
    wait_for(lambda: auth.token_request_count() >= 2, timeout=60, message="two attempts")
    wait_for(lambda: gateway_state(channel).get("state") == "failing", message="failing between attempts")
    state = gateway_state(channel)
    assert "token endpoint unavailable" in state["lastError"] and "HTTP 500" in state["lastError"], state
    assert "temporary" in state["lastError"], state
    auth.fail_with = None
    wait_for(lambda: len(queue_subjects(channel)) == 1, timeout=60, message="fetched once the endpoint answers again")
    wait_for(lambda: not gateway_state(channel).get("lastError"), message="the error cleared")


# --------------------------------------------------------------------------- rotation


@needs_dovecot
def test_rotated_refresh_token_is_stored_and_used_after_restart(channel, tmp_path, mailbox, auth, spawn):
    auth.rotate = True
    auth.lifetime = 3600
    first = auth.refresh_token
    mailbox.add_message(message(1))
    connect(channel, tmp_path, mailbox, auth, "imap")
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 1, message="the first message fetched")
    assert auth.refresh_tokens_used == [first]
    second = auth.refresh_token
    assert second != first and auth.refresh_tokens[first] is False
    # Storing the new token changes nothing else: the next passes reuse the access token
    # instead of asking (and rotating) again.
    mailbox.add_message(message(2))
    wait_for(lambda: len(queue_subjects(channel)) == 2, timeout=60, message="the second message fetched")
    assert auth.token_request_count() == 1
    assert_no_secrets(channel, server, auth)

    # A new process has no cached token: it refreshes with the stored (rotated) refresh
    # token, since the first one is revoked.
    server.stop()
    mailbox.add_message(message(3))
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, timeout=60, message="the third message fetched after a restart")
    assert auth.refresh_tokens_used == [first, second]
    assert [r.status for r in auth.token_requests] == [200, 200]
    assert not gateway_state(channel).get("lastError")
    assert_no_secrets(channel, server, auth)


# --------------------------------------------------------------------------- the test server itself


def post(url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=urlencode(form).encode(), headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_test_server_grants_refreshes_and_introspects(auth):
    grant = {"grant_type": "refresh_token", "refresh_token": auth.refresh_token}
    # Client credentials in the body (RFC 6749 section 2.3.1).
    status, body = post(auth.token_url, {**grant, "client_id": auth.client_id, "client_secret": auth.client_secret})
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600, body
    # Or with HTTP Basic.
    basic = base64.b64encode(f"{auth.client_id}:{auth.client_secret}".encode()).decode()
    status, second = post(auth.token_url, grant, {"Authorization": "Basic " + basic})
    assert status == 200 and second["access_token"] != body["access_token"]
    assert [r.client_authentication for r in auth.token_requests] == ["body", "basic"]
    assert post(auth.token_url, {**grant, "client_id": auth.client_id, "client_secret": "wrong"}) == \
        (400, {"error": "invalid_client", "error_description": "unknown client or wrong secret"})
    status, active = post(auth.introspection_url, {"token": body["access_token"]})
    assert active["active"] is True and active["username"] == "alice" and active["exp"] > 0
    auth.revoke_access_tokens()
    assert post(auth.introspection_url, {"token": body["access_token"]}) == (200, {"active": False})
    assert post(auth.introspection_url, {"token": "unknown"}) == (200, {"active": False})


def test_test_server_rotates_and_fails_on_demand(auth):
    auth.rotate = True
    first = auth.refresh_token
    client = {"client_id": auth.client_id, "client_secret": auth.client_secret, "grant_type": "refresh_token"}
    status, body = post(auth.token_url, {**client, "refresh_token": first})
    assert status == 200 and body["refresh_token"] == auth.refresh_token != first
    # The old refresh token stops working (RFC 6749 section 6).
    status, body = post(auth.token_url, {**client, "refresh_token": first})
    assert status == 400 and body["error"] == "invalid_grant"
    auth.fail_with = 500
    assert post(auth.token_url, {**client, "refresh_token": auth.refresh_token})[0] == 500
    auth.fail_with = "invalid_grant"
    assert post(auth.token_url, {**client, "refresh_token": auth.refresh_token})[1]["error"] == "invalid_grant"
    auth.fail_with = None
    status, body = post(auth.token_url, {**client, "refresh_token": auth.refresh_token})
    assert status == 200
    auth.expire_access_tokens()
    assert post(auth.introspection_url, {"token": body["access_token"]})[1] == {"active": False}
    assert auth.token_request_count() == 5
