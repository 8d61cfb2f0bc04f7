#!/usr/bin/env python3
"""Legitimate mail traffic while hostile clients attack (a script, not a test).

Legitimate clients keep working at a fixed offered rate: mail servers deliver small
messages to a hosted address over SMTP (the MX listener, one connection per message), and
agents' mail clients open IMAP sessions over implicit TLS (LOGIN, SELECT INBOX, FETCH of
five messages). Their throughput and latency are measured with no attack (baseline), while
seven attacks run together (under attack), and for a while after the attacks stop (after).
The same run does it for Postgate and for a private Postfix (MX and submission, SASL by
Dovecot) with a private Dovecot (IMAP), each started with its defaults on free loopback
ports; the servers take turns, never running at the same time.

The attacks, each a number of concurrent clients (a flag each) that reconnect whenever the
server closes them, from many loopback source addresses (127.0.0.2 and up; the legitimate
clients come from 127.0.1.x, so a per-address limit on the attackers does not apply to
them):

  1. stalled TLS handshakes: SMTP sessions that send STARTTLS and then nothing, and
     connections to the implicit-TLS ports (IMAPS, submissions) that never send a
     ClientHello;
  2. slowloris: SMTP command lines sent one byte a second, and message data (after DATA)
     at a few octets a second;
  3. literals before login: LOGIN announcing a large literal (synchronizing, then
     non-synchronizing with its octets trickling in, RFC 7888);
  4. unauthenticated IMAP connections, many at once, held open;
  5. logged-in IMAP clients that send FETCH 1:* BODY.PEEK[] on a 12 MB mailbox and then
     stop reading;
  6. password guessing: IMAP LOGIN (over IMAPS) and submission AUTH PLAIN (over
     submissions), wrong passwords for an existing account and for unknown ones;
  7. LIST with pathological wildcard patterns ("*a*a*a...*a b") over folders with long
     names.

Latency is counted from the moment an operation was due (open loop), so a server that
falls behind shows it in the percentiles instead of in fewer attempts. Everything runs in
a loopback-only network namespace (bench/netns.py); the attacks run in a second process,
so the legitimate clients' event loop does not wait on them.

    python3 bench/hostile_load.py [--baseline 20] [--attack 40] [--after 10]
                                  [--bin .build/release/postgate] [--servers both|postgate|pair]

The binary is copied into the run's temporary directory before it starts, so a rebuild
under .build cannot change it during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ctypes
import imaplib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import netns  # noqa: E402
from smtp_load import make_body  # noqa: E402

HOST = "127.0.0.1"
DOMAIN = "acme.test"
ADDRESS = "support@acme.test"
PASSWORD = "hostile bench 1"
AGENT = "agent"        # the legitimate agent
STALLER = "staller"    # the account of the clients that stop reading
LISTER = "lister"      # the account of the LIST attack
VICTIM = "victim"      # an existing account the guessers try
USERS = (AGENT, STALLER, LISTER, VICTIM)
LEGIT_SMTP_SOURCES = [f"127.0.1.{i}" for i in range(1, 5)]
LEGIT_IMAP_SOURCES = [f"127.0.1.{i}" for i in range(11, 15)]
CONNECT_TIMEOUT = 30
PAUSE = 0.25  # an attacker's pause between a closed connection and the next one


def insecure_tls() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (the OS may hand the same one out twice)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in ports:
            ports.append(port)
    return ports


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode} at start")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listening on {port}")
            time.sleep(0.05)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


# ------------------------------------------------------------------------ protocol helpers

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


async def smtp_reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One SMTP reply (all its lines): the code and the text."""
    text = b""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed by server")
        text += line
        if len(line) < 4 or line[3:4] != b"-":
            try:
                return int(line[:3]), text
            except ValueError:
                raise ConnectionError(f"not an SMTP reply: {line[:40]!r}")


async def imap_tagged(reader: asyncio.StreamReader, tag: bytes) -> bytes:
    """Reads an IMAP response, literals included, up to its tagged line, and returns it."""
    prefix = tag + b" "
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed by server")
        while (m := LITERAL.search(line)) is not None:
            await reader.readexactly(int(m.group(1)))
            rest = await reader.readline()
            if not rest:
                raise ConnectionError("closed by server")
            line = rest
        if line.startswith(prefix):
            return line


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Reads until the server closes the connection; the last octets it sent."""
    tail = b""
    while True:
        chunk = await reader.read(4096)
        if not chunk:
            return tail
        tail = (tail + chunk)[-512:]


class Failed(Exception):
    """A legitimate operation the server refused or answered wrongly."""


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise Failed(what)


# ------------------------------------------------------------------------ legitimate clients

SMALL_BODY = make_body(2048)


async def smtp_delivery(port: int, src: str, tag: str) -> None:
    """One message over a new connection, as a customer's mail server delivers it."""
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=(src, 0))
    try:
        code, _ = await smtp_reply(reader)
        expect(code == 220, f"SMTP greeting {code}")
        writer.write(b"EHLO mta.example.net\r\n")
        code, _ = await smtp_reply(reader)
        expect(code == 250, f"SMTP EHLO {code}")
        writer.write(f"MAIL FROM:<customer@example.net>\r\nRCPT TO:<{ADDRESS}>\r\nDATA\r\n".encode())
        codes = [(await smtp_reply(reader))[0] for _ in range(3)]
        expect(codes == [250, 250, 354], f"SMTP envelope {codes}")
        writer.writelines((f"Message-ID: <{tag}@example.net>\r\n".encode(), SMALL_BODY))
        code, _ = await smtp_reply(reader)
        expect(code == 250, f"SMTP end of data {code}")
        writer.write(b"QUIT\r\n")
    finally:
        writer.close()


IMAP_STEPS = ("connect", "LOGIN", "SELECT", "FETCH")


async def imap_session(port: int, src: str, ctx: ssl.SSLContext) -> dict[str, float]:
    """An agent's mail client: implicit TLS, LOGIN, SELECT INBOX, FETCH five messages.
    Returns the seconds each step took (connect: TCP, TLS handshake and greeting)."""
    steps: dict[str, float] = {}
    t = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=(src, 0), ssl=ctx,
                                                   server_hostname="localhost", limit=1 << 20)
    try:
        greeting = await reader.readline()
        expect(greeting.startswith(b"* OK"), f"IMAP greeting {greeting[:40]!r}")
        steps["connect"] = time.monotonic() - t
        for tag, command in ((b"a", f'LOGIN {AGENT} "{PASSWORD}"'.encode()), (b"b", b"SELECT INBOX"),
                             (b"c", b"FETCH 1:5 (BODY.PEEK[])")):
            t = time.monotonic()
            writer.write(tag + b" " + command + b"\r\n")
            line = await imap_tagged(reader, tag)
            verb = command.split()[0].decode()
            expect(line.startswith(tag + b" OK"), f"IMAP {verb}: {line[len(tag) + 1:].decode(errors='replace').strip()[:60]}")
            steps[verb] = time.monotonic() - t
        writer.write(b"d LOGOUT\r\n")
    finally:
        writer.close()
    return steps


