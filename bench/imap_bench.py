#!/usr/bin/env python3
"""Postgate IMAP benchmark against Dovecot (a script, not a test).

Both servers hold the same N messages (default 10,000) in one mailbox; the script times,
with Python's imaplib over loopback, in one run: LOGIN+SELECT, SELECT again after another
session appended a message, UID FETCH 1:* (FLAGS),
FETCH 1:* (ENVELOPE) (both also read as octets, without imaplib's parsing),
1,000 full bodies (BODY.PEEK[]), SEARCH FROM and SEARCH TEXT (each the median of five
timings; LOGIN+SELECT on five new connections), and 1,000 APPENDs; and prints
a table with the ratio Postgate / Dovecot (below 1 is faster).

Dovecot (Debian dovecot-imapd) runs as a private, unprivileged-mail instance with its
own configuration, base directory and Maildir on a free loopback port; the system one is
never touched. Postgate runs from .build (build it first; a release build is fairer).

    python3 bench/imap_bench.py [--messages 10000] [--bin .build/release/postgate]
"""

from __future__ import annotations

import argparse
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 1"
MAIL_USER = "nobody"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listening on {port} after {timeout}s")


def message(i: int) -> bytes:
    sender = f"customer{i % 97}@example{i % 7}.com"
    words = " ".join(f"word{(i * 7 + k) % 500}" for k in range(300))
    return (f"From: Customer {i % 97} <{sender}>\r\nTo: support@acme.test\r\n"
            f"Subject: Ticket {i} about order {i % 1000}\r\nDate: Mon, 23 Nov 2026 10:{i % 60:02d}:00 +0000\r\n"
            f"Message-ID: <m{i}@example.com>\r\n\r\n{words}\r\n{'needle' if i % 100 == 0 else 'hay'}\r\n").encode()


# --------------------------------------------------------------------------- servers

def start_postgate(binary: Path, work: Path, count: int) -> tuple[subprocess.Popen, int]:
    data = work / "postgate-data"
    run = lambda *a, **k: subprocess.run([str(binary), *a, "--data", str(data)], check=True, capture_output=True, **k)
    run("domain", "add", "acme.test")
    run("agent", "add", "bench", "--password-stdin", input=PASSWORD + "\n", text=True)
    config = work / "postgate.yaml"
    config.write_text("imap:\n  allow_plaintext_auth: true\nlog_level: warning\n" + netns.LOOPBACK_DNS)
    port = free_port()
    server = subprocess.Popen([str(binary), "serve", "--data", str(data), "--config", str(config),
                               "--smtp-listen", f"127.0.0.1:{free_port()}", "--imap-listen", f"127.0.0.1:{port}",
                               "--imaps-listen", f"127.0.0.1:{free_port()}", "--submission-listen", f"127.0.0.1:{free_port()}",
                               "--submissions-listen", f"127.0.0.1:{free_port()}"],
                              stdout=open(work / "postgate.log", "w"), stderr=subprocess.STDOUT)
    wait_port(port)
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("bench", PASSWORD)
    for i in range(count):
        imap.append("INBOX", None, None, message(i))
    imap.logout()
    return server, port


def start_dovecot(work: Path, count: int) -> tuple[subprocess.Popen, int]:
    if not shutil.which("dovecot"):
        raise SystemExit("dovecot is not installed: apt-get install dovecot-imapd")
    user = pwd.getpwnam(MAIL_USER)
    home = work / "dovecot-mail"
    for sub in ("cur", "new", "tmp"):
        (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (home / "Maildir" / "cur" / f"{1700000000 + i}.M{i}P1.bench:2,").write_bytes(message(i))
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(home)], check=True)
    port = free_port()
    (work / "users").write_text(f"bench:{{PLAIN}}{PASSWORD}:{user.pw_uid}:{user.pw_gid}::{home}\n")
    conf = work / "dovecot.conf"
    conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {work}/dovecot-run
