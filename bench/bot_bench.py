#!/usr/bin/env python3
"""Bot benchmark (a script, not a test): customer messages through a bot that replies to
each, end to end.

`postgate serve` with a bot attached to support@acme.test (an HTTP server in this process
that answers every event at once with a reply) and its delivery worker pointed at an
aiosmtpd sink. N customers (default 1,000, each with their own session) write over SMTP
from `--clients` concurrent connections; each message is stored and held for the bot, the
bot is asked, its reply is composed, DKIM-signed, queued and delivered to the sink. Reported:
messages per second from the first MAIL to the sink's last reply, and the latency of each
message from its SMTP `250` to its reply's arrival at the sink (the reply leaving the
queue), p50/p90/p99/max. No other product does this, so there is no peer in the run: the
numbers are Postgate's own, to compare across versions.

    python3 bench/bot_bench.py [--messages 1000] [--clients 8] [--bin .build/release/postgate]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns  # noqa: E402
from outbound_bench import free_port, run, wait_port  # noqa: E402

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]


class ReplyingBot(BaseHTTPRequestHandler):
    """Answers every event with a reply naming the customer's order."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        subject = event["data"]["message"]["subject"]
        body = json.dumps({"action": "reply", "text": f"Your {subject} ships today."}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Sink:
    """Notes when the reply to each customer message arrives."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        match = re.search(rb"In-Reply-To: <(c\d+@example\.test)>", envelope.original_content)
        if match:
            with self.lock:
                self.arrived[match.group(1).decode()] = time.perf_counter()
        return "250 2.0.0 ok"


def customer(index: int) -> bytes:
    return (f"From: Customer {index} <customer{index}@example.test>\r\nTo: support@acme.test\r\n"
            f"Subject: order {index}\r\nMessage-ID: <c{index}@example.test>\r\n\r\n"
            + "Where is my order? It has not arrived yet.\r\n" * 10).encode()


def write_all(port: int, indices: list[int], accepted: dict[str, float], lock: threading.Lock) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        for i in indices:
            client.sendmail(f"customer{i}@example.test", ["support@acme.test"], customer(i))
            with lock:
                accepted[f"c{i}@example.test"] = time.perf_counter()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate")
    netns.add_argument(parser)
    args = parser.parse_args()
    netns.isolate(__file__, args.no_netns)

    sink = Sink()
    sink_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink_port)
    controller.start()
    bot = ThreadingHTTPServer(("127.0.0.1", free_port()), ReplyingBot)
    threading.Thread(target=bot.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        run(args.bin, data, "domain", "add", "acme.test")
        run(args.bin, data, "address", "add", "support@acme.test", "--name", "Acme Support")
        run(args.bin, data, "bot", "set", "support@acme.test", "--url", f"http://127.0.0.1:{bot.server_address[1]}/decide")
        config = Path(tmp) / "config.yaml"
        config.write_text(f"outbound:\n  smarthost: 127.0.0.1:{sink_port}\n  tls: none\n  poll_interval: 0.05\n"
                          "bots:\n  poll_interval: 0.05\n" + netns.LOOPBACK_DNS)
        ports = {name: free_port() for name in ("smtp", "imap", "imaps", "submission", "submissions")}
        server = subprocess.Popen(
            [str(args.bin), "serve", "--data", str(data), "--config", str(config),
             *[arg for name, port in ports.items() for arg in (f"--{name}-listen", f"127.0.0.1:{port}")]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(ports["smtp"])
            accepted: dict[str, float] = {}
            lock = threading.Lock()
            start = time.perf_counter()
            threads = [threading.Thread(target=write_all, args=(ports["smtp"], list(range(c, args.messages, args.clients)), accepted, lock))
                       for c in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            while len(sink.arrived) < args.messages and time.perf_counter() - start < 600:
                time.sleep(0.01)
            seconds = max(sink.arrived.values(), default=start) - start
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
            controller.stop()
            bot.shutdown()
    latencies = [(sink.arrived[key] - accepted[key]) * 1000 for key in sink.arrived if key in accepted]
    print(f"| messages | clients | replied | seconds | messages/s | p50 ms | p90 ms | p99 ms | max ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {args.messages} | {args.clients} | {len(sink.arrived)} | {seconds:.2f} | {len(sink.arrived) / seconds:.1f} | "
          f"{percentile(latencies, 50):.0f} | {percentile(latencies, 90):.0f} | {percentile(latencies, 99):.0f} | {max(latencies):.0f} |")
    if len(sink.arrived) < args.messages:
        raise SystemExit(f"only {len(sink.arrived)} of {args.messages} replies arrived")


if __name__ == "__main__":
    main()