@dataclass
class Op:
    kind: str        # "smtp" or "imap"
    due: float       # when it was due (loop time)
    ok: bool
    latency: float   # from `due` to its end
    error: str | None
    steps: dict | None = None  # seconds per step of an IMAP session


def describe(error: BaseException) -> str:
    if isinstance(error, Failed):
        return re.sub(r"\d{4,}", "#", str(error))
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    return type(error).__name__


async def open_loop(kind: str, operation, rate: float, concurrency: int, start: float, end: float,
                    timeout: float, out: list[Op]) -> None:
    """Starts `operation(i)` at `rate` per second from `start` to `end`, at most `concurrency`
    at once; each takes at most `timeout` seconds once started."""
    if rate <= 0:
        return
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int, due: float) -> None:
        async with gate:
            try:
                steps = await asyncio.wait_for(operation(i), timeout)
                out.append(Op(kind, due, True, loop.time() - due, None, steps))
            except Exception as error:  # noqa: BLE001 (every failure is counted)
                out.append(Op(kind, due, False, loop.time() - due, describe(error)))

    tasks = []
    i = 0
    while (due := start + i / rate) < end:
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
        i += 1
    await asyncio.gather(*tasks)


# ------------------------------------------------------------------------ attacks (own process)


class AttackStats:
    def __init__(self) -> None:
        self.outcomes: Counter = Counter()
        self.events: Counter = Counter()
        self.open = 0
        self.busy = 0  # clients between connecting and an outcome
        self.peak = 0
        self.held: list[float] = []       # seconds a held connection lasted until the server closed it
        self.latencies: list[float] = []  # LIST answers
        self.clients = 0

    def opened(self) -> None:
        self.open += 1
        self.peak = max(self.peak, self.open)

    def json(self, open_at_end: int, busy_at_end: int) -> dict:
        return {"clients": self.clients, "waiting_at_end": busy_at_end - open_at_end, "open_at_end": open_at_end,
                "peak_open": self.peak, "outcomes": dict(self.outcomes), "events": dict(self.events),
                "held": self.held, "latencies": self.latencies}


