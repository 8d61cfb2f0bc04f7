#!/usr/bin/env python3
"""Outbound benchmark (a script, not a test): replies composed, DKIM-signed and delivered
to a local sink, and the queue's depth when the next hop answers 451 to half the attempts.

1. End to end: `postgate serve` with its submission listener and its delivery worker; four
   agents' mail clients (smtplib: STARTTLS, AUTH PLAIN) send N replies over submission,
   each one composed, DKIM-signed and queued durably before its 250, and the worker
   delivers them to an aiosmtpd sink: replies per second from the first MAIL to the sink's
   last acknowledgement. Then the same steps one at a time from the command line:
   `postgate outbound submit` N replies (compose + RSA-2048 DKIM + durable enqueue, one
   process each, so process start is included), then `postgate outbound flush` delivers
   them to an aiosmtpd sink on loopback: replies per second for each phase.
2. M replies queued, a sink that answers 451 to every other DATA, retry after 1 s
   (`outbound.retry.first: 1, factor: 1`), the worker `postgate outbound run`: the number
   of messages still pending, sampled every 0.5 s, until the queue is empty.

    python3 bench/outbound_bench.py [--replies 200] [--bin .build/release/postgate]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import smtplib
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns  # noqa: E402

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]


class Sink:
    """Counts acknowledged messages; with `flaky`, answers 451 to every other DATA."""

    def __init__(self, flaky: bool = False):
        self.flaky = flaky
        self.attempts = 0
        self.acknowledged = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            if self.flaky and self.attempts % 2 == 1:
                return "451 4.3.0 try again"
            self.acknowledged += 1
        return "250 2.0.0 ok"


@contextlib.contextmanager
def running_sink(flaky: bool = False):
    """An aiosmtpd sink on a free loopback port, for the duration of the block."""
    sink = Sink(flaky=flaky)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(binary: Path, data: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run([str(binary), *args, "--data", str(data)], input=stdin, capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"postgate {' '.join(args)}: {proc.stderr.decode()}")
    return proc.stdout.decode()


def prepare(binary: Path, root: Path, port: int, retry: str) -> tuple[Path, Path]:
    data = root / "data"
    run(binary, data, "domain", "add", "acme.test")
    run(binary, data, "address", "add", "support@acme.test", "--name", "Acme Support")
    config = root / "config.yaml"
    config.write_text(f"outbound:\n  smarthost: 127.0.0.1:{port}\n  tls: none\n  retry: {retry}\n  poll_interval: 0.1\n" + netns.LOOPBACK_DNS)
    return data, config


def reply(i: int) -> bytes:
    return (f"To: customer{i}@example.test\r\nSubject: Re: order {i}\r\n\r\n"
            + "Thank you for your message. Your order ships today.\r\n" * 40).encode()


def submit_all(binary: Path, data: Path, count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        run(binary, data, "outbound", "submit", "--from", "support@acme.test", "--to", f"customer{i}@example.test", stdin=reply(i))
    return time.perf_counter() - start


AGENT_PASSWORD = "bench-password-123"


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listening on {port}")
            time.sleep(0.05)


def submit_over_smtp(port: int, replies: list[int]) -> None:
    """One agent's mail client: STARTTLS (the dev certificate is self-signed), AUTH, then a reply per message."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.starttls(context=context)
        client.login("agent", AGENT_PASSWORD)
        for i in replies:
            client.sendmail("support@acme.test", [f"customer{i}@example.test"], reply(i))


def end_to_end(binary: Path, count: int, clients: int = 4) -> tuple[str, int, float]:
    with running_sink() as (sink, sink_port), tempfile.TemporaryDirectory() as tmp:
        data, config = prepare(binary, Path(tmp), sink_port, "{first: 60}")
        run(binary, data, "agent", "add", "agent", "--password-stdin", stdin=(AGENT_PASSWORD + "\n").encode())
        run(binary, data, "agent", "grant", "agent", "support@acme.test")
        ports = {name: free_port() for name in ("smtp", "imap", "imaps", "submission", "submissions")}
        server = subprocess.Popen(
            [str(binary), "serve", "--data", str(data), "--config", str(config),
             *[arg for name, port in ports.items() for arg in (f"--{name}-listen", f"127.0.0.1:{port}")]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(ports["submission"])
            start = time.perf_counter()
            threads = [threading.Thread(target=submit_over_smtp, args=(ports["submission"], list(range(c, count, clients))))
                       for c in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            while sink.acknowledged < count and time.perf_counter() - start < 300:
                time.sleep(0.01)
            seconds = time.perf_counter() - start
            assert sink.acknowledged == count, sink.acknowledged
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    return (f"end to end: {clients} clients submit over STARTTLS + AUTH, worker delivers", count, seconds)


def pending(data: Path) -> int:
    with sqlite3.connect(data / "postgate.sqlite") as db:
        return db.execute("SELECT COUNT(DISTINCT message_id) FROM outbound_recipient WHERE state IN ('queued','deferred')").fetchone()[0]


def throughput(binary: Path, count: int) -> list[tuple[str, int, float]]:
    with running_sink() as (sink, port), tempfile.TemporaryDirectory() as tmp:
        data, config = prepare(binary, Path(tmp), port, "{first: 60}")
        submit_seconds = submit_all(binary, data, count)
        start = time.perf_counter()
        run(binary, data, "outbound", "flush", "--config", str(config))
        deliver_seconds = time.perf_counter() - start
        assert sink.acknowledged == count, sink.acknowledged
    return [("submit: compose + DKIM + durable enqueue", count, submit_seconds),
            ("deliver: flush to a loopback sink", count, deliver_seconds)]


def depth_under_451(binary: Path, count: int) -> tuple[list[tuple[float, int]], Sink]:
    samples: list[tuple[float, int]] = []
    with running_sink(flaky=True) as (sink, port), tempfile.TemporaryDirectory() as tmp:
        data, config = prepare(binary, Path(tmp), port, "{first: 1, factor: 1, max_interval: 1}")
        submit_all(binary, data, count)
        worker = subprocess.Popen([str(binary), "outbound", "run", "--data", str(data), "--config", str(config)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = time.perf_counter()
        try:
            while True:
                depth = pending(data)
                samples.append((time.perf_counter() - start, depth))
                if depth == 0 or time.perf_counter() - start > 300:
                    break
                time.sleep(0.5)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
    return samples, sink


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate")
    netns.add_argument(parser)
    args = parser.parse_args()
    netns.isolate(__file__, args.no_netns)

    print(f"| phase ({args.replies} replies, ~2 KiB, RSA-2048 DKIM) | seconds | replies/s |")
    print("| --- | ---: | ---: |")
    for name, count, seconds in [end_to_end(args.bin, args.replies)] + throughput(args.bin, args.replies):
        print(f"| {name} | {seconds:.2f} | {count / seconds:.1f} |")

    samples, sink = depth_under_451(args.bin, args.replies)
    print()
    print(f"| seconds | messages pending (next hop answers 451 to every other DATA; {args.replies} queued) |")
    print("| ---: | ---: |")
    step = max(1, len(samples) // 12)
    for at, depth in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        print(f"| {at:.1f} | {depth} |")
    print(f"\nDATA attempts {sink.attempts}, acknowledged {sink.acknowledged} (each message delivered once: "
          f"{'yes' if sink.acknowledged == args.replies else 'NO'})")


if __name__ == "__main__":
    main()
