"""End-to-end tests of direct MX delivery, delivery status notifications and the delivery
worker under `postgate serve`.

MX and address records come from a dnsmasq each test starts on a free loopback port
(`dns.servers`); the mail exchanger is a real aiosmtpd on loopback (`outbound.mx_port`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import delivered_files, wait_for
from test_dkim import dns_answers, free_udp_port
from test_outbound import enqueue, flush, message_bytes, show, sink, states, write_outbound_config  # noqa: F401

pytest.importorskip("aiosmtpd.controller")
needs_dnsmasq = pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="dnsmasq not installed (scripts/install-deps.sh)")


class MXDNS:
    """dnsmasq answering MX and A records for *.test (other names: NXDOMAIN)."""

    def __init__(self, tmp: Path, mx: list[tuple[str, str, int]], hosts: dict[str, str]):
        self.port = free_udp_port()
        argv = [
            shutil.which("dnsmasq") or "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--no-poll", "--bind-interfaces", "--pid-file=", f"--port={self.port}",
            "--listen-address=127.0.0.1", "--local=/test/", "--log-facility=" + str(tmp / "dnsmasq.log"),
        ]
        argv += [f"--mx-host={domain},{host},{preference}" for domain, host, preference in mx]
        argv += [f"--host-record={name},{address}" for name, address in hosts.items()]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def answers() -> bool:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()
            return dns_answers("127.0.0.1", self.port)

        wait_for(answers, message="dnsmasq does not answer")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def mx_config(path: Path, dns_port: int, mx_port: int) -> Path:
    path.write_text(
        f"dns:\n  servers: [\"127.0.0.1:{dns_port}\"]\n  timeout: 2\n  attempts: 1\n"
        "outbound:\n  tls: none\n"
        f"  mx_port: {mx_port}\n"
        "  retry: {first: 3600, factor: 2, max_interval: 7200, lifetime: 86400}\n"
        "  timeouts: {connect: 5, greeting: 5, command: 5, data_initiation: 5, data_block: 5, data_termination: 5}\n"
        "  poll_interval: 0.2\n"
    )
    return path


def notifications(data: Path) -> list[bytes]:
    return [content for content in (p.read_bytes() for p in delivered_files(data)) if b"multipart/report" in content]


@needs_dnsmasq
def test_mx_by_preference_nxdomain_and_550_notified(data_dir: Path, tmp_path: Path, sink):
    handler, port = sink
    handler.rcpt_script["nobody@example.test"] = ["550 5.1.1 <nobody@example.test>: no such user"]
    # mx0 (preference 5) has no server listening: the client goes on to mx1 (preference 10).
    dns = MXDNS(tmp_path, mx=[("example.test", "mx1.example.test", 10), ("example.test", "mx0.example.test", 5)],
                hosts={"mx1.example.test": "127.0.0.1", "mx0.example.test": "127.0.0.2"})
    try:
        config = mx_config(tmp_path / "c.yaml", dns.port, port)
        mid = enqueue(data_dir, "support@acme.test", ["jane@example.test", "nobody@example.test", "ghost@nx.test"],
                      message_bytes("via-mx"))
        flush(data_dir, config)
    finally:
        dns.stop()
    record = {r["address"]: r for r in show(data_dir, mid)["recipients"]}
    assert record["jane@example.test"]["state"] == "delivered"
    assert record["nobody@example.test"]["state"] == "failed"
    assert record["ghost@nx.test"]["state"] == "failed" and "NXDOMAIN" in record["ghost@nx.test"]["lastReply"]
    assert handler.count(b"Subject: via-mx") == 1 and handler.acknowledged[0][1] == ["jane@example.test"]

    # One notification (RFC 3464) for both failures, in the sender's mailbox; the queued
    # file is gone once it is stored.
    [dsn] = notifications(data_dir)
    assert b"Content-Type: multipart/report; report-type=delivery-status" in dsn
    assert b"Final-Recipient: rfc822; nobody@example.test\r\nAction: failed\r\nStatus: 5.1.1" in dsn
    assert b"Final-Recipient: rfc822; ghost@nx.test\r\nAction: failed" in dsn
    assert b"Subject: via-mx" in dsn and b"last line" not in dsn
    assert not (data_dir / "outbound" / show(data_dir, mid)["filename"]).exists()
    flush(data_dir, config)
    assert len(notifications(data_dir)) == 1, "a failure is notified once"


def test_serve_delivers_and_survives_sigkill_during_delivery(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    config = write_outbound_config(tmp_path / "c.yaml", port)
    handler.data_script = ["250", "hang"]
    first = enqueue(data_dir, "support@acme.test", ["one@example.test"], message_bytes("serve-first"))
    second = enqueue(data_dir, "support@acme.test", ["two@example.test"], message_bytes("serve-second"))
    server = spawn(data_dir, config)
    try:
        assert handler.in_data.wait(30), server.log_text()
        assert states(data_dir, first) == {"one@example.test": "delivered"}
        server.kill9()
    finally:
        handler.release.set()
    server = spawn(data_dir, config, port=server.port)
    wait_for(lambda: states(data_dir, second) == {"two@example.test": "delivered"})
    # Graceful shutdown with the worker running: exit status 0. Counted after it: whatever
    # the worker was going to send is sent by then.
    assert server.stop() == 0, server.log_text()
    assert handler.count(b"Subject: serve-first") == 1 and handler.count(b"Subject: serve-second") == 1
    assert show(data_dir, first)["recipients"][0]["attempts"] == 1, "the first message was tried again"