class Attacks:
    """The attack process: every attack's clients, until SIGTERM (or its own deadline)."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.ctx = insecure_tls()
        self.sources = spec["sources"]
        self.stop = asyncio.Event()
        self.stats: dict[str, AttackStats] = {}

    async def connect(self, port: int, src: str, tls: bool = False, limit: int = 1 << 16):
        return await asyncio.wait_for(asyncio.open_connection(
            HOST, port, local_addr=(src, 0), ssl=self.ctx if tls else None,
            server_hostname="localhost" if tls else None, limit=limit), CONNECT_TIMEOUT)

    async def hold(self, reader: asyncio.StreamReader, st: AttackStats) -> str:
        """Keeps a connection open, sending nothing, until the server closes it."""
        st.opened()
        t0 = time.monotonic()
        try:
            tail = await until_closed(reader)
        except (ConnectionError, OSError):
            tail = b""
        finally:
            st.open -= 1
        st.held.append(time.monotonic() - t0)
        return "closed by server" + (" with 421" if b"421" in tail else " with BYE" if b"BYE" in tail else "")

    async def trickle(self, reader, writer, chunks, interval: float, st: AttackStats) -> str:
        """Sends `chunks` one every `interval` seconds until the server closes the connection."""
        watcher = asyncio.create_task(until_closed(reader))
        st.opened()
        t0 = time.monotonic()
        try:
            for chunk in chunks:
                if watcher.done():
                    break
                writer.write(chunk)
                await writer.drain()
                await asyncio.wait({watcher}, timeout=interval)
            tail = await watcher
        except (ConnectionError, OSError):
            tail = b""
        finally:
            st.open -= 1
            watcher.cancel()
        st.held.append(time.monotonic() - t0)
        return "closed by server" + (" with 421" if b"421" in tail else " with BYE" if b"BYE" in tail else "")

    # 1. stalled TLS handshakes

    async def starttls_stall(self, src: str, st: AttackStats) -> str:
        reader, writer = await self.connect(self.spec["mx"], src)
        try:
            code, _ = await smtp_reply(reader)
            if code != 220:
                return f"refused at greeting ({code})"
            writer.write(b"EHLO stall.example.org\r\n")
            await smtp_reply(reader)
            writer.write(b"STARTTLS\r\n")
            code, _ = await smtp_reply(reader)
            if code != 220:
                return f"STARTTLS answered {code}"
            return await self.hold(reader, st)  # and never a ClientHello
        finally:
            writer.close()

    async def implicit_stall(self, src: str, st: AttackStats, port: int) -> str:
        reader, writer = await self.connect(port, src)
        try:
            return await self.hold(reader, st)
        finally:
            writer.close()

    # 2. slowloris

    async def slow_command(self, src: str, st: AttackStats) -> str:
        reader, writer = await self.connect(self.spec["mx"], src)
        try:
            code, _ = await smtp_reply(reader)
            if code != 220:
                return f"refused at greeting ({code})"

            def octets():
                n = 0
                while True:
                    n += 1
                    for byte in f"EHLO slowloris-{n}.example.org\r\n".encode():
                        yield bytes([byte])
            return await self.trickle(reader, writer, octets(), self.spec["trickle_interval"], st)
        finally:
            writer.close()

    async def slow_data(self, src: str, st: AttackStats) -> str:
        reader, writer = await self.connect(self.spec["mx"], src)
        try:
            code, _ = await smtp_reply(reader)
            if code != 220:
                return f"refused at greeting ({code})"
            for command, want in ((b"EHLO trickle.example.org", 250), (b"MAIL FROM:<trickle@example.org>", 250),
                                  (f"RCPT TO:<{ADDRESS}>".encode(), 250), (b"DATA", 354)):
                writer.write(command + b"\r\n")
                code, _ = await smtp_reply(reader)
                if code != want:
                    return f"{command.split()[0].decode()} answered {code}"
            rate = max(1, int(self.spec["data_rate"]))

            def octets():
                data = b"Subject: a slow message\r\n\r\n"
                while True:
                    while len(data) < rate:
                        data += b"x" * 70 + b"\r\n"
                    yield data[:rate]
                    data = data[rate:]
            return await self.trickle(reader, writer, octets(), 1.0, st)
        finally:
            writer.close()

    # 3. literals before login

    async def literal(self, src: str, st: AttackStats) -> str:
        size, rate = self.spec["literal_size"], self.spec["literal_rate"]
        reader, writer = await self.connect(self.spec["imap"], src)
        try:
            greeting = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT)
            if not greeting.startswith(b"* OK"):
                return "refused at greeting"
            # A synchronizing literal: the server either refuses it or asks for it.
            writer.write(b"s LOGIN {%d}\r\n" % size)
            answer = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT)
            if not answer:
                return "closed by server"
            st.events["synchronizing literal answered " + " ".join(answer.decode(errors="replace").split()[:3])[:40]] += 1
            step = max(1, rate // 10)
            if answer.startswith(b"+"):
                # Asked for: its octets at `rate`, as long as the server takes them.
                chunks = (b"x" * step for _ in range(math.ceil(size / step)))
                return "literal taken; " + await self.trickle(reader, writer, chunks, 0.1, st)
            # A non-synchronizing literal, its octets at `rate` until the server closes.
            writer.write(b"n LOGIN {%d+}\r\n" % size)
            chunks = (b"x" * step for _ in range(math.ceil(size / step)))
            return await self.trickle(reader, writer, chunks, 0.1, st)
        finally:
            writer.close()

    # 4. unauthenticated connections

    async def flood(self, src: str, st: AttackStats) -> str:
        reader, writer = await self.connect(self.spec["imap"], src)
        try:
            greeting = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT)
            if not greeting.startswith(b"* OK"):
                return "refused at greeting" + (" with BYE" if greeting.startswith(b"* BYE") else "")
            return await self.hold(reader, st)
        finally:
            writer.close()

    # 5. clients that stop reading

    async def fetch_stall(self, src: str, st: AttackStats) -> str:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, before connecting
        sock.bind((src, 0))
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (HOST, self.spec["imaps"])), CONNECT_TIMEOUT)
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            sock=sock, ssl=self.ctx, server_hostname="localhost", limit=4096), CONNECT_TIMEOUT)
        try:
            greeting = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT)
            if not greeting.startswith(b"* OK"):
                return "refused at greeting"
            for tag, command in ((b"a", f'LOGIN {STALLER} "{PASSWORD}"'.encode()), (b"b", b"SELECT INBOX")):
                writer.write(tag + b" " + command + b"\r\n")
                line = await asyncio.wait_for(imap_tagged(reader, tag), 60)
                if not line.startswith(tag + b" OK"):
                    return f"{command.split()[0].decode()} refused"
            writer.write(b"f FETCH 1:* BODY.PEEK[]\r\n")
            await writer.drain()
            # Never read again. A server that gives up on this client closes its end; what it
            # had sent stays unread, so the close shows only when it resets the connection.
            st.opened()
            t0 = time.monotonic()
            try:
                while not self.stop.is_set():
                    state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
                    if state in (7, 8):  # TCP_CLOSE, TCP_CLOSE_WAIT
                        st.held.append(time.monotonic() - t0)
                        return "closed by server"
                    try:
                        await asyncio.wait_for(self.stop.wait(), 1)
                    except asyncio.TimeoutError:
                        pass
            finally:
                st.open -= 1
            return "held to the end"
        finally:
            writer.close()

    # 6. password guessing

    def guess(self) -> tuple[str, str]:
        user = VICTIM if random.random() < 0.5 else f"nosuch{random.randrange(10 ** 6)}"
        return user, f"guess {random.randrange(10 ** 9)}"

    async def guess_imap(self, src: str, st: AttackStats) -> str:
        reader, writer = await self.connect(self.spec["imaps"], src, tls=True)
        try:
            greeting = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT)
            if not greeting.startswith(b"* OK"):
                return "refused at greeting"
            for k in range(self.spec["guesses_per_connection"]):
                user, password = self.guess()
                tag = b"g%d" % k
                writer.write(tag + f' LOGIN {user} "{password}"\r\n'.encode())
                line = await asyncio.wait_for(imap_tagged(reader, tag), 120)
                text = line[len(tag) + 1:].decode(errors="replace")
                if text.startswith("OK"):
                    st.events["guess accepted"] += 1
                elif "AUTHENTICATIONFAILED" in text:
                    st.events["guess checked, failed"] += 1
                else:
                    st.events["guess refused: " + re.sub(r"\d+", "#", text.strip())[:50]] += 1
            writer.write(b"z LOGOUT\r\n")
            return "guesses sent"
        finally:
            writer.close()

    async def guess_submission(self, src: str, st: AttackStats) -> str:
        reader, writer = await self.connect(self.spec["submissions"], src, tls=True)
        try:
            code, _ = await asyncio.wait_for(smtp_reply(reader), CONNECT_TIMEOUT)
            if code != 220:
                return f"refused at greeting ({code})"
            writer.write(b"EHLO guesser.example.org\r\n")
            code, text = await smtp_reply(reader)
            if b"AUTH" not in text:
                return "AUTH not offered"
            for _ in range(self.spec["guesses_per_connection"]):
                user, password = self.guess()
                token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
                writer.write(f"AUTH PLAIN {token}\r\n".encode())
                code, text = await asyncio.wait_for(smtp_reply(reader), 120)
                if code == 235:
                    st.events["guess accepted"] += 1
                    break
                elif code == 535:
                    st.events["guess checked, failed (535)"] += 1
                else:
                    st.events[f"guess refused ({code})"] += 1
                    if code == 421:
                        return "closed with 421"
            writer.write(b"QUIT\r\n")
            return "guesses sent"
        finally:
            writer.close()

    # 7. LIST wildcards

    async def lister(self, src: str, st: AttackStats) -> str:
        reader, writer = await self.connect(self.spec["imaps"], src, tls=True, limit=1 << 20)
        try:
            greeting = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT)
            if not greeting.startswith(b"* OK"):
                return "refused at greeting"
            writer.write(f'a LOGIN {LISTER} "{PASSWORD}"\r\n'.encode())
            if not (await asyncio.wait_for(imap_tagged(reader, b"a"), 60)).startswith(b"a OK"):
                return "LOGIN refused"
            n = self.spec["list_wildcards"]
            patterns = ["*a" * n + " b", "%a" * n + " b", "*a" * n + "*b"]
            gap = 1 / self.spec["list_rate"] if self.spec["list_rate"] > 0 else 0
            st.opened()
            try:
                k = 0
                while not self.stop.is_set():
                    k += 1
                    tag = b"l%d" % k
                    t0 = time.monotonic()
                    writer.write(tag + f' LIST "" "{patterns[k % len(patterns)]}"\r\n'.encode())
                    line = await asyncio.wait_for(imap_tagged(reader, tag), 300)
                    st.latencies.append(time.monotonic() - t0)
                    st.events["LIST " + line[len(tag) + 1:].split()[0].decode(errors="replace")] += 1
                    # The next one when this one is answered, at most list_rate a second.
                    await asyncio.sleep(max(0.0, t0 + gap - time.monotonic()))
            finally:
                st.open -= 1
            return "stopped"
        finally:
            writer.close()

    # the driver

    async def slot(self, name: str, index: int, body) -> None:
        st = self.stats.setdefault(name, AttackStats())
        n = 0
        while not self.stop.is_set():
            src = self.sources[(index + n * 17) % len(self.sources)]
            n += 1
            st.busy += 1
            try:
                outcome = await body(src, st)
            except asyncio.CancelledError:
                raise
            except asyncio.TimeoutError:
                outcome = "no answer in time"
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ssl.SSLError) as error:
                outcome = f"connection failed ({type(error).__name__})"
            except Exception as error:  # noqa: BLE001 (an attacker goes on whatever happened)
                outcome = f"client error ({type(error).__name__})"
            finally:
                st.busy -= 1
            if self.stop.is_set():
                break  # a connection the end of the attack let go counts as held at the end
            st.outcomes[outcome] += 1
            try:
                await asyncio.wait_for(self.stop.wait(), PAUSE)
            except asyncio.TimeoutError:
                pass

    def plan(self) -> list[tuple[str, int, object]]:
        s = self.spec

        def halves(n: int) -> tuple[int, int]:
            return (n + 1) // 2, n // 2
        mx_stall, implicit = halves(s["tls_stall"])
        imaps_stall, submissions_stall = halves(implicit)
        slow_cmd, slow_data = halves(s["slowloris"])
        guess_imap, guess_sub = halves(s["guessers"])
        plan = [("1 stalled STARTTLS (MX)", mx_stall, self.starttls_stall),
                ("1 no ClientHello (IMAPS)", imaps_stall, lambda src, st: self.implicit_stall(src, st, s["imaps"])),
                ("1 no ClientHello (submissions)", submissions_stall,
                 lambda src, st: self.implicit_stall(src, st, s["submissions"])),
                ("2 slowloris command line (MX)", slow_cmd, self.slow_command),
                ("2 slowloris DATA (MX)", slow_data, self.slow_data),
                ("3 literal before login (IMAP)", s["literals"], self.literal),
                ("4 unauthenticated IMAP connections", s["flood"], self.flood),
                ("5 FETCH 1:* not read (IMAPS)", s["fetch_stall"], self.fetch_stall),
                ("6 guessing IMAP LOGIN (IMAPS)", guess_imap, self.guess_imap),
                ("6 guessing AUTH PLAIN (submissions)", guess_sub, self.guess_submission),
                ("7 LIST wildcards (IMAPS)", s["listers"], self.lister)]
        return [(name, count, body) for name, count, body in plan if count > 0]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        tasks = []
        for name, count, body in self.plan():
            self.stats[name] = AttackStats()
            self.stats[name].clients = count
            for i in range(count):
                tasks.append(asyncio.create_task(self.slot(name, i, body)))
        try:
            await asyncio.wait_for(self.stop.wait(), self.spec["max_seconds"])
        except asyncio.TimeoutError:
            pass
        self.stop.set()
        at_end = {name: (st.open, st.busy) for name, st in self.stats.items()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        Path(self.spec["out"]).write_text(json.dumps(
            {name: st.json(*at_end[name]) for name, st in self.stats.items()}))


def attack_worker(spec_path: str) -> int:
    try:  # end with the benchmark, however it ends (PR_SET_PDEATHSIG)
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    spec = json.loads(Path(spec_path).read_text())
    asyncio.run(Attacks(spec).run())
    return 0


# ------------------------------------------------------------------------ servers


def message(i: int, size: int) -> bytes:
    head = (f"From: Customer {i} <customer{i}@example.org>\r\nTo: {ADDRESS}\r\nSubject: Request {i}\r\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <fill{i}.{size}@example.org>\r\n\r\n")
    line = "Hello, this is a line of the customer's request text, wrapped at a sane length.\r\n"
    return (head + line * max(1, (size - len(head)) // len(line))).encode()


def fill_mailboxes(port: int, args) -> None:
    """The same mailboxes on both servers, through IMAP: the agent's INBOX (20 small
    messages), the staller's (large ones, more than the sockets' buffers hold) and the
    lister's folders with long names."""
    ctx = insecure_tls()
    with imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx, timeout=120) as imap:
        imap.login(AGENT, PASSWORD)
        for i in range(20):
            imap.append("INBOX", None, None, message(i, 3000))
    with imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx, timeout=120) as imap:
        imap.login(STALLER, PASSWORD)
        for i in range(args.stall_messages):
            imap.append("INBOX", None, None, message(1000 + i, 400_000))
    with imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx, timeout=120) as imap:
        imap.login(LISTER, PASSWORD)
        names = ["a" * n for n in range(40, 56)] + [f"{'a' * 30}/{'a' * n}" for n in range(30, 34)]
        for name in names:
            typ, data = imap.create(name)
            if typ != "OK":
                raise RuntimeError(f"CREATE {name}: {data}")


