"""The gateway reaches no address but loopback in the test setup: a server with a hosted
domain, started by the fixtures, runs under `strace -f -e trace=connect` through its start
(the DKIM recheck of the hosted domain), a delivery, an IMAP session and a reply delivered
to a next hop; every socket it connects goes to 127.0.0.0/8 or ::1.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from conftest import cli, wait_for
from test_imap import add_agent, login
from test_outbound import sink, write_outbound_config  # noqa: F401
from test_replies import agent_reply, customer_writes, submit_by_smtp

STRACE = shutil.which("strace")

CONNECT = re.compile(r"connect\(\d+, \{sa_family=(AF_[A-Z0-9]+)(.*?)\}, \d+\)")
INET = re.compile(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
INET6 = re.compile(r'sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')


def connects(trace: Path) -> list[tuple[str, str, int]]:
    """(family, address, port) of every connect(2) in an strace log; address and port are
    empty for the families without them (AF_UNIX, AF_NETLINK, AF_UNSPEC)."""
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        m = CONNECT.search(line)
        if not m:
            continue
        family, rest = m.group(1), m.group(2)
        inet = INET.search(rest) if family == "AF_INET" else INET6.search(rest) if family == "AF_INET6" else None
        if family in ("AF_INET", "AF_INET6"):
            assert inet is not None, f"unparsed connect: {line}"
            found.append((family, inet.group(2), int(inet.group(1))))
        else:
            found.append((family, "", 0))
    return found


def off_loopback(calls: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    bad = []
    for family, address, port in calls:
        if family not in ("AF_INET", "AF_INET6"):
            continue
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_loopback:
            bad.append((family, address, port))
    return bad


def test_off_loopback_detects_other_addresses():
    calls = [("AF_INET", "127.0.0.1", 53), ("AF_INET6", "::1", 53), ("AF_UNIX", "", 0),
             ("AF_INET", "10.0.0.2", 53), ("AF_INET6", "::ffff:192.0.2.1", 25), ("AF_INET6", "2001:db8::1", 53)]
    assert off_loopback(calls) == [("AF_INET", "10.0.0.2", 53), ("AF_INET6", "::ffff:192.0.2.1", 25),
                                   ("AF_INET6", "2001:db8::1", 53)]


@pytest.mark.skipif(STRACE is None, reason="strace not installed (scripts/install-deps.sh)")
def test_server_connects_to_loopback_only(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, sink_port = sink
    add_agent(data_dir)
    trace = tmp_path / "connect.trace"
    config = write_outbound_config(tmp_path / "c.yaml", sink_port)
    server = spawn(data_dir, config, wrapper=[STRACE, "-f", "-qq", "-e", "trace=connect", "-e", "signal=none",
                                              "-o", str(trace)])
    dns_port = int(re.search(r'dns:\n  servers: \["127\.0\.0\.1:(\d+)"\]', server.config.read_text()).group(1))

    # Start: the hosted domain's DKIM record is rechecked through the configured resolver.
    wait_for(lambda: any(port == dns_port for _, _, port in connects(trace)))

    # A delivery, an IMAP session, and a reply delivered to the next hop.
    customer_writes(server.port, "<iso-1@example.test>", "where is my order")
    imap = login(server)
    imap.select('"Shared/support@acme.test"')
    _, fetched = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert b"<iso-1@example.test>" in fetched[0][1]
    imap.logout()
    submit_by_smtp(server, agent_reply("<iso-1@example.test>"), "jane@example.test")
    wait_for(lambda: len(handler.acknowledged) == 1)
    # strace does not pass SIGTERM on: stop the traced server itself; strace exits with its status.
    (traced,) = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    os.kill(int(traced), signal.SIGTERM)
    assert server.wait(30) == 0
    assert cli(data_dir, "check").returncode == 0

    calls = connects(trace)
    assert ("AF_INET", "127.0.0.1", sink_port) in calls  # the trace saw the reply's delivery
    assert off_loopback(calls) == []