state_dir = {work}/dovecot-state
log_path = {work}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = {min(user.pw_uid, 500)}
passdb {{
  driver = passwd-file
  args = {work}/users
}}
userdb {{
  driver = passwd-file
  args = {work}/users
}}
service imap-login {{
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
service imap-login {{
  chroot =
}}
""")
    os.chmod(work, 0o755)
    server = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdout=open(work / "dovecot.out", "w"), stderr=subprocess.STDOUT)
    wait_port(port)
    return server, port


# --------------------------------------------------------------------------- measurements

def timed(fn, repeat: int = 1) -> float:
    """The median of `repeat` timings of `fn` (one timing of a few milliseconds on a shared
    machine swings by 2x)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


REPEAT = 5


def raw_session(port: int) -> socket.socket:
    """A logged-in connection with INBOX selected, for commands whose answer is read as octets."""
    sock = socket.create_connection(("127.0.0.1", port))
    reader = sock.makefile("rb")
    reader.readline()
    sock.sendall(f'a LOGIN bench "{PASSWORD}"\r\nb SELECT INBOX\r\n'.encode())
    while not reader.readline().startswith(b"b "):
        pass
    return sock


def raw_command(sock: socket.socket, command: bytes, tag: bytes = b"r9q") -> None:
    """Sends `command` and reads its answer up to the tagged line as octets, without parsing
    it: how fast the server answers, without imaplib's per-line cost (the same for both).
    The tag is one no message line in the bench starts with."""
    sock.sendall(tag + b" " + command + b"\r\n")
    tail = b""
    while True:
        data = sock.recv(1 << 20)
        if not data:
            raise SystemExit("the server closed the connection")
        tail = (tail + data)[-512:]
        if tail.endswith(b"\r\n") and (tail.startswith(tag + b" ") or b"\r\n" + tag + b" " in tail):
            return


def measure(port: int, count: int) -> dict[str, float]:
    results: dict[str, float] = {}
    warm = imaplib.IMAP4("127.0.0.1", port)
    warm.login("bench", PASSWORD)
    warm.select("INBOX")
    warm.logout()

    sessions: list[imaplib.IMAP4] = []
    # Each LOGIN+SELECT needs a new connection, made before its timing starts.
    times = []
    for _ in range(REPEAT):
        imap = imaplib.IMAP4("127.0.0.1", port)
        start = time.perf_counter()
        imap.login("bench", PASSWORD)
        typ, data = imap.select("INBOX")
        times.append(time.perf_counter() - start)
        assert int(data[0]) == count, data
        sessions.append(imap)
    results["LOGIN+SELECT"] = sorted(times)[len(times) // 2]
    imap = sessions[-1]
    for other in sessions[:-1]:
        other.logout()
    results["UID FETCH 1:* (FLAGS)"] = timed(lambda: imap.uid("FETCH", "1:*", "(FLAGS)"), REPEAT)
    results["FETCH 1:* (ENVELOPE)"] = timed(lambda: imap.fetch("1:*", "(ENVELOPE)"), REPEAT)
    raw = raw_session(port)
    for name, command in (("UID FETCH 1:* (FLAGS), octets only", b"UID FETCH 1:* (FLAGS)"),
                          ("FETCH 1:* (ENVELOPE), octets only", b"FETCH 1:* (ENVELOPE)"),
                          ("1,000 full bodies, octets only", b"FETCH 1:%d (BODY.PEEK[])" % min(1000, count))):
        results[name] = timed(lambda: raw_command(raw, command), REPEAT)
    raw.close()
    results["1,000 full bodies"] = timed(lambda: imap.fetch(f"1:{min(1000, count)}", "(BODY.PEEK[])"), REPEAT)
    results["SEARCH FROM"] = timed(lambda: imap.search(None, "FROM", "customer42"), REPEAT)
    results["SEARCH TEXT"] = timed(lambda: imap.search(None, "TEXT", "needle"), REPEAT)
    # The first SELECT after a new message came in through another session (which has no
    # mailbox selected, so its APPEND reads nothing back). After the other reads: Dovecot
    # reads its Maildir again here, which also slows what it answers next.
    other = imaplib.IMAP4("127.0.0.1", port)
    other.login("bench", PASSWORD)
    times = []
    for round in range(REPEAT):
        other.append("INBOX", None, None, message(count + round))
        start = time.perf_counter()
        imap.select("INBOX")
        times.append(time.perf_counter() - start)
    results["SELECT after an APPEND"] = sorted(times)[len(times) // 2]
    other.logout()
    imap.create("Bench")
    def appends():
        for i in range(1000):
            imap.append("Bench", None, None, message(i))
    results["1,000 APPENDs"] = timed(appends)
    imap.logout()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate")
    netns.add_argument(parser)
    args = parser.parse_args()
    netns.isolate(__file__, args.no_netns)
    binary = args.bin if args.bin.exists() else ROOT / ".build" / "debug" / "postgate"
    work = Path(tempfile.mkdtemp(prefix="imap-bench-"))
    servers: list[subprocess.Popen] = []
    try:
        print(f"filling both servers with {args.messages} messages ({binary}) …", file=sys.stderr)
        postgate, postgate_port = start_postgate(binary, work, args.messages)
        servers.append(postgate)
        dovecot, dovecot_port = start_dovecot(work, args.messages)
        servers.append(dovecot)
        ours = measure(postgate_port, args.messages)
        theirs = measure(dovecot_port, args.messages)
        print(f"| operation ({args.messages} messages) | Postgate s | Dovecot s | ratio |")
        print("| --- | ---: | ---: | ---: |")
        for name in ours:
            print(f"| {name} | {ours[name]:.3f} | {theirs[name]:.3f} | {ours[name] / theirs[name]:.2f} |")
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