def descendants(*roots: int) -> list[int]:
    """The processes `roots` and all their descendants (one scan of /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root for root in roots if root and Path(f"/proc/{root}").exists()]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: pages shared by several processes split between them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def normalized(text: str) -> str:
    text = re.sub(r"\b\d+\.\d+\.\d+\.\d+(:\d+)?\b", "ADDR", text)
    text = re.sub(r"\[IPv4\]ADDR(/ADDR)?", "ADDR", text)
    text = re.sub(r"\b[0-9A-Fa-f]{8,}\b", "#", text)
    text = re.sub(r"\d+", "#", text)
    return text.strip()[:140]


class PostgateTarget:
    name = "Postgate"
    smtp_server = "Postgate"
    imap_server = "Postgate"

    def __init__(self, binary: Path, work: Path, args) -> None:
        self.binary = binary
        self.work = work / "postgate"
        self.work.mkdir()
        self.args = args
        self.data = self.work / "data"
        self.proc: subprocess.Popen | None = None
        self.mx, self.imap, self.imaps, self.submission, self.submissions = free_ports(5)

    def cli(self, *args: str, stdin: str | None = None) -> None:
        subprocess.run([str(self.binary), *args, "--data", str(self.data)], input=stdin, text=True,
                       check=True, capture_output=True)

    def start(self) -> None:
        self.cli("domain", "add", DOMAIN)
        self.cli("address", "add", ADDRESS)
        for user in USERS:
            self.cli("agent", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
        config = self.work / "postgate.yaml"
        config.write_text(netns.LOOPBACK_DNS)  # every other setting at its default
        self.log_path = self.work / "postgate.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--data", str(self.data), "--config", str(config),
             "--smtp-listen", f"{HOST}:{self.mx}", "--imap-listen", f"{HOST}:{self.imap}",
             "--imaps-listen", f"{HOST}:{self.imaps}", "--submission-listen", f"{HOST}:{self.submission}",
             "--submissions-listen", f"{HOST}:{self.submissions}"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        for port in (self.mx, self.imap, self.imaps, self.submission, self.submissions):
            wait_port(port, self.proc)
        fill_mailboxes(self.imaps, self.args)

    def roots(self) -> list[int]:
        return [self.proc.pid]

    def alive(self) -> str:
        return "running" if self.proc and self.proc.poll() is None else f"exited {self.proc.returncode}"

    def stored(self) -> int:
        box = self.data / "maildir" / "acme.test" / "support"
        return sum(1 for d in ("new", "cur") if (box / d).exists() for _ in os.scandir(box / d))

    def log_summary(self) -> list[str]:
        levels: Counter = Counter()
        notable: Counter = Counter()
        pattern = re.compile(r"^\S+ (trace|debug|info|notice|warning|error|critical) postgate: (.*)$")
        for line in self.log_path.read_text(errors="replace").splitlines():
            m = pattern.match(line)
            if not m:
                notable["(not a log line) " + normalized(line)] += 1
                continue
            levels[m.group(1)] += 1
            if m.group(1) in ("notice", "warning", "error", "critical"):
                notable[f"{m.group(1)}: {normalized(m.group(2))}"] += 1
        out = ["Postgate log lines by level: " + ", ".join(f"{k} {v}" for k, v in sorted(levels.items()))]
        out += [f"  {n} × {text}" for text, n in notable.most_common(12)]
        return out

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class PairTarget:
    """A private Postfix (postfix_instance.py; MX, and submission on two ports with SASL by
    Dovecot) and a private Dovecot (tests/e2e/dovecot.py; IMAP and IMAPS)."""

    name = "Postfix + Dovecot"
    smtp_server = "Postfix"
    imap_server = "Dovecot"

    def __init__(self, work: Path, args) -> None:
        self.work = work / "pair"
        self.work.mkdir()
        os.chmod(self.work, 0o755)  # Postfix's unprivileged daemons must reach their queue below it
        self.args = args
        self.dovecot = None
        self.dovecot_pid = None
        self.postfix = None

    def start(self) -> None:
        sys.path.insert(1, str(ROOT / "tests" / "e2e"))
        from dovecot import Dovecot  # noqa: E402
        from postfix_instance import PostfixInstance  # noqa: E402

        self.dovecot = Dovecot(users={u: PASSWORD for u in USERS}, separator="/")
        self.dovecot.start()
        deadline = time.monotonic() + 10
        while (pid := self.read_pid(self.dovecot.dir / "run" / "master.pid")) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.dovecot_pid = pid
        if self.args.dovecot_scheme.upper() != "PLAIN":
            # Hashed passwords, as a production passwd-file holds them (the file is read again
            # on the next login).
            hashed = subprocess.run(["doveadm", "pw", "-s", self.args.dovecot_scheme, "-p", PASSWORD],
                                    check=True, capture_output=True, text=True).stdout.strip()
            users = self.dovecot.dir / "users"
            users.write_text(users.read_text().replace("{PLAIN}" + PASSWORD, hashed))
        # Postfix's smtpd (user postfix) asks Dovecot's auth service for SASL.
        auth_socket = self.dovecot.dir / "run" / "auth-client"
        os.chmod(auth_socket, 0o666)
        self.imap, self.imaps = self.dovecot.imap_port, self.dovecot.imaps_port

        self.mx, self.submission, self.submissions = free_ports(3)
        base = self.work / "postfix"
        base.mkdir()
        pf = PostfixInstance(base, self.mx)
        pf.setup()
        self.postfix = pf
        key, cert = self.work / "key.pem", self.work / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        pf.postconf(f"smtpd_tls_cert_file={cert}", f"smtpd_tls_key_file={key}", "smtpd_tls_security_level=may")
        for port, wrapper in ((self.submission, False), (self.submissions, True)):
            service = f"{HOST}:{port}/inet"
            pf.postconf("-M", f"{service}={HOST}:{port} inet n - n - - smtpd")
            for setting in ("smtpd_tls_security_level=encrypt", "smtpd_sasl_auth_enable=yes",
                            "smtpd_sasl_type=dovecot", f"smtpd_sasl_path={auth_socket}",
                            "smtpd_client_restrictions=permit_sasl_authenticated,reject",
                            *(["smtpd_tls_wrappermode=yes"] if wrapper else [])):
                pf.postconf("-P", f"{service}/{setting}")
        pf.start()
        for port in (self.mx, self.submission, self.submissions, self.imap, self.imaps):
            wait_port(port)
        fill_mailboxes(self.imaps, self.args)

    @staticmethod
    def read_pid(path: Path) -> int | None:
        try:
            return int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def roots(self) -> list[int]:
        return [self.postfix.master_pid() or 0, self.dovecot_pid or 0]

    def alive(self) -> str:
        pf = self.postfix.master_pid() if self.postfix else None
        up = lambda pid: bool(pid) and Path(f"/proc/{pid}").exists()  # noqa: E731
        return f"Postfix {'running' if up(pf) else 'not running'}, Dovecot {'running' if up(self.dovecot_pid) else 'not running'}"

    def stored(self) -> int:
        deadline = time.monotonic() + 60
        while not self.postfix.queue_empty() and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.postfix.delivered()

    def log_summary(self) -> list[str]:
        out = []
        maillog = self.work / "postfix" / "maillog"
        text = maillog.read_text(errors="replace") if maillog.exists() else ""
        notable = Counter(normalized(m.group(0)) for m in re.finditer(r"(warning|error|fatal|panic): .*", text))
        out.append(f"Postfix maillog: {len(text.splitlines())} lines; warnings and errors:")
        out += [f"  {n} × {t}" for t, n in notable.most_common(8)]
        text = self.dovecot.log() if self.dovecot else ""
        (self.work / "dovecot.log").write_text(text)  # the Dovecot helper removes its directory when stopped
        notable = Counter(normalized(m.group(0)) for m in re.finditer(r"(Warning|Error|Fatal|Panic): .*", text))
        out.append(f"Dovecot log: {len(text.splitlines())} lines; warnings and errors:")
        out += [f"  {n} × {t}" for t, n in notable.most_common(8)]
        return out

    def stop(self) -> None:
        if self.postfix is not None:
            self.postfix.stop()
            self.postfix = None
        if self.dovecot is not None:
            pid = self.dovecot_pid
            self.dovecot.stop()
            deadline = time.monotonic() + 20
            while pid and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid and Path(f"/proc/{pid}").exists():
                for child in reversed(descendants(pid)):
                    try:
                        os.kill(child, signal.SIGKILL)
                    except OSError:
                        pass
            self.dovecot = None


# ------------------------------------------------------------------------ resources


def machine_cpu() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def monitor_worker(out_path: str, roots: list[int]) -> int:
    """Every two seconds until SIGTERM, one JSON line: the server's processes (the roots and
    their descendants), their summed RSS and PSS, the threads and open descriptors of a single-process
    server, and the machine's CPU use since the last line. A process of its own, so that
    reading /proc never holds up the legitimate clients' event loop."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    halt = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: halt.set())
    signal.signal(signal.SIGINT, lambda *_: halt.set())
    last = machine_cpu()
    with open(out_path, "a") as out:
        while not halt.wait(2.0):
            pids = descendants(*roots)
            total, idle = machine_cpu()
            sample = {"t": time.monotonic(), "procs": len(pids), "cpu": 1 - (idle - last[1]) / max(1, total - last[0]),
                      "rss": sum(status_kib(p, "VmRSS") for p in pids) / 1024,
                      "pss": sum(pss_kib(p) for p in pids) / 1024}
            last = (total, idle)
            if len(pids) == 1:
                sample["threads"] = status_kib(pids[0], "Threads")
                try:
                    sample["fds"] = len(os.listdir(f"/proc/{pids[0]}/fd"))
                except OSError:
                    pass
            out.write(json.dumps(sample) + "\n")
            out.flush()
    return 0


