"""Custom domains prove ownership by a TXT record at _postgate.DOMAIN (statuses as for DKIM:
Pending, Success, Failed, Temporary Failure), checked against a dnsmasq the test starts
in the loopback-only namespace; and addresses on a custom domain can be enabled only once
its ownership and its DKIM record are verified, with one clear error until then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import cli, closed_udp_port
from test_dkim import dnsmasq, generate, needs_dnsmasq, record_of, verify_now  # noqa: F401  (dnsmasq is a fixture)


def show(data: Path, domain: str) -> dict:
    return json.loads(cli(data, "domain", "show", domain, "--json").stdout)


def verify(data: Path, domain: str, server: str):
    return cli(data, "domain", "verify", domain, "--dns-server", server, "--json", check=False)


@needs_dnsmasq
def test_ownership_is_pending_then_failed_then_success(tmp_path: Path, dnsmasq):
    data = tmp_path / "data"
    cli(data, "domain", "add", "brand.test", "--kind", "advanced")
    shown = show(data, "brand.test")
    ownership = shown["ownership"]
    assert ownership["recordName"] == "_postgate.brand.test" and ownership["status"] == "Pending"
    assert ownership["recordValue"].startswith("postgate-verification=") and len(ownership["recordValue"]) == 22 + 32
    assert shown["requireVerification"] is True
    assert "_postgate.brand.test. IN TXT \"postgate-verification=" in cli(data, "domain", "show", "brand.test").stdout

    empty = dnsmasq({})
    pending = verify(data, "brand.test", empty.server)
    assert pending.returncode == 1 and json.loads(pending.stdout)["status"] == "Pending"
    wrong = dnsmasq({"_postgate.brand.test": ["postgate-verification=someone-else"]})
    failed = verify(data, "brand.test", wrong.server)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["reason"] == f"the TXT record does not hold {ownership['recordValue']}"
    right = dnsmasq({"_postgate.brand.test": ["v=spf1 -all", ownership["recordValue"]]})
    ok = verify(data, "brand.test", right.server)
    assert ok.returncode == 0 and json.loads(ok.stdout)["status"] == "Success"
    listed = json.loads(cli(data, "domain", "list", "--json").stdout)
    assert [(d["name"], d["ownership"]["status"]) for d in listed] == [("brand.test", "Success")]
    # The token stays the same across checks: a published record keeps working.
    assert show(data, "brand.test")["ownership"]["recordValue"] == ownership["recordValue"]


def test_an_unanswering_dns_server_is_a_temporary_failure(tmp_path: Path):
    data = tmp_path / "data"
    cli(data, "domain", "add", "brand.test", "--kind", "standard")
    result = verify(data, "brand.test", f"127.0.0.1:{closed_udp_port()}")
    assert result.returncode == 1 and json.loads(result.stdout)["status"] == "Temporary Failure"


def test_a_hosted_domain_needs_no_ownership_record(data_dir: Path):
    assert show(data_dir, "acme.test")["ownership"] is None
    result = cli(data_dir, "domain", "verify", "acme.test", "--dns-server", "127.0.0.1:9", check=False)
    assert result.returncode == 1
    assert result.stderr == "postgate: acme.test is a hosted domain: it is the gateway's own and needs no ownership record\n"


@needs_dnsmasq
def test_addresses_on_a_custom_domain_are_enabled_only_once_it_is_verified(tmp_path: Path, dnsmasq):
    data = tmp_path / "data"
    cli(data, "domain", "add", "brand.test", "--kind", "advanced")
    refused = cli(data, "address", "add", "hello@brand.test", check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("postgate: hello@brand.test cannot be added enabled: brand.test asks for verification")
    assert "its ownership (Pending" in refused.stderr and "its DKIM record (no key" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert json.loads(cli(data, "address", "list", "--json").stdout) == []

    cli(data, "address", "add", "hello@brand.test", "--disabled")
    key = generate(data, "brand.test", "s1")
    ownership = show(data, "brand.test")["ownership"]
    dns = dnsmasq({**record_of(key), "_postgate.brand.test": [ownership["recordValue"]]})
    blocked = cli(data, "address", "enable", "hello@brand.test", check=False)
    assert blocked.returncode == 1 and "hello@brand.test cannot be enabled" in blocked.stderr
    assert verify_now(data, "brand.test", dns)["status"] == "Success"
    still = cli(data, "address", "enable", "hello@brand.test", check=False)
    assert still.returncode == 1 and "its ownership (Pending" in still.stderr and "DKIM" not in still.stderr
    assert verify(data, "brand.test", dns.server).returncode == 0
    cli(data, "address", "enable", "hello@brand.test", "--publish")
    assert json.loads(cli(data, "address", "show", "hello@brand.test", "--json").stdout)["enabled"] is True

    # The rule can be lifted per domain.
    cli(data, "domain", "add", "other.test", "--kind", "standard")
    cli(data, "domain", "set", "other.test", "--require-verification", "false")
    cli(data, "address", "add", "hi@other.test")
    assert json.loads(cli(data, "address", "show", "hi@other.test", "--json").stdout)["enabled"] is True
