"""DKIM end to end (RFC 6376, RFC 8463): keys made and imported by the CLI, messages signed by
Postgate verified by dkimpy and OpenDKIM, messages signed by dkimpy verified by Postgate
(Authentication-Results on the stored message), and every verification status driven by
the records of a dnsmasq each test starts on a free loopback port."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import smtplib
import socket
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN, cli, free_port, message_file, messages, wait_for

TOOL = Path(__file__).with_name("dkim_tool.py")
SYSTEM_PYTHON = "/usr/bin/python3"

MESSAGE = (
    "From: Acme Support <support@acme.test>\r\n"
    "To: Customer <customer@example.test>\r\n"
    "Subject:  Re: your   order\r\n\tnumber 42\r\n"
    "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
    "Message-ID: <reply-1@acme.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello,  \r\n\r\nyour order ships today.\t\r\n\r\n\r\n"
).encode()

def _have_dkimpy() -> bool:
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import dkim, dns.resolver, nacl"], capture_output=True).returncode == 0
    except OSError:
        return False


needs_dnsmasq = pytest.mark.skipif(
    shutil.which("dnsmasq") is None or not _have_dkimpy(),
    reason="dnsmasq or dkimpy (python3-dkim, python3-nacl) not installed (scripts/install-deps.sh)")


class DNSMasq:
    """A dnsmasq serving only the TXT records given, authoritative-like for *.test
    (unknown names get NXDOMAIN), on address:port. Restarted to change records."""

    def __init__(self, tmp: Path, address: str = "127.0.0.1", port: int | None = None):
        self.address = address
        self.port = port or free_udp_port(address)
        self.log = tmp / f"dnsmasq-{address}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def server(self) -> str:
        return f"{self.address}:{self.port}"

    def start(self, records: dict[str, list[str]] | None = None) -> "DNSMasq":
        self.stop()
        argv = [
            shutil.which("dnsmasq") or "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
            "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces", "--pid-file=",
            f"--port={self.port}", f"--listen-address={self.address}", "--local=/test/",
            "--log-facility=" + str(self.log),
        ]
        for name, values in (records or {}).items():
            for value in values:
                parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
                argv.append(f"--txt-record={name}," + ",".join(parts))  # no commas in DKIM values
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def answers() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"dnsmasq exited: {self.proc.stderr.read().decode()}")
            return dns_answers(self.address, self.port)

        wait_for(answers, message="dnsmasq does not answer")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def free_udp_port(address: str = "127.0.0.1") -> int:
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((address, port))
                return port
            except OSError:
                continue


def dns_answers(address: str, port: int) -> bool:
    """Whether a DNS server answers an A query for ready.test (any answer)."""
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\x05ready\x04test\x00" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(query, (address, port))
            return s.recv(512)[:2] == b"\x42\x42"
        except OSError:
            return False


@pytest.fixture
def dnsmasq(tmp_path):
    started: list[DNSMasq] = []

    def _start(records=None, address="127.0.0.1", port=None) -> DNSMasq:
        server = DNSMasq(tmp_path, address, port).start(records)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


def generate(data: Path, domain: str, selector: str, *extra: str) -> dict:
    return json.loads(cli(data, "dkim", "generate", domain, "--selector", selector, *extra, "--json").stdout)


def record_of(entry: dict) -> dict[str, list[str]]:
    return {entry["recordName"]: ["".join(entry["txtStrings"])]}


def dkimpy_verify(message: bytes, dns: DNSMasq) -> subprocess.CompletedProcess:
    return subprocess.run([SYSTEM_PYTHON, str(TOOL), "verify", "--dns", dns.server], input=message, capture_output=True, timeout=60)


def opendkim_verify(message: bytes, dns_address: str, tmp: Path) -> subprocess.CompletedProcess:
    """opendkim-testmsg asks the system resolver (port 53 only): it runs in a private mount
    namespace whose /etc/resolv.conf names the loopback address of the test's dnsmasq."""
    resolv = tmp / "resolv.conf"
    resolv.write_text(f"nameserver {dns_address}\noptions timeout:2 attempts:1\n")
    script = f'mount --bind "{resolv}" /etc/resolv.conf && exec opendkim-testmsg'
    return subprocess.run(["unshare", "--mount", "sh", "-c", script], input=message, capture_output=True, timeout=60)


