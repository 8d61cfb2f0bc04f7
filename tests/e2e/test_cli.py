"""The admin CLI: JSON listings, and bad input gets one `postgate:` line on stderr, a
non-zero exit, and changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, addresses, cli


def listing(data: Path) -> tuple[list, list]:
    return (
        json.loads(cli(data, "domain", "list", "--json").stdout),
        json.loads(cli(data, "address", "list", "--json").stdout),
    )


def assert_one_line_error(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode != 0, f"exit 0 for a bad input; stdout: {proc.stdout}"
    lines = proc.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("postgate:"), f"stderr: {proc.stderr!r}"


def test_json_listings(data_dir):
    domains, addrs = listing(data_dir)
    assert [d["name"] for d in domains] == ["acme.test"], domains
    (a,) = addrs
    assert a["email"] == "support@acme.test"
    assert a["displayName"] == "Acme Support"
    assert a["enabled"] is True
    assert a["aliases"] == ["help@acme.test"]
    assert a["mailboxPath"] == "maildir/acme.test/support"
    assert a["messageCount"] == 0
    assert (data_dir / a["mailboxPath"] / "new").is_dir()
    cli(data_dir, "address", "disable", "support@acme.test", "--publish")
    assert addresses(data_dir)[0]["enabled"] is False
    cli(data_dir, "address", "enable", "support@acme.test", "--publish")
    assert addresses(data_dir)[0]["enabled"] is True


@pytest.mark.parametrize("args", [
    ["address", "add", "support@acme.test"],                        # duplicate address
    ["address", "add", "SUPPORT@ACME.TEST"],                        # duplicate, other case
    ["address", "add", "help@acme.test"],                           # taken by an alias
    ["address", "add", "other@acme.test", "--alias", "support@acme.test"],  # alias taken
    ["address", "add", "someone@unknown.test"],                     # unknown domain
    ["address", "add", "other@acme.test", "--alias", "x@unknown.test"],     # alias in unknown domain
    ["address", "add", "not-an-address"],                           # invalid
    ["address", "add", "a b@acme.test"],
    ["address", "add", "@acme.test"],
    ["address", "add", "user@"],
    ["domain", "add", "acme.test"],                                 # duplicate domain
    ["domain", "add", "not a domain"],
    ["domain", "add", "bad-.test"],
    ["domain", "add", "bad!name.test"],
    ["address", "disable", "nobody@acme.test"],
    ["address", "remove", "nobody@acme.test"],
])
def test_bad_input_one_line_error_nothing_changed(data_dir, args):
    before = listing(data_dir)
    proc = cli(data_dir, *args, check=False)
    assert_one_line_error(proc)
    assert listing(data_dir) == before


def test_unwritable_data_directory(tmp_path, postgate_bin):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    for data in (blocker / "data", blocker):
        proc = cli(data, "domain", "add", "acme.test", check=False)
        assert_one_line_error(proc)
    assert blocker.read_text() == "not a directory\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through directory permissions")
def test_read_only_data_directory(data_dir):
    before = listing(data_dir)
    os.chmod(data_dir, 0o500)
    try:
        proc = cli(data_dir, "address", "add", "new@acme.test", check=False)
        assert_one_line_error(proc)
    finally:
        os.chmod(data_dir, 0o700)
    assert listing(data_dir) == before


def test_serve_with_bad_config_fails_with_one_line(tmp_path, postgate_bin):
    bad = tmp_path / "bad.yaml"
    bad.write_text("smtp:\n  limits:\n    max_message_size: lots\n")
    proc = subprocess.run(
        [str(BIN), "serve", "--config", str(bad), "--data", str(tmp_path / "d"), "--smtp-listen", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0
    assert "max_message_size" in proc.stderr, proc.stderr
