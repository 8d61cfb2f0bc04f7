#!/usr/bin/env python3
"""Postgate receiving-gateway benchmark against mbsync (a script, not a test).

A private Dovecot (Debian dovecot-imapd) holds one mailbox of N messages (default 10,000).
In one run the script times:

- Postgate importing the mailbox through an IMAP receiving gateway of a channel address:
  from `postgate serve` starting until every message is stored, indexed, routed to the
  address's queue and assigned to its session; with the server's peak resident memory;
- mbsync (isync) copying the same mailbox to a local Maildir (pull only), with its peak
  resident memory;

and prints a table with the ratio Postgate / mbsync (below 1 is faster). Both use IMAP
without TLS on loopback, so that neither pays for encryption the other skips.

    python3 bench/fetch_bench.py [--messages 10000] [--bin .build/release/postgate]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns  # noqa: E402
from imap_bench import PASSWORD, free_port, start_dovecot  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def stored_count(data: Path) -> int:
    db = data / "postgate.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT fetched FROM gateway_state").fetchone()
            return row[0] if row else 0
    except sqlite3.OperationalError:
        return 0


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_postgate(binary: Path, work: Path, port: int, count: int) -> tuple[float, int]:
    data = work / "postgate-data"
    run = lambda *a, **k: subprocess.run([str(binary), *a, "--data", str(data)], check=True, capture_output=True, **k)
    run("domain", "add", "acme.test")
    run("queue", "add", "support")
    run("address", "add", "support@acme.test")
    run("address", "set", "support@acme.test", "--queue", "support", "--publish")
    secret = work / "gateway-password"
    secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    run("connector", "set", "support@acme.test", "--receiving", "imap", "--host", "127.0.0.1", "--port", str(port),
        "--tls", "none", "--allow-plaintext", "true", "--username", "bench", "--password-file", str(secret),
        "--idle", "false", "--max-tries", "1")
    run("publish", "--comment", "benchmark")
    config = work / "postgate.yaml"
    config.write_text(os.environ.get("FB_LOG", "log_level: warning\n") + "connectors:\n  reload_interval: 1\n" + netns.LOOPBACK_DNS)
    started = time.monotonic()
    server = subprocess.Popen([str(binary), "serve", "--data", str(data), "--config", str(config),
                               "--smtp-listen", f"127.0.0.1:{free_port()}", "--imap-listen", f"127.0.0.1:{free_port()}",
                               "--imaps-listen", f"127.0.0.1:{free_port()}", "--submission-listen", f"127.0.0.1:{free_port()}",
                               "--submissions-listen", f"127.0.0.1:{free_port()}"],
                              stdout=open(work / "postgate.log", "w"), stderr=subprocess.STDOUT)
    try:
        while stored_count(data) < count:
            if server.poll() is not None:
                raise SystemExit(f"postgate exited: see {work / 'postgate.log'}")
            if time.monotonic() - started > 1800:
                raise SystemExit(f"postgate imported {stored_count(data)} of {count} in 30 minutes")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        return elapsed, peak_kib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def run_mbsync(work: Path, port: int) -> tuple[float, int]:
    local = work / "mbsync-maildir"
    local.mkdir()
    config = work / "mbsyncrc"
    config.write_text(f"""IMAPAccount bench
Host 127.0.0.1
Port {port}
User bench
Pass "{PASSWORD}"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {local}/
Inbox {local}/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Sync Pull
Create Near
SyncState *
""")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    subprocess.run(["mbsync", "-q", "-c", str(config), "bench"], check=True)
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate")
    netns.add_argument(parser)
    args = parser.parse_args()
    netns.isolate(__file__, args.no_netns)
    if not shutil.which("mbsync"):
        raise SystemExit("mbsync is not installed: apt-get install isync")
    binary = args.bin if args.bin.exists() else ROOT / ".build" / "debug" / "postgate"
    work = Path(tempfile.mkdtemp(prefix="fetch-bench-"))
    os.chmod(work, 0o755)
    dovecot = None
    try:
        print(f"filling Dovecot with {args.messages} messages …", file=sys.stderr)
        dovecot, port = start_dovecot(work, args.messages)
        # mbsync first: the Dovecot index files it makes serve both runs alike.
        theirs, theirs_kib = run_mbsync(work, port)
        ours, ours_kib = run_postgate(binary, work, port, args.messages)
        n = args.messages
        print(f"| import of {n} messages over IMAP | Postgate | mbsync | ratio |")
        print("| --- | ---: | ---: | ---: |")
        print(f"| seconds | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} |")
        print(f"| messages per second | {n / ours:.0f} | {n / theirs:.0f} | {theirs / ours:.2f} |")
        print(f"| peak resident memory, MiB | {ours_kib / 1024:.1f} | {theirs_kib / 1024:.1f} | {ours_kib / max(theirs_kib, 1):.2f} |")
    finally:
        if dovecot:
            dovecot.send_signal(signal.SIGTERM)
            try:
                dovecot.wait(20)
            except subprocess.TimeoutExpired:
                dovecot.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