def status(data: Path, domain: str) -> list[dict]:
    return json.loads(cli(data, "dkim", "show", domain, "--json").stdout)


def verify_now(data: Path, domain: str, dns: DNSMasq) -> dict:
    (entry,) = json.loads(cli(data, "dkim", "verify", domain, "--dns-server", dns.server, "--json").stdout)
    return entry


# --------------------------------------------------------------------------- keys


def test_generate_import_show_rotate(data_dir, tmp_path):
    entry = generate(data_dir, "acme.test", "s1")
    assert entry["recordName"] == "s1._domainkey.acme.test"
    assert entry["algorithm"] == "rsa-sha256" and entry["status"] == "Pending"
    assert all(len(s) <= 255 for s in entry["txtStrings"]) and len(entry["txtStrings"]) == 2
    assert "".join(entry["txtStrings"]) == entry["publicRecord"]
    assert entry["publicRecord"].startswith("v=DKIM1; k=rsa; p=MIIBIjAN")
    key = data_dir / entry["keyPath"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")

    human = cli(data_dir, "dkim", "show", "acme.test").stdout
    assert 's1._domainkey.acme.test. IN TXT ( "v=DKIM1; k=rsa; p=' in human and "Pending" in human
    (domain,) = json.loads(cli(data_dir, "domain", "list", "--json").stdout)
    assert domain["dkimStatus"] == "Pending"
    assert "Pending" in cli(data_dir, "domain", "list").stdout

    rotated = json.loads(cli(data_dir, "dkim", "rotate", "acme.test", "--selector", "s2", "--json").stdout)
    assert rotated["algorithm"] == "rsa-sha256"
    assert [k["selector"] for k in status(data_dir, "acme.test")] == ["s1", "s2"]

    ed = generate(data_dir, "acme.test", "ed1", "--algorithm", "ed25519")
    assert ed["publicRecord"].startswith("v=DKIM1; k=ed25519; p=") and len(ed["txtStrings"]) == 1

    cli(data_dir, "domain", "add", "bücher.test")
    idn = generate(data_dir, "bücher.test", "s1", "--bits", "1024")
    assert idn["recordName"] == "s1._domainkey.xn--bcher-kva.test"

    pkcs1 = tmp_path / "pkcs1.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(pkcs1), "1024"], check=True, capture_output=True)
    imported = json.loads(cli(data_dir, "dkim", "import", "acme.test", "--selector", "imp", "--key", str(pkcs1), "--json").stdout)
    assert imported["algorithm"] == "rsa-sha256"


@pytest.mark.parametrize("make, reason", [
    (["openssl", "genrsa", "-traditional", "-out", "{out}", "512"], "the RSA key has 512 bits; DKIM keys must have 1024 to 2048 bits"),
    (["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096", "-out", "{out}"], "the RSA key has 4096 bits"),
    (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "{out}"], "EC (ECDSA) keys are not supported"),
    (["sh", "-c", "echo not a key > {out}"], "not a PEM private key"),
])
def test_import_errors_name_what_is_wrong(data_dir, tmp_path, make, reason):
    out = tmp_path / "key.pem"
    subprocess.run([a.replace("{out}", str(out)) for a in make], check=True, capture_output=True)
    proc = cli(data_dir, "dkim", "import", "acme.test", "--selector", "bad", "--key", str(out), check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("postgate: ") and reason in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert json.loads(cli(data_dir, "dkim", "show", "--json").stdout) == []


@pytest.mark.parametrize("args, reason", [
    (["generate", "acme.test", "--selector", "../x"], "not a valid selector"),
    (["generate", "unknown.test", "--selector", "s1"], "not hosted"),
    (["generate", "acme.test", "--selector", "s1", "--bits", "4096"], "choose 1024 or 2048"),
    (["generate", "acme.test", "--selector", "s1", "--algorithm", "dsa"], "not rsa or ed25519"),
    (["verify", "acme.test"], "has no DKIM key"),
    (["sign", "acme.test"], "has no DKIM key"),
])
def test_cli_errors(data_dir, args, reason):
    proc = cli(data_dir, "dkim", *args, check=False)
    assert proc.returncode == 1 and reason in proc.stderr and proc.stderr.startswith("postgate: "), proc.stderr


# --------------------------------------------------------------------------- signing


@needs_dnsmasq
@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
@pytest.mark.parametrize("canon", ["relaxed/relaxed", "simple/simple"])
def test_postgate_signatures_verify_with_dkimpy_and_opendkim(data_dir, dnsmasq, tmp_path, algorithm, canon):
    entry = generate(data_dir, "acme.test", "pg", "--algorithm", algorithm)
    dns = dnsmasq(record_of(entry))
    signed = subprocess.run([str(BIN), "dkim", "sign", "acme.test", "--canonicalization", canon, "--data", str(data_dir)],
                            input=MESSAGE, capture_output=True, timeout=60, check=True).stdout
    assert signed.startswith(b"DKIM-Signature: v=1; a=" + (b"rsa-sha256" if algorithm == "rsa" else b"ed25519-sha256"))
    assert signed.endswith(MESSAGE) and b"h=from:from:" in signed and b" l=" not in signed
    ok = dkimpy_verify(signed, dns)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    tampered = signed.replace(b"ships today", b"ships never")
    assert dkimpy_verify(tampered, dns).returncode == 1

    if os.geteuid() != 0 or shutil.which("opendkim-testmsg") is None or shutil.which("unshare") is None:
        pytest.skip("OpenDKIM check needs root (a mount namespace for its resolv.conf) and opendkim-tools")
    address = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"
    dnsmasq(record_of(entry), address=address, port=53)
    opendkim = opendkim_verify(signed, address, tmp_path)
    assert opendkim.returncode == 0 and opendkim.stdout == b"" and opendkim.stderr == b"", opendkim
    bad = opendkim_verify(tampered, address, tmp_path)
    assert bad.returncode != 0, bad


# --------------------------------------------------------------------------- inbound


def dkimpy_key(tmp: Path, algorithm: str) -> tuple[Path, str]:
    """A key for dkimpy and its DNS record: RSA 2048 PEM, or an Ed25519 seed (base64)."""
    code = (
        "import base64, sys, dkim\n"
        "from nacl.signing import SigningKey\n"
        "if sys.argv[1] == 'ed25519-sha256':\n"
        "    k = SigningKey.generate()\n"
        "    print(base64.b64encode(bytes(k)).decode()); print('v=DKIM1; k=ed25519; p=' + base64.b64encode(bytes(k.verify_key)).decode())\n"
        "else:\n"
        "    import subprocess\n"
        "    pem = subprocess.run(['openssl', 'genrsa', '-traditional', '2048'], capture_output=True, check=True).stdout\n"
        "    pub = subprocess.run(['openssl', 'rsa', '-pubout', '-outform', 'DER'], input=pem, capture_output=True, check=True).stdout\n"
        "    print(pem.decode().strip().replace('\\n', '|')); print('v=DKIM1; k=rsa; p=' + base64.b64encode(pub).decode())\n"
    )
    out = subprocess.run([SYSTEM_PYTHON, "-c", code, algorithm], capture_output=True, text=True, check=True).stdout.splitlines()
    key = tmp / f"{algorithm}.key"
    key.write_text(out[0].replace("|", "\n") + "\n")
    return key, out[1]


def dkimpy_sign(message: bytes, key: Path, algorithm: str, domain="sender.test", selector="py", headers: str | None = None) -> bytes:
    fields = ["--headers", headers] if headers else []
    return subprocess.run(
        [SYSTEM_PYTHON, str(TOOL), "sign", "--domain", domain, "--selector", selector, "--key", str(key), "--algorithm", algorithm,
         *fields],
        input=message, capture_output=True, timeout=60, check=True).stdout


def inbound_config(path: Path, dns: str) -> Path:
    path.write_text(
        "hostname: postgate.e2e.test\n"
        f"dns:\n  servers: [\"{dns}\"]\n  timeout: 1\n  attempts: 1\n"
    )
    return path


def deliver(server, message: bytes) -> bytes:
    """Sends `message` to support@acme.test and returns the stored file's content."""
    before = len(messages(server.data))
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        smtp.sendmail("someone@sender.test", ["support@acme.test"], message)
    rows = messages(server.data)
    assert len(rows) == before + 1, "the message was not stored once"
    return message_file(server.data, rows[-1]).read_bytes()


def authentication_results(stored: bytes) -> str:
    """The Authentication-Results field, unfolded: right below Return-Path and Received."""
    assert stored.startswith(b"Return-Path: "), stored[:300]
    start = stored.index(b"\r\nAuthentication-Results: postgate.e2e.test;") + 2
    assert b"\r\nReceived: " in stored[:start] and stored.count(b"Authentication-Results:") == 1
    end = start
    while True:
        end = stored.index(b"\r\n", end) + 2
        if stored[end:end + 1] not in (b" ", b"\t"):
            break
    return " ".join(stored[start:end].decode().split())


@needs_dnsmasq
@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_dkimpy_signatures_verify_in_postgate(data_dir, dnsmasq, spawn, tmp_path, algorithm):
    key, record = dkimpy_key(tmp_path, algorithm)
    dns = dnsmasq({"py._domainkey.sender.test": [record]})
    server = spawn(data_dir, inbound_config(tmp_path / "config.yaml", dns.server))
    message = MESSAGE.replace(b"support@acme.test>", b"someone@sender.test>", 1)

    # Each delivery has its own Message-ID: the store keeps one copy of a message that
    # arrives twice (duplicate detection), so a resent message would not be stored again.
    def variant(n: int, body: bytes = message) -> bytes:
        return body.replace(b"<reply-1@acme.test>", f"<reply-1-{n}@acme.test>".encode(), 1)

    signed = dkimpy_sign(variant(1), key, algorithm)
    stored = deliver(server, signed)
    assert "dkim=pass header.d=sender.test header.s=py" in authentication_results(stored)
    assert stored.endswith(signed)

    tampered = dkimpy_sign(variant(2), key, algorithm).replace(b"ships today", b"ships never")
    assert 'dkim=fail reason="body hash did not verify"' in authentication_results(deliver(server, tampered))
    header_changed = dkimpy_sign(variant(3), key, algorithm).replace(b"number 42", b"number 43")
    assert 'dkim=fail reason="signature did not verify"' in authentication_results(deliver(server, header_changed))
    assert "dkim=none" in authentication_results(deliver(server, variant(4)))
    unknown = dkimpy_sign(variant(5), key, algorithm, selector="gone")
    assert 'dkim=permerror reason="no key for signature"' in authentication_results(deliver(server, unknown))

    # Larger than the 256 KiB the writer keeps in memory: the spool file gets the field.
    big = variant(6).replace(b"Hello,", b"Hello,\r\n" + b"0123456789abcdef" * 4 * 1024 * 20 + b"\r\n")
    big = big.replace(b"0123456789abcdef" * 4, b"0123456789abcdef" * 4 + b"\r\n")
    big_signed = dkimpy_sign(big, key, algorithm)
    stored = deliver(server, big_signed)
    assert "dkim=pass" in authentication_results(stored) and stored.endswith(big_signed)

    late = dkimpy_sign(variant(7), key, algorithm)
    dns.stop()
    assert 'dkim=temperror reason="key lookup failed' in authentication_results(deliver(server, late))


# --------------------------------------------------------------------------- statuses


@needs_dnsmasq
def test_status_transitions_follow_the_dns_records(data_dir, dnsmasq):
    entry = generate(data_dir, "acme.test", "s1")
    name = entry["recordName"]
    dns = dnsmasq({})
    assert verify_now(data_dir, "acme.test", dns)["status"] == "Pending"

    other = generate(data_dir, "acme.test", "other", "--bits", "1024")
    dns.start({name: [other["publicRecord"]]})
    proc = cli(data_dir, "dkim", "verify", "acme.test", "--selector", "s1", "--dns-server", dns.server, "--json")
    (checked,) = json.loads(proc.stdout)
    assert checked["status"] == "Failed" and checked["statusReason"] == "the record's p= is not this key"
    assert checked.get("nextCheckAt") is not None  # still within 72 hours: re-checked

    dns.start({name: ["v=DKIM1; k=rsa; p=not*base64"]})
    (checked,) = json.loads(cli(data_dir, "dkim", "verify", "acme.test", "--selector", "s1", "--dns-server", dns.server, "--json").stdout)
    assert checked["status"] == "Failed" and "p= is not base64" in checked["statusReason"]

    dns.stop()
    (checked,) = json.loads(cli(data_dir, "dkim", "verify", "acme.test", "--selector", "s1", "--dns-server", dns.server, "--json").stdout)
    assert checked["status"] == "Temporary Failure" and "DNS" in checked["statusReason"]

    # The right record beside a large unrelated one: the answer exceeds 512 bytes, so the
    # resolver must retry over TCP (TC bit) to see it.
    dns.start({name: ["unrelated " + "x" * 400, entry["publicRecord"]]})
    (checked,) = json.loads(cli(data_dir, "dkim", "verify", "acme.test", "--selector", "s1", "--dns-server", dns.server, "--json").stdout)
    assert checked["status"] == "Success" and checked.get("nextCheckAt") is None
    assert checked["checkCount"] == 5
    listed = {d["name"]: d["dkimStatus"] for d in json.loads(cli(data_dir, "domain", "list", "--json").stdout)}
    assert listed["acme.test"] == "Success"  # a verified key signs, so the domain shows it


@needs_dnsmasq
def test_server_rechecks_until_success_and_applies_the_window(data_dir, dnsmasq, spawn, tmp_path):
    cli(data_dir, "domain", "add", "late.test")
    dns = dnsmasq({})
    config = tmp_path / "config.yaml"
    config.write_text(
        "hostname: postgate.e2e.test\n"
        f"dns:\n  servers: [\"{dns.server}\"]\n  timeout: 1\n  attempts: 1\n"
        "dkim:\n  verification_window: 8\n  recheck_initial_interval: 1\n  recheck_max_interval: 1\n  recheck_poll_interval: 1\n"
    )
    acme = generate(data_dir, "acme.test", "s1", "--algorithm", "ed25519")
    generate(data_dir, "late.test", "s1", "--algorithm", "ed25519")
    spawn(data_dir, config)

    def checked(domain: str, wanted: str) -> dict | None:
        """The domain's one key once the server has checked it and it is `wanted`."""
        (entry,) = status(data_dir, domain)
        return entry if entry["status"] == wanted and entry["checkCount"] > 0 else None

    wait_for(lambda: checked("acme.test", "Pending"), message="acme.test not checked by the server, or not Pending")
    dns.start(record_of(acme))
    success = wait_for(lambda: checked("acme.test", "Success"), message="acme.test not Success once its record is served")
    assert success.get("nextCheckAt") is None
    # The window is time-based: Failed once 8 seconds have passed without a record.
    failed = wait_for(lambda: checked("late.test", "Failed"), message="late.test not Failed after its window")
    assert failed["statusReason"] == "no record within 8 seconds" and failed.get("nextCheckAt") is None
    checks = failed["checkCount"]
    # Final: no more checks. A key added now is Pending, so the server goes on checking
    # it; once it has been checked twice, late.test would have been checked again too.
    cli(data_dir, "domain", "add", "sentinel.test")
    generate(data_dir, "sentinel.test", "s1", "--algorithm", "ed25519")
    wait_for(lambda: status(data_dir, "sentinel.test")[0]["checkCount"] >= 2, message="sentinel.test not checked twice")
    assert status(data_dir, "late.test")[0]["checkCount"] == checks
    listed = {d["name"]: d["dkimStatus"] for d in json.loads(cli(data_dir, "domain", "list", "--json").stdout)}
    assert (listed["acme.test"], listed["late.test"]) == ("Success", "Failed"), listed
