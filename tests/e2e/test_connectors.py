"""Mailbox connectors end to end through the CLI: `connector set` writes a draft, `show`
says Draft, `publish` makes it Active in `list`, a bad value is one line and changes
nothing, and the password is never in any output, the export or the data directory's
files in clear text."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, cli

ADDRESS = "support@acme.test"
PASSWORD = "Pa55-unique-e2e-secret-7f3a"
REFRESH = "refresh-token-e2e-9c1d"


def js(data: Path, *args: str):
    return json.loads(cli(data, *args, "--json").stdout)


def fails(data: Path, *args: str) -> str:
    proc = cli(data, *args, check=False)
    assert proc.returncode != 0, f"{args} succeeded: {proc.stdout}"
    lines = proc.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("postgate: "), proc.stderr
    return lines[0]


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


def set_imap(data: Path, password_file: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli(data, "connector", "set", ADDRESS, "--receiving", "imap", "--host", "imap.customer.example",
               "--username", "support@customer.example", "--password-file", str(password_file), *extra)


def test_set_show_publish_list(data_dir, password_file):
    outputs = [set_imap(data_dir, password_file, "--folder", "INBOX", "--folder", "Support",
                        "--after-fetch", "move", "--move-to-folder", "Archive", "--skip-time", "22:00-06:00",
                        "--time-zone", "Europe/Berlin", "--max-message-size", "10M", "--poll-interval", "120")]
    shown = js(data_dir, "connector", "show", ADDRESS)
    receiving = shown["receiving"]
    assert receiving["status"] == "Draft" and receiving["published"] is None
    draft = receiving["draft"]
    assert draft["settings"]["host"] == "imap.customer.example"
    assert draft["settings"]["folders"] == ["INBOX", "Support"]
    assert draft["settings"]["maxMessageBytes"] == 10 * 1024 * 1024
    assert draft["settings"]["skipTimes"] == ["22:00-06:00"]
    assert draft["secrets"] == {"password": "set", "oauth.clientSecret": "not set", "oauth.refreshToken": "not set"}
    assert "password" not in draft["settings"]
    assert shown["sending"] is None
    (listing,) = js(data_dir, "connector", "list")
    assert listing["status"] == "Draft" and listing["kind"] == "imap" and listing["direction"] == "receiving"
    assert listing["state"] is None

    pub = js(data_dir, "publish", "--comment", "fetch from the customer's mailbox")
    fields = {c["field"]: c for c in pub["addresses"][0]["changes"]}
    assert fields["receiving.host"]["draft"] == '"imap.customer.example"'
    assert fields["receiving.password"]["draft"] == "(changed)"
    (listing,) = js(data_dir, "connector", "list")
    assert listing["status"] == "Active" and listing["hasDraft"] is False and listing["host"] == "imap.customer.example"
    assert js(data_dir, "connector", "show", ADDRESS)["receiving"]["status"] == "Active"

    # A later edit is a draft beside the active settings; discard drops it.
    cli(data_dir, "connector", "set", ADDRESS, "--receiving", "imap", "--poll-interval", "300")
    shown = js(data_dir, "connector", "show", ADDRESS)["receiving"]
    assert shown["status"] == "Active" and shown["draft"]["settings"]["pollIntervalSeconds"] == 300
    assert [p["field"] for p in shown["pending"]] == ["receiving.pollIntervalSeconds"]
    cli(data_dir, "connector", "discard", ADDRESS)
    assert js(data_dir, "connector", "show", ADDRESS)["receiving"]["draft"] is None

    outputs += [cli(data_dir, "connector", "show", ADDRESS), cli(data_dir, "connector", "list"),
                cli(data_dir, "publish", "--history")]
    text = "".join(p.stdout + p.stderr for p in outputs)
    assert "set" in cli(data_dir, "connector", "show", ADDRESS).stdout
    assert PASSWORD not in text and "aes256gcm:" not in text


def test_sending_gateway_with_password_from_stdin_and_publish_only_gateways(data_dir):
    proc = subprocess.run(
        [str(BIN), "connector", "set", ADDRESS, "--sending", "--host", "smtp.customer.example", "--port", "465",
         "--tls", "implicit", "--username", "support@customer.example", "--password-stdin", "--data", str(data_dir)],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert "draft" in proc.stdout
    assert js(data_dir, "address", "show", ADDRESS)["hasDraft"] is False
    js(data_dir, "publish", "--comment", "send through the customer's server")
    (listing,) = js(data_dir, "connector", "list")
    assert listing["direction"] == "sending" and listing["kind"] == "smtp" and listing["status"] == "Active"
    settings = js(data_dir, "connector", "show", ADDRESS)["sending"]["published"]["settings"]
    assert settings["port"] == 465 and settings["tls"] == "implicit"


def test_key_file_is_private_and_a_readable_one_is_refused(data_dir, password_file):
    set_imap(data_dir, password_file)
    key = data_dir / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.stat().st_size == 32
    key.chmod(0o644)
    line = fails(data_dir, "connector", "set", ADDRESS, "--receiving", "imap", "--password-file", str(password_file))
    assert "chmod 600" in line
    key.chmod(0o600)


@pytest.mark.parametrize("args, needle", [
    (["--port", "70000"], "port"),
    (["--max-tries", "0"], "max tries"),
    (["--cool-off-minutes", "20000"], "cool-off"),
    (["--skip-time", "9-5"], "HH:MM-HH:MM"),
    (["--time-zone", "Nowhere/Town"], "time zone"),
    (["--sync-start-date", "2026-13-01"], "YYYY-MM-DD"),
    (["--tls", "none"], "allow-plaintext"),
    (["--tls", "sometimes"], "sometimes"),
    (["--after-fetch", "move"], "move-to-folder"),
    (["--delete-after-download", "true"], "POP3"),
    (["--poll-interval", "1"], "poll interval"),
    (["--max-message-size", "100"], "max message size"),
    (["--connection-timeout-ms", "10"], "connection timeout"),
    (["--host", "not a host"], "host"),
    (["--ca-file", "/nonexistent/ca.pem"], "CA file"),
    (["--auth", "oauth2", "--oauth-client-id", "c", "--oauth-token-endpoint", "http://login.example/t"], "https"),
    (["--save-to-sent", "true"], "sending gateway option"),
    (["--password", "inline"], "password"),
])
def test_a_bad_value_is_one_line_and_changes_nothing(data_dir, password_file, args, needle):
    set_imap(data_dir, password_file)
    before = js(data_dir, "connector", "show", ADDRESS)
    line = fails(data_dir, "connector", "set", ADDRESS, "--receiving", "imap", *args)
    assert needle in line, line
    assert js(data_dir, "connector", "show", ADDRESS) == before


def test_usage_must_allow_the_direction(data_dir, password_file):
    cli(data_dir, "address", "set", ADDRESS, "--usage", "outbound", "--publish")
    assert "usage" in fails(data_dir, "connector", "set", ADDRESS, "--receiving", "imap", "--host", "imap.customer.example",
                            "--username", "u", "--password-file", str(password_file))
    assert js(data_dir, "connector", "list") == []
    assert "exactly one" in fails(data_dir, "connector", "set", ADDRESS, "--host", "h.example")


def test_remove(data_dir, password_file):
    set_imap(data_dir, password_file)
    cli(data_dir, "publish", "--comment", "on")
    assert "no sending gateway" in fails(data_dir, "connector", "remove", ADDRESS, "--sending")
    cli(data_dir, "connector", "remove", ADDRESS, "--receiving")
    assert js(data_dir, "connector", "list") == []


def test_the_password_is_nowhere_in_clear_text(data_dir, password_file, tmp_path):
    refresh = tmp_path / "refresh.txt"
    refresh.write_text(REFRESH)
    secret = tmp_path / "client-secret.txt"
    secret.write_text(PASSWORD + "-client")
    outputs = [
        set_imap(data_dir, password_file),
        cli(data_dir, "connector", "set", ADDRESS, "--sending", "--host", "smtp.customer.example", "--username", "u",
            "--auth", "oauth2", "--oauth-client-id", "client", "--oauth-client-secret-file", str(secret),
            "--oauth-token-endpoint", "https://login.example/{tenant}/token", "--oauth-tenant", "acme",
            "--oauth-refresh-token-file", str(refresh), "--json"),
        cli(data_dir, "connector", "show", ADDRESS),
        cli(data_dir, "connector", "show", ADDRESS, "--json"),
        cli(data_dir, "connector", "list"),
        cli(data_dir, "connector", "list", "--json"),
        cli(data_dir, "publish", "--comment", "connectors", "--json"),
        cli(data_dir, "publish", "--history", "--json"),
        cli(data_dir, "connector", "show", ADDRESS, "--json"),
        cli(data_dir, "export"),
    ]
    export = json.loads(outputs[-1].stdout)
    (receiving, sending) = export["gateways"]
    assert receiving["receiving"]["host"] == "imap.customer.example" and "password" not in receiving["receiving"]
    assert sending["sending"]["oauth"]["clientID"] == "client" and "refreshToken" not in sending["sending"]["oauth"]
    text = "".join(p.stdout + p.stderr for p in outputs)
    for needle in (PASSWORD, REFRESH, "aes256gcm:"):
        assert needle not in text, needle
    cli(data_dir, "export", "--format", "csv", "--output", str(tmp_path / "csv"))
    files = [p for p in data_dir.rglob("*") if p.is_file()] + list((tmp_path / "csv").iterdir())
    assert any(p.name.startswith("postgate.sqlite") for p in files)
    for path in files:
        content = path.read_bytes()
        for needle in (PASSWORD, REFRESH):
            assert needle.encode() not in content, f"{needle} in clear text in {path}"


def test_help_has_a_discussion():
    for args in (["connector", "--help"], ["connector", "set", "--help"], ["connector", "show", "--help"],
                 ["connector", "list", "--help"], ["connector", "remove", "--help"], ["connector", "discard", "--help"]):
        proc = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "OVERVIEW:" in proc.stdout and len(proc.stdout.split("\n\n")) > 2, args
    proc = subprocess.run([str(BIN), "connector", "set", "--help"], capture_output=True, text=True, timeout=60)
    assert "--password-file" in proc.stdout and "--password-stdin" in proc.stdout
    assert "--password <" not in proc.stdout


def test_the_key_file_path_comes_from_the_config(data_dir, password_file, tmp_path):
    key = tmp_path / "keys" / "connectors.key"
    key.parent.mkdir()
    config = tmp_path / "postgate.yaml"
    config.write_text(f'channels:\n  secret_key_file: "{key}"\n')
    set_imap(data_dir, password_file, "--config", str(config))
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (data_dir / "secret.key").exists()
