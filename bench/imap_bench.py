#!/usr/bin/env python3
"""Postgate IMAP benchmark against Dovecot (a script, not a test).

Both servers hold the same N messages (default 10,000) in one mailbox; the script times,
with Python's imaplib over loopback, in one run: LOGIN+SELECT, SELECT again after another
session appended a message, UID FETCH 1:* (FLAGS),
FETCH 1:* (ENVELOPE) (both also read as octets, without imaplib's parsing),
1,000 full bodies (BODY.PEEK[]), SEARCH FROM and SEARCH TEXT (each the median of five
timings; LOGIN+SELECT on five new connections), and 1,000 APPENDs; and prints
a table with the ratio Postgate / Dovecot (below 1 is faster). Then a stress run: ten
clients at once for --stress seconds (default 60), each mixing SELECT, UID FETCH, UID
STORE with keywords, APPEND, UID EXPUNGE of its own appended messages, UID SEARCH and
IDLE on the shared mailbox, first against Postgate, then against Dovecot; it prints the
commands per second and the commands answered NO or BAD (or that broke the connection)
for both.

Dovecot (Debian dovecot-imapd) runs as a private, unprivileged-mail instance with its
own configuration, base directory and Maildir on a free loopback port; the system one is
never touched. Postgate runs from .build (build it first; a release build is fairer).

    python3 bench/imap_bench.py [--messages 10000] [--bin .build/release/postgate] [--stress 60]
"""

from __future__ import annotations

import argparse
import imaplib
import os
import pwd
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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
  # High-performance mode: login processes serve many connections each.
  service_count = 0
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


# --------------------------------------------------------------------------- stress

STRESS_KEYWORDS = [f"$Label{i}" for i in range(1, 6)]


class StressClient(threading.Thread):
    """One of the stress run's clients: its own connection, a command mix drawn from a
    seeded generator, every reply checked."""

    def __init__(self, port: int, number: int, deadline: float, count: int) -> None:
        super().__init__(daemon=True)
        self.port, self.number, self.deadline, self.count = port, number, deadline, count
        self.commands = 0
        self.errors: list[str] = []
        self.own: list[int] = []

    def run(self) -> None:
        rng = random.Random(self.number)
        try:
            imap = imaplib.IMAP4("127.0.0.1", self.port)
            imap.login("bench", PASSWORD)
            imap.select("INBOX")
        except Exception as error:  # noqa: BLE001 - a client that cannot start is one error
            self.errors.append(f"start: {error}")
            return
        operations = [self.select, self.fetch, self.store, self.append, self.expunge, self.search, self.idle]
        weights = [1, 4, 4, 2, 1, 2, 1]
        while time.monotonic() < self.deadline:
            operation = rng.choices(operations, weights)[0]
            try:
                operation(imap, rng)
                self.commands += 1
            except imaplib.IMAP4.abort as error:
                self.errors.append(f"{operation.__name__}: connection broken: {error}")
                return
            except (imaplib.IMAP4.error, AssertionError) as error:
                self.errors.append(f"{operation.__name__}: {error}")
        try:
            imap.logout()
        except Exception:  # noqa: BLE001 - the run is over
            pass

    @staticmethod
    def check(typ: str, data) -> None:
        if typ != "OK":
            raise imaplib.IMAP4.error(f"{typ} {data}")

    def select(self, imap, rng) -> None:
        self.check(*imap.select("INBOX"))

    def fetch(self, imap, rng) -> None:
        first = rng.randrange(1, self.count)
        self.check(*imap.uid("FETCH", f"{first}:{first + 49}", "(FLAGS ENVELOPE RFC822.SIZE)"))

    def store(self, imap, rng) -> None:
        uid = rng.randrange(1, self.count)
        sign = rng.choice("+-")
        self.check(*imap.uid("STORE", str(uid), f"{sign}FLAGS", f"({rng.choice(STRESS_KEYWORDS)} \\Seen)"))

    def append(self, imap, rng) -> None:
        typ, data = imap.append("INBOX", None, None, message(rng.randrange(self.count)))
        self.check(typ, data)
        found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        if found:
            self.own.append(int(found.group(1)))

    def expunge(self, imap, rng) -> None:
        if not self.own:
            return self.append(imap, rng)
        uid = str(self.own.pop())
        self.check(*imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"))
        self.check(*imap.uid("EXPUNGE", uid))

    def search(self, imap, rng) -> None:
        self.check(*imap.uid("SEARCH", "FROM", f"customer{rng.randrange(97)}"))

    def idle(self, imap, rng) -> None:
        # imaplib has no IDLE (RFC 2177): the command, its continuation, a short wait for
        # whatever the others changed, DONE, and the tagged reply.
        tag = imap._new_tag()
        imap.send(tag + b" IDLE\r\n")
        while not (line := imap.readline()).startswith(b"+"):
            if line.startswith(tag) or not line:
                raise imaplib.IMAP4.error(f"IDLE refused: {line!r}")
        select.select([imap.sock], [], [], 0.2)  # what arrives meanwhile is read below
        imap.send(b"DONE\r\n")
        while not (line := imap.readline()).startswith(tag):
            if not line:
                raise imaplib.IMAP4.abort("connection closed during IDLE")
        if not line.split(b" ", 2)[1].upper().startswith(b"OK"):
            raise imaplib.IMAP4.error(f"IDLE: {line!r}")


def stress(port: int, count: int, seconds: float, clients: int = 10) -> tuple[float, list[str]]:
    """Commands per second of `clients` clients for `seconds`, and what went wrong."""
    deadline = time.monotonic() + seconds
    threads = [StressClient(port, number, deadline, count) for number in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.monotonic() - start
    return sum(t.commands for t in threads) / elapsed, [e for t in threads for e in t.errors]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate")
    parser.add_argument("--stress", type=float, default=60, help="seconds of the ten-client stress run (0: none)")
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
        if args.stress > 0:
            print(f"stress: 10 clients for {args.stress:.0f} s against each server …", file=sys.stderr)
            rates, failures = {}, {}
            for name, port in (("Postgate", postgate_port), ("Dovecot", dovecot_port)):
                rates[name], failures[name] = stress(port, args.messages, args.stress)
            print()
            print(f"| stress: 10 clients, {args.stress:.0f} s | Postgate | Dovecot | ratio |")
            print("| --- | ---: | ---: | ---: |")
            print(f"| commands per second | {rates['Postgate']:.0f} | {rates['Dovecot']:.0f} | "
                  f"{rates['Postgate'] / rates['Dovecot']:.2f} |")
            print(f"| commands answered NO or BAD, or broken | {len(failures['Postgate'])} | {len(failures['Dovecot'])} | |")
            for name in failures:
                for failure in failures[name][:5]:
                    print(f"{name}: {failure}", file=sys.stderr)
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
