#!/usr/bin/env python3
"""Many receiving gateways on one node (a script, not a test).

A private Dovecot (Debian dovecot-imapd) holds N mailboxes (default 500), one per user,
each with a few messages. Postgate gets N channel addresses, each with an IMAP receiving
gateway to one of them, IDLE on (one connection held open per gateway). The script starts
`postgate serve`, waits until every gateway has fetched its mailbox and is connected, then
delivers one more message to every mailbox and waits until all are fetched (pushed by
IDLE). It prints the time taken, the server's peak resident memory, its threads and open
descriptors, for N and for N/10 gateways, so the growth per gateway can be read off.

    python3 bench/fetch_scale.py [--mailboxes 500] [--bin .build/release/postgate]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
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
from imap_bench import free_port, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "scale password 1"
PER_MAILBOX = 3


def message(user: int, n: int) -> bytes:
    return (f"Return-Path: <customer{user}@example.org>\r\nFrom: Customer {user} <customer{user}@example.org>\r\n"
            f"To: user{user}@provider.example\r\nSubject: Request {n} of customer {user}\r\n"
            f"Message-ID: <r{n}.u{user}@example.org>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\n"
            f"Hello, this is request {n}.\r\n").encode()


def start_dovecot(work: Path, count: int) -> tuple[subprocess.Popen, int]:
    account = pwd.getpwnam("nobody")
    lines = []
    for u in range(count):
        home = work / "mail" / f"user{u}"
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        for n in range(PER_MAILBOX):
            (home / "Maildir" / "cur" / f"{1700000000 + n}.M{n}P{u}.scale:2,").write_bytes(message(u, n))
        lines.append(f"user{u}:{{PLAIN}}{PASSWORD}:{account.pw_uid}:{account.pw_gid}::{home}\n")
    subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(work / "mail")], check=True)
    (work / "users").write_text("".join(lines))
    port = free_port()
    conf = work / "dovecot.conf"
    conf.write_text(f"""protocols = imap
listen = 127.0.0.1
base_dir = {work}/dovecot-run
state_dir = {work}/dovecot-state
log_path = {work}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = {min(account.pw_uid, 500)}
default_process_limit = {count + 100}
default_client_limit = {2 * count + 100}
mail_max_userip_connections = 10
passdb {{
  driver = passwd-file
  args = {work}/users
}}
userdb {{
  driver = passwd-file
  args = {work}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    os.chmod(work, 0o755)
    server = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdout=open(work / "dovecot.out", "w"), stderr=subprocess.STDOUT)
    wait_port(port)
    return server, port


def fetched_total(data: Path) -> tuple[int, int]:
    """(messages fetched, gateways connected)."""
    try:
        with sqlite3.connect(f"file:{data / 'postgate.sqlite'}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT coalesce(sum(fetched), 0), coalesce(sum(state = 'connected'), 0) FROM gateway_state").fetchone()
            return row[0], row[1]
    except sqlite3.OperationalError:
        return 0, 0


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "Threads"):
            out[key] = int(value.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def run(binary: Path, work: Path, port: int, count: int, first: int, maildirs: Path) -> dict[str, float]:
    """`count` gateways to the Dovecot users from `first` on (each run its own, untouched users)."""
    data = work / f"postgate-{count}"
    cli = lambda *a, **k: subprocess.run([str(binary), *a, "--data", str(data)], check=True, capture_output=True, text=True, **k)
    cli("domain", "add", "acme.test")
    cli("queue", "add", "support")
    secret = work / "gateway-password"
    secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    for u in range(first, first + count):
        address = f"support{u}@acme.test"
        cli("address", "add", address)
        cli("address", "set", address, "--queue", "support")
        cli("connector", "set", address, "--receiving", "imap", "--host", "127.0.0.1", "--port", str(port), "--tls", "none",
            "--allow-plaintext", "true", "--username", f"user{u}", "--password-file", str(secret), "--idle", "true",
            "--poll-interval", "3600")
    cli("publish", "--comment", "scale benchmark")
    config = work / f"postgate-{count}.yaml"
    config.write_text("log_level: warning\nconnectors:\n  reload_interval: 1\n  retry_delay: 1\n" + netns.LOOPBACK_DNS)
    started = time.monotonic()
    server = subprocess.Popen([str(binary), "serve", "--data", str(data), "--config", str(config),
                               "--smtp-listen", f"127.0.0.1:{free_port()}", "--imap-listen", f"127.0.0.1:{free_port()}",
                               "--imaps-listen", f"127.0.0.1:{free_port()}", "--submission-listen", f"127.0.0.1:{free_port()}",
                               "--submissions-listen", f"127.0.0.1:{free_port()}"],
                              stdout=open(work / f"postgate-{count}.log", "w"), stderr=subprocess.STDOUT)
    try:
        def wait(condition, what: str) -> None:
            deadline = time.monotonic() + 1800
            while not condition():
                if server.poll() is not None:
                    raise SystemExit(f"postgate exited: see {work}/postgate-{count}.log")
                if time.monotonic() > deadline:
                    raise SystemExit(f"{what}: not reached in 30 minutes ({fetched_total(data)})")
                time.sleep(0.1)
        wait(lambda: fetched_total(data) == (count * PER_MAILBOX, count), "initial import")
        initial = time.monotonic() - started
        account = pwd.getpwnam("nobody")
        pushed = time.monotonic()
        for u in range(first, first + count):
            box = maildirs / f"user{u}" / "Maildir"
            tmp = box / "tmp" / f"push{count}.{u}"
            tmp.write_bytes(message(u, 100 + count))
            os.chown(tmp, account.pw_uid, account.pw_gid)
            os.rename(tmp, box / "new" / tmp.name)
        wait(lambda: fetched_total(data)[0] == count * (PER_MAILBOX + 1), "pushed messages")
        push = time.monotonic() - pushed
        status = proc_status(server.pid)
        return {"initial": initial, "push": push, **status}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=500)
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate")
    netns.add_argument(parser)
    args = parser.parse_args()
    netns.isolate(__file__, args.no_netns)
    binary = args.bin if args.bin.exists() else ROOT / ".build" / "debug" / "postgate"
    work = Path(tempfile.mkdtemp(prefix="fetch-scale-"))
    dovecot = None
    try:
        print(f"making {args.mailboxes} Dovecot mailboxes …", file=sys.stderr)
        small = max(1, args.mailboxes // 10)
        dovecot, port = start_dovecot(work, small + args.mailboxes)
        results = {small: run(binary, work, port, small, 0, work / "mail"),
                   args.mailboxes: run(binary, work, port, args.mailboxes, small, work / "mail")}
        print(f"| gateways (IMAP, IDLE) | initial import s | {PER_MAILBOX} msgs each | push of 1 msg each s | peak RSS MiB | threads | open fds |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, r in results.items():
            print(f"| {n} | {r['initial']:.1f} | {n * PER_MAILBOX} | {r['push']:.2f} | {r['VmHWM'] / 1024:.1f} | {r['Threads']} | {r['fds']} |")
        a, b = results[small], results[args.mailboxes]
        per = (b["VmHWM"] - a["VmHWM"]) / max(1, args.mailboxes - small)
        print(f"\npeak memory per additional gateway: {per:.0f} KiB")
    finally:
        if dovecot:
            dovecot.send_signal(signal.SIGTERM)
            try:
                dovecot.wait(30)
            except subprocess.TimeoutExpired:
                dovecot.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
