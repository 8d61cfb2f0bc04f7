"""An asyncio SMTP load generator: N sessions, each reusing its connection for many
messages (MAIL, RCPT and DATA pipelined in one write, then the body), bounded by a
message count and a time limit. Latency is measured per message from the write of
MAIL FROM to the reply after the final dot."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field


def make_body(size: int) -> bytes:
    """Message text of about `size` bytes after a Message-ID line the caller prepends; ends
    with the end-of-data CRLF.CRLF. No line starts with a dot, so no stuffing is needed."""
    head = (
        b"From: Bench <bench@example.org>\r\n"
        b"To: support@acme.test\r\n"
        b"Subject: benchmark message\r\n"
        b"Date: Mon, 03 Feb 2025 10:00:00 +0000\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
    )
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n"
    lines = max(1, (size - len(head) - 60) // len(line))
    return head + line * lines + b".\r\n"


@dataclass
class CellResult:
    sessions: int
    size: int
    accepted: int = 0
    refused: int = 0
    errors: int = 0
    wall: float = 0.0
    gen_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    # The two halves of each accepted message's latency: MAIL FROM to the 354 after the
    # pipelined MAIL/RCPT/DATA, and the body to the 250 after the final dot.
    envelope_latencies: list[float] = field(default_factory=list)
    data_latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.accepted / self.wall if self.wall else 0.0

    def percentile(self, p: float, latencies: list[float] | None = None) -> float:
        values = self.latencies if latencies is None else latencies
        if not values:
            return float("nan")
        xs = sorted(values)
        k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
        return xs[k]


async def _reply(reader: asyncio.StreamReader) -> int:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed by server")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


async def _session(host: str, port: int, body: bytes, tag: str, budget: list[int],
                   deadline: float, res: CellResult, rcpt: str) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        if await _reply(reader) != 220:
            raise ConnectionError("no 220 greeting")
        writer.write(b"EHLO bench.example.org\r\n")
        if await _reply(reader) != 250:
            raise ConnectionError("EHLO refused")
        envelope = f"MAIL FROM:<bench@example.org>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode()
        n = 0
        while budget[0] > 0 and time.monotonic() < deadline:
            budget[0] -= 1
            n += 1
            mid = f"Message-ID: <{tag}-{n}@bench.example.org>\r\n".encode()
            t0 = time.perf_counter()
            writer.write(envelope)
            c1 = await _reply(reader)
            c2 = await _reply(reader)
            c3 = await _reply(reader)
            if (c1, c2, c3) != (250, 250, 354):
                res.refused += 1
                writer.write(b"RSET\r\n")
                await _reply(reader)
                continue
            t_data = time.perf_counter()
            writer.writelines((mid, body))
            code = await _reply(reader)
            t1 = time.perf_counter()
            if code == 250:
                res.accepted += 1
                res.latencies.append(t1 - t0)
                res.envelope_latencies.append(t_data - t0)
                res.data_latencies.append(t1 - t_data)
            else:
                res.refused += 1
        writer.write(b"QUIT\r\n")
        await writer.drain()
        try:
            await asyncio.wait_for(_reply(reader), 5)
        except Exception:
            pass
    finally:
        writer.close()


async def run_cell(host: str, port: int, sessions: int, size: int, max_messages: int,
                   seconds: float, tag: str, rcpt: str = "support@acme.test") -> CellResult:
    res = CellResult(sessions=sessions, size=size)
    body = make_body(size)
    budget = [max_messages]
    cpu0 = time.process_time()
    t0 = time.monotonic()
    deadline = t0 + seconds
    outcomes = await asyncio.gather(
        *(_session(host, port, body, f"{tag}-s{i}", budget, deadline, res, rcpt) for i in range(sessions)),
        return_exceptions=True,
    )
    res.wall = time.monotonic() - t0
    res.gen_cpu = time.process_time() - cpu0
    res.errors = sum(1 for o in outcomes if isinstance(o, BaseException))
    if res.errors:
        res.first_error = next(o for o in outcomes if isinstance(o, BaseException))  # type: ignore[attr-defined]
    return res


def cell(host: str, port: int, sessions: int, size: int, max_messages: int, seconds: float, tag: str) -> CellResult:
    return asyncio.run(run_cell(host, port, sessions, size, max_messages, seconds, tag))


if __name__ == "__main__":  # quick manual use: python3 bench/smtp_load.py PORT SESSIONS SIZE
    import sys
    port, sessions, size = (int(x) for x in sys.argv[1:4])
    r = cell("127.0.0.1", port, sessions, size, 100000, 5.0, f"manual{os.getpid()}")
    print(f"{r.accepted} accepted, {r.rate:.0f}/s, p99 {r.percentile(99) * 1000:.1f} ms, gen cpu {r.gen_cpu / r.wall:.0%}")