class Monitor:
    def __init__(self, roots: list[int], path: Path) -> None:
        self.path = path
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--monitor-worker", str(path),
                                      *map(str, roots)], stdin=subprocess.DEVNULL)
        self.samples: list[dict] = []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.path.exists():
            self.samples = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def window(self, t0: float, t1: float) -> list[dict]:
        return [s for s in self.samples if t0 <= s["t"] < t1]


# ------------------------------------------------------------------------ one server's run

PHASES = ("baseline", "attack", "after")


def attack_spec(target, args, out: Path) -> dict:
    return {"mx": target.mx, "imap": target.imap, "imaps": target.imaps, "submissions": target.submissions,
            "sources": [f"127.0.0.{i}" for i in range(2, 2 + args.sources)],
            "tls_stall": args.tls_stall, "slowloris": args.slowloris, "literals": args.literals,
            "flood": args.flood, "fetch_stall": args.fetch_stall, "guessers": args.guessers,
            "listers": args.listers, "trickle_interval": 1.0, "data_rate": args.data_rate,
            "literal_size": args.literal_size, "literal_rate": args.literal_rate,
            "guesses_per_connection": 3, "list_wildcards": args.list_wildcards, "list_rate": args.list_rate,
            "max_seconds": args.ramp + args.attack + 30, "out": str(out)}


