"""Metrics end to end: a real Prometheus scrapes `/metrics` on the gateway's API listener
(over TLS, verified against the gateway's own certificate) while mail arrives over SMTP,
and its query API must return the counts of what the test did; `promtool check metrics`
accepts the exposition."""

from __future__ import annotations

import http.client
import smtplib
import ssl
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import cli, free_port, wait_for
from prometheus import PROMTOOL, Prometheus
from test_imap import SHARED, add_agent, login

MESSAGES = 12


class Gateway:
    def __init__(self, server, api_port: int, cafile: Path):
        self.server = server
        self.api_port = api_port
        self.cafile = cafile

    def metrics(self) -> tuple[int, dict, bytes]:
        context = ssl.create_default_context(cafile=str(self.cafile))
        conn = http.client.HTTPSConnection("127.0.0.1", self.api_port, context=context, timeout=30)
        try:
            conn.request("GET", "/metrics")
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


@pytest.fixture
def gateway(data_dir: Path, spawn, tmp_path: Path) -> Gateway:
    add_agent(data_dir)
    # A receiving connector left a draft: counted, never started.
    password = tmp_path / "password.txt"
    password.write_text("secret\n")
    cli(data_dir, "connector", "set", "support@acme.test", "--receiving", "imap", "--host", "imap.customer.example",
        "--username", "support@customer.example", "--password-file", str(password))
    cli(data_dir, "blocklist", "add", "support@acme.test", "spam.example")
    port = free_port()
    config = tmp_path / "metrics.yaml"
    config.write_text(f"hostname: localhost\napi:\n  listen: [\"127.0.0.1:{port}\"]\n")
    server = spawn(data_dir, config)
    return Gateway(server, port, data_dir / "certs" / "dev-certificate.pem")


@pytest.fixture
def prometheus(gateway: Gateway, tmp_path: Path):
    server = Prometheus(tmp_path / "prometheus", gateway.api_port, gateway.cafile).start()
    yield server
    server.stop()


def send(port: int, number: int) -> None:
    message = (f"From: Carol <carol@example.com>\r\nTo: support@acme.test\r\nSubject: load {number}\r\n"
               f"Message-ID: <load.{number}@example.com>\r\n\r\nMessage {number} of the load.\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("carol@example.com", ["support@acme.test"], message)


def test_prometheus_scrapes_the_counts_of_an_smtp_load(gateway: Gateway, prometheus: Prometheus):
    wait_for(prometheus.targets_up, timeout=60, message=f"Prometheus scrapes the gateway:\n{prometheus.log_text()}")
    port = gateway.server.port
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: send(port, n), range(MESSAGES)))
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("bob@spam.example", ["support@acme.test"], "From: <bob@spam.example>\r\nSubject: Buy now\r\n\r\nSpam.\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.example.com")
        assert smtp.mail("carol@example.com")[0] == 250
        assert smtp.rcpt("nobody@acme.test")[0] == 550
        assert smtp.rcpt("someone@elsewhere.example")[0] == 550
    imap = login(gateway.server)
    assert imap.select(f'"{SHARED}"')[0] == "OK"
    assert imap.fetch("1:*", "(FLAGS)")[0] == "OK"
    imap.logout()

    def equals(expression: str, expected: float):
        def condition() -> bool:
            return prometheus.value(expression) == expected
        wait_for(condition, timeout=60, message=f"{expression} == {expected} (now {prometheus.value(expression)})")

    equals('postgate_smtp_transactions_total{listener="mx",outcome="accepted"}', MESSAGES + 1)
    equals('postgate_smtp_transactions_total{listener="mx",outcome="failed"}', 0)
    equals('postgate_smtp_transaction_duration_seconds_count{listener="mx"}', MESSAGES + 1)
    equals('postgate_smtp_commit_duration_seconds_count{listener="mx"}', MESSAGES + 1)
    equals('postgate_inbound_messages_total{policy="deliver"}', MESSAGES)
    equals('postgate_inbound_messages_total{policy="blocked"}', 1)
    # Ordinary messages reach the agents' queue; blocked mail never does.
    equals('postgate_inbound_queue_routed_total', MESSAGES)
    equals('postgate_smtp_refusals_total{listener="mx",reason="unknown_user"}', 1)
    equals('postgate_smtp_refusals_total{listener="mx",reason="relay"}', 1)
    equals('sum(postgate_smtp_refusals_total{listener="mx"})', 2)
    # Every session the test (and the readiness probe of conftest) opened has closed.
    equals('postgate_smtp_sessions_opened_total{listener="mx"} - postgate_smtp_sessions_closed_total{listener="mx"}', 0)
    assert prometheus.value('postgate_smtp_sessions_opened_total{listener="mx"}') >= MESSAGES + 2
    equals('postgate_imap_command_duration_seconds_count{listener="imap",command="select"}', 1)
    equals('postgate_imap_command_duration_seconds_count{listener="imap",command="fetch"}', 1)
    equals('postgate_imap_connections_opened_total{listener="imap"} - postgate_imap_connections_closed_total{listener="imap"}', 0)
    equals('postgate_outbound_queue_recipients{state="queued"}', 0)
    equals('postgate_outbound_oldest_deferred_age_seconds', 0)
    equals('postgate_connectors{direction="receiving",state="draft"}', 1)
    equals('sum(postgate_connectors)', 1)
    # Carol's messages form one session of the channel-mode address; blocked mail opens none.
    equals('postgate_sessions_opened_total', 1)
    equals('postgate_sessions_closed_total', 0)
    # Deliveries add their copies' bytes to the store's size between full reads.
    wait_for(lambda: (prometheus.value('postgate_store_size_bytes{part="messages"}') or 0) > 0, timeout=60,
             message="the store's message bytes grow with the load")
    assert prometheus.value('postgate_store_size_bytes{part="index"}') > 0
    assert prometheus.value("postgate_store_free_bytes") > 0
    assert prometheus.value("postgate_store_capacity_bytes") >= prometheus.value("postgate_store_free_bytes")


def test_the_exposition_passes_promtool_needs_no_token_and_names_no_customer(gateway: Gateway):
    send(gateway.server.port, 1)
    status, fields, body = gateway.metrics()
    assert status == 200, body
    assert fields["content-type"].startswith("text/plain") and "version=0.0.4" in fields["content-type"], fields
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert checked.returncode == 0, (checked.stdout, checked.stderr)
    text = body.decode()
    assert 'postgate_smtp_transactions_total{listener="mx",outcome="accepted"} 1' in text, text
    # Every reason has its series from the start, at zero until counted.
    for reason in ("relay", "unknown_user", "policy", "size", "smuggling", "tls_required"):
        assert f'postgate_smtp_refusals_total{{listener="mx",reason="{reason}"}} 0' in text, reason
    assert "postgate_sessions_opened_total 1" in text, text
    assert "postgate_sessions_closed_total 0" in text, text
    sizes = {part: float(line.split()[-1]) for line in text.splitlines()
             for part in ("messages", "index") if line.startswith(f'postgate_store_size_bytes{{part="{part}"}} ')}
    assert sizes["messages"] > 0 and sizes["index"] > 0, sizes
    for family in {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}:
        assert f"# HELP {family} " in text, family
    for private in ("acme.test", "carol", "example.com", "customer.example", "127.0.0.1", "support"):
        assert private not in text, private