async def drive(target, args, work: Path, state: dict) -> dict:
    loop = asyncio.get_running_loop()
    ctx = insecure_tls()
    t0 = loop.time() + 0.5
    windows = {"baseline": (t0, t0 + args.baseline)}
    attack_start = t0 + args.baseline
    attack_end = attack_start + args.ramp + args.attack
    windows["attack"] = (attack_start + args.ramp, attack_end)
    windows["after"] = (attack_end, attack_end + args.after)
    end = attack_end + args.after
    ops: list[Op] = []
    counter = iter(range(10 ** 9))

    async def smtp_op(i: int) -> None:
        await smtp_delivery(target.mx, LEGIT_SMTP_SOURCES[i % len(LEGIT_SMTP_SOURCES)],
                            f"legit-{target.smtp_server}-{next(counter)}")

    async def imap_op(i: int) -> dict[str, float]:
        return await imap_session(target.imaps, LEGIT_IMAP_SOURCES[i % len(LEGIT_IMAP_SOURCES)], ctx)

    loads = [asyncio.create_task(open_loop("smtp", smtp_op, args.smtp_rate, args.concurrency, t0, end, args.op_timeout, ops)),
             asyncio.create_task(open_loop("imap", imap_op, args.imap_rate, args.concurrency, t0, end, args.op_timeout, ops))]

    print(f"  {target.name}: baseline {args.baseline:g} s", flush=True)
    await asyncio.sleep(max(0, attack_start - loop.time()))
    stats_path = work / f"attacks-{target.name.split()[0].lower()}.json"
    spec_path = work / f"spec-{target.name.split()[0].lower()}.json"
    spec_path.write_text(json.dumps(attack_spec(target, args, stats_path)))
    attack_log = open(work / f"attacks-{target.name.split()[0].lower()}.log", "wb")
    worker = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--attack-worker", str(spec_path)],
                              stdout=attack_log, stderr=attack_log, stdin=subprocess.DEVNULL)
    attack_log.close()
    state["worker"] = worker
    print(f"  {target.name}: attacks for {args.ramp + args.attack:g} s (the first {args.ramp:g} s not counted)", flush=True)
    await asyncio.sleep(max(0, attack_end - loop.time()))
    worker.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(loop.run_in_executor(None, worker.wait), 60)
    except asyncio.TimeoutError:
        worker.kill()
        await loop.run_in_executor(None, worker.wait)
    state["worker"] = None
    print(f"  {target.name}: attacks stopped; after {args.after:g} s", flush=True)
    await asyncio.gather(*loads)
    attacks = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    return {"ops": ops, "windows": windows, "attacks": attacks}


def run_target(target, args, work: Path) -> dict:
    print(f"{target.name}: starting and filling mailboxes", flush=True)
    target.start()
    monitor = Monitor(target.roots(), work / f"monitor-{target.name.split()[0].lower()}.jsonl")
    state: dict = {"worker": None}
    try:
        result = asyncio.run(drive(target, args, work, state))
    finally:
        worker = state.get("worker")
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        monitor.stop()
    result["alive"] = target.alive()
    result["accepted"] = sum(1 for op in result["ops"] if op.kind == "smtp" and op.ok)
    result["stored"] = target.stored()
    result["logs"] = target.log_summary()
    result["resources"] = {phase: monitor.window(*result["windows"][phase]) for phase in PHASES}
    result["resources"]["all"] = monitor.samples
    return result


# ------------------------------------------------------------------------ report


def phase_row(result: dict, phase: str) -> dict:
    t0, t1 = result["windows"][phase]
    span = t1 - t0
    ops = [op for op in result["ops"] if t0 <= op.due < t1]
    row: dict = {"errors": Counter()}
    for kind in ("smtp", "imap"):
        mine = [op for op in ops if op.kind == kind]
        good = [op.latency for op in mine if op.ok]
        row[kind] = {"rate": len(good) / span if span else 0.0, "p50": percentile(good, 50) * 1000,
                     "p99": percentile(good, 99) * 1000, "count": len(mine), "ok": len(good)}
        for op in mine:
            if not op.ok:
                row["errors"][f"{kind.upper()}: {op.error}"] += 1
    return row


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def ratio(a: float, b: float) -> str:
    return "-" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.2f}x"


def report(results: dict, results_load: dict, args) -> None:
    print()
    print(f"Load average before the first server started: {' '.join(results_load['before'])}; after the last stopped: "
          f"{' '.join(results_load['after'])}")
    print(f"Legitimate clients: SMTP {args.smtp_rate:g} deliveries/s offered (one connection each, 2 KiB), "
          f"IMAP {args.imap_rate:g} sessions/s offered (IMAPS, LOGIN, SELECT, FETCH 1:5 BODY.PEEK[]); "
          f"latency from when each was due; phases baseline {args.baseline:g} s, under attack {args.attack:g} s "
          f"(after a {args.ramp:g} s ramp), after {args.after:g} s; {os.cpu_count()} CPUs shared by servers and clients")
    print()
    print("| server | phase | SMTP deliveries/s | SMTP p50 ms | SMTP p99 ms | IMAP sessions/s | IMAP p50 ms | "
          "IMAP p99 ms | errors | SMTP p99 / baseline | IMAP p99 / baseline |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = {name: {phase: phase_row(r, phase) for phase in PHASES} for name, r in results.items()}
    labels = {"baseline": "baseline", "attack": "under attack", "after": "after the attack"}
    for name, phases in rows.items():
        base = phases["baseline"]
        for phase in PHASES:
            row = phases[phase]
            print(f"| {name} | {labels[phase]} | {row['smtp']['rate']:.1f} | {ms(row['smtp']['p50'])} | "
                  f"{ms(row['smtp']['p99'])} | {row['imap']['rate']:.1f} | {ms(row['imap']['p50'])} | "
                  f"{ms(row['imap']['p99'])} | {sum(row['errors'].values())} | "
                  f"{ratio(row['smtp']['p99'], base['smtp']['p99'])} | {ratio(row['imap']['p99'], base['imap']['p99'])} |")
    print()
    print("Goal: Postgate's legitimate p99 under attack within 2x of its own baseline, and a better ratio than "
          "Postfix + Dovecot.")
    for name, phases in rows.items():
        base, hit = phases["baseline"], phases["attack"]
        print(f"  {name}: p99 under attack / baseline: SMTP {ratio(hit['smtp']['p99'], base['smtp']['p99'])}, "
              f"IMAP {ratio(hit['imap']['p99'], base['imap']['p99'])}; "
              f"errors under attack {sum(hit['errors'].values())} of {hit['smtp']['count'] + hit['imap']['count']}")
    print()
    for name, phases in rows.items():
        for phase in PHASES:
            if phases[phase]["errors"]:
                print(f"{name}, {labels[phase]}, failed operations: "
                      + "; ".join(f"{n} × {e}" for e, n in phases[phase]["errors"].most_common(6)))
    print()
    print("Steps of the legitimate IMAP sessions that succeeded, p50 / p99 ms (connect: TCP, TLS handshake, greeting; "
          "the time an operation waited for its turn before connecting is in the first table only):")
    print()
    print("| server | phase | " + " | ".join(IMAP_STEPS) + " |")
    print("| --- | --- |" + " ---: |" * len(IMAP_STEPS))
    for name, r in results.items():
        for phase in PHASES:
            t0, t1 = r["windows"][phase]
            sessions = [op.steps for op in r["ops"] if op.kind == "imap" and op.ok and op.steps and t0 <= op.due < t1]
            cells = []
            for step in IMAP_STEPS:
                xs = [s[step] for s in sessions if step in s]
                cells.append(f"{ms(percentile(xs, 50) * 1000)} / {ms(percentile(xs, 99) * 1000)}")
            print(f"| {name} | {labels[phase]} | " + " | ".join(cells) + " |")
    print()
    print("Attacks, as their clients saw them: connections made, connections held open (peak, and at the end), "
          "connections still waiting for a greeting or an answer at the end, the median seconds a held connection "
          "lasted until the server closed it, and how connections ended:")
    print()
    print("| server | attack | clients | connections | held at once (peak) | held at the end | waiting for the server at the end | "
          "closed by server after, median s | outcomes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, r in results.items():
        for attack, st in sorted(r["attacks"].items()):
            outcomes = dict(st["outcomes"])
            outcomes.update(st["events"])
            total = sum(st["outcomes"].values())
            held = st["held"]
            extra = "; no LIST answered" if attack.startswith("7") and not st["latencies"] else ""
            if st["latencies"]:
                extra = f"; LIST p50 {percentile(st['latencies'], 50) * 1000:.1f} ms, p99 {percentile(st['latencies'], 99) * 1000:.1f} ms"
            print(f"| {name} | {attack[2:]} | {st['clients']} | {total + st['waiting_at_end'] + st['open_at_end']} | {st['peak_open']} | "
                  f"{st['open_at_end']} | {st['waiting_at_end']} | {(f'{percentile(held, 50):.1f}' if held else '-')} | "
                  + "; ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])) + extra + " |")
    print()
    print("Server resources (sampled every two seconds; memory is the proportional set size summed over the server's "
          "processes; CPU is the whole machine's, clients included):")
    print()
    print("| server | phase | processes (max) | PSS MiB (max) | threads (max) | open fds (max) | machine CPU busy (mean) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        for phase in PHASES:
            samples = r["resources"][phase]
            if not samples:
                continue
            threads = max((s.get("threads", 0) for s in samples), default=0)
            fds = max((s.get("fds", 0) for s in samples), default=0)
            print(f"| {name} | {labels[phase]} | {max(s['procs'] for s in samples)} | {max(s['pss'] for s in samples):.1f} | "
                  f"{threads or '-'} | {fds or '-'} | {sum(s['cpu'] for s in samples) / len(samples):.0%} |")
    print()
    for name, r in results.items():
        samples = r["resources"]["all"]
        pss = [s["pss"] for s in samples if s["procs"]]
        trend = f"PSS first {pss[0]:.1f} MiB, last {pss[-1]:.1f} MiB" if pss else "no samples"
        print(f"{name}: at the end {r['alive']}; {r['accepted']} legitimate deliveries acknowledged, "
              f"{r['stored']} in the address's Maildir; {trend}")
        for line in r["logs"]:
            print(line)
    print()


# ------------------------------------------------------------------------ main


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--attack-worker":
        return attack_worker(sys.argv[2])
    if len(sys.argv) >= 3 and sys.argv[1] == "--monitor-worker":
        return monitor_worker(sys.argv[2], [int(x) for x in sys.argv[3:]])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate",
                    help="the postgate binary (default .build/release/postgate; copied before the run)")
    ap.add_argument("--servers", choices=("both", "postgate", "pair"), default="both",
                    help="Postgate, Postfix + Dovecot, or both in turn (default both)")
    ap.add_argument("--baseline", type=float, default=20, help="seconds without attack (default 20)")
    ap.add_argument("--ramp", type=float, default=5, help="seconds of attack before measuring (default 5)")
    ap.add_argument("--attack", type=float, default=40, help="seconds measured under attack (default 40)")
    ap.add_argument("--after", type=float, default=10, help="seconds measured after the attacks stop (default 10)")
    ap.add_argument("--smtp-rate", type=float, default=20, help="legitimate deliveries offered per second (default 20)")
    ap.add_argument("--imap-rate", type=float, default=4, help="legitimate IMAP sessions offered per second (default 4)")
    ap.add_argument("--concurrency", type=int, default=32, help="most legitimate operations of a kind at once (default 32)")
    ap.add_argument("--op-timeout", type=float, default=30, help="seconds a legitimate operation may take (default 30)")
    ap.add_argument("--sources", type=int, default=64, help="attacker source addresses 127.0.0.2 and up (default 64)")
    ap.add_argument("--tls-stall", type=int, default=48, help="stalled TLS handshakes: half STARTTLS on MX, half implicit TLS (default 48)")
    ap.add_argument("--slowloris", type=int, default=48, help="slowloris SMTP clients: half command lines, half DATA (default 48)")
    ap.add_argument("--data-rate", type=int, default=10, help="octets per second of the slow DATA clients (default 10)")
    ap.add_argument("--literals", type=int, default=16, help="clients announcing large literals before login (default 16)")
    ap.add_argument("--literal-size", type=int, default=10 * 1024 * 1024, help="announced literal size (default 10 MiB)")
    ap.add_argument("--literal-rate", type=int, default=256 * 1024, help="octets per second of a literal's data (default 256 KiB)")
    ap.add_argument("--flood", type=int, default=256, help="unauthenticated IMAP connections held open (default 256)")
    ap.add_argument("--fetch-stall", type=int, default=8, help="logged-in clients that stop reading a FETCH (default 8)")
    ap.add_argument("--stall-messages", type=int, default=30, help="400 KB messages in the staller's INBOX (default 30)")
    ap.add_argument("--guessers", type=int, default=16, help="password guessers: half IMAP, half submission (default 16)")
    ap.add_argument("--listers", type=int, default=4, help="clients sending LIST with wildcard patterns (default 4)")
    ap.add_argument("--list-wildcards", type=int, default=16, help="wildcards in a LIST pattern (default 16)")
    ap.add_argument("--list-rate", type=float, default=20,
                    help="LIST commands a second per client at most, each after the last one's answer; 0: no pause (default 20)")
    ap.add_argument("--dovecot-scheme", default="SHA512-CRYPT",
                    help="password scheme of Dovecot's users (default SHA512-CRYPT; PLAIN as the e2e tests)")
    ap.add_argument("--keep", type=Path, help="copy the servers' logs and the attack statistics to this directory")
    netns.add_argument(ap)
    args = ap.parse_args()
    if not 1 <= args.sources <= 250:
        ap.error("--sources must be 1 to 250")
    netns.isolate(__file__, args.no_netns)

    use_pair = args.servers in ("both", "pair")
    use_postgate = args.servers in ("both", "postgate")
    if use_pair and not (shutil.which("postfix") and Path("/usr/sbin/dovecot").exists()):
        print("hostile_load: Postfix or Dovecot is not installed (scripts/install-deps.sh --bench); Postgate only",
              file=sys.stderr)
        use_pair = False
    if use_postgate and not args.bin.exists():
        print(f"hostile_load: {args.bin} not built (swift build -c release --product postgate)", file=sys.stderr)
        return 2
    if not (use_postgate or use_pair):
        return 2

    work = Path(tempfile.mkdtemp(prefix="postgate-hostile-"))
    os.chmod(work, 0o755)
    (work / "bin").mkdir()
    binary = work / "bin" / "postgate"
    if use_postgate:
        shutil.copy2(args.bin, binary)
        subprocess.run([str(binary), "--help"], check=True, capture_output=True)  # a whole, runnable copy

    def terminate(signum, frame):  # a SIGTERM ends the run as Ctrl-C does: every server is stopped
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, terminate)

    results: dict = {}
    load = {"before": Path("/proc/loadavg").read_text().split()[:3]}
    targets: list = []
    try:
        if use_postgate:
            pg = PostgateTarget(binary, work, args)
            targets.append(pg)
            try:
                results[pg.name] = run_target(pg, args, work)
            finally:
                pg.stop()
        if use_pair:
            pair = PairTarget(work, args)
            targets.append(pair)
            try:
                results[pair.name] = run_target(pair, args, work)
            finally:
                pair.stop()
        load["after"] = Path("/proc/loadavg").read_text().split()[:3]
        report(results, load, args)
    except KeyboardInterrupt:
        print("hostile_load: interrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        for target in targets:
            target.stop()
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for pattern in ("attacks-*", "*/postgate.log", "pair/dovecot.log", "pair/postfix/maillog"):
                for path in work.glob(pattern):
                    shutil.copy(path, args.keep / f"{path.parent.name}-{path.name}")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
