#!/usr/bin/env python3
"""Postgate SMTP benchmark (a script, not a test).

Accepted messages per second and p99 latency (MAIL FROM to the 250 after the final dot)
for 4 KiB and 100 KiB messages with 1 and 32 concurrent sessions, each session reusing
its connection; and the server's peak RSS (VmHWM). Where Postfix is installed
(scripts/install-deps.sh --bench), the same load runs against a private Postfix instance
delivering to a Maildir, and both are printed side by side with the ratio.

Everything runs in a loopback-only network namespace (unshare -n): the script re-executes
itself inside one, so no server and no name lookup ever leaves the machine.

    python3 bench/smtp_bench.py [--seconds 10] [--rounds 3] [--max-messages 20000] [--no-postfix]

Each cell runs --rounds times per server, the two servers taking turns cell by cell, and
the median run is reported with every round's ratio: on a shared machine whose speed
drifts by a third within minutes, a whole run of one server then a whole run of the other
measured the drift as much as the servers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from smtp_load import CellResult, cell  # noqa: E402
from postfix_instance import PostfixInstance  # noqa: E402
import netns  # noqa: E402

SIZES = [4 * 1024, 100 * 1024]
CONCURRENCY = [1, 32]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode} at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listening on {port}")
            time.sleep(0.05)


def vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def count_files(maildir: Path) -> int:
    return sum(1 for d in ("new", "cur") if (maildir / d).exists() for _ in os.scandir(maildir / d))


def human(size: int) -> str:
    return f"{size // 1024} KiB"


# ------------------------------------------------------------------------ runners


class PostgateServer:
    """`postgate serve` on a fresh data directory, one hosted address."""

    name = "postgate"

    def __init__(self, binary: Path, work: Path) -> None:
        self.data = work / "postgate-data"
        for cmd in (["domain", "add", "acme.test"], ["address", "add", "support@acme.test"]):
            subprocess.run([str(binary), *cmd, "--data", str(self.data)], check=True, stdout=subprocess.DEVNULL)
        self.port = free_port()
        self.log = open(work / "postgate.log", "wb")
        config = work / "postgate.yaml"
        config.write_text(netns.LOOPBACK_DNS)
        self.proc = subprocess.Popen([str(binary), "serve", "--data", str(self.data), "--config", str(config),
                                      "--smtp-listen", f"127.0.0.1:{self.port}"],
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, restore_signals=True)
        self.info: dict = {"accepted_total": 0}
        wait_port(self.port, self.proc)
        cell("127.0.0.1", self.port, 4, 4096, 200, 5, "pg-warmup")
        self.info["rss_idle"] = vm_hwm(self.proc.pid)

    def run(self, size: int, conc: int, args, tag: str) -> CellResult:
        r = cell("127.0.0.1", self.port, conc, size, args.max_messages, args.seconds, f"pg-{tag}")
        self.info["accepted_total"] += r.accepted
        return r

    def finish(self) -> None:
        self.info["rss_peak"] = vm_hwm(self.proc.pid)
        self.info["stored"] = count_files(self.data / "maildir" / "acme.test" / "support")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class PostfixServer:
    """A private Postfix instance delivering to a Maildir; each cell waits until what it
    accepted is delivered, so its queue manager and local agents are idle before the next."""

    name = "postfix"

    def __init__(self, work: Path) -> None:
        self.base = work / "postfix"
        self.base.mkdir()
        self.pf = PostfixInstance(self.base, free_port())
        self.info: dict = {"pss_peak_sum": 0, "rss_peak_proc": 0, "procs": 0, "drain": {}}
        self.pf.setup()
        self.pf.start()
        self.port = self.pf.port
        warm = cell("127.0.0.1", self.port, 4, 4096, 200, 5, "pf-warmup")
        self.expected = warm.accepted
        self.wait_delivered()

    def sample_rss(self) -> None:
        pids = self.pf.pids()
        hwms = [vm_hwm(p) for p in pids]
        self.info["pss_peak_sum"] = max(self.info["pss_peak_sum"], sum(pss(p) for p in pids))
        self.info["procs"] = max(self.info["procs"], len(pids))
        self.info["rss_peak_proc"] = max([self.info["rss_peak_proc"], *hwms])

    def wait_delivered(self, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while self.pf.delivered() < self.expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"postfix delivered {self.pf.delivered()} of {self.expected} in {timeout}s; "
                                   f"see {self.base}/maillog")
            time.sleep(0.02)
        return time.monotonic()

    def run(self, size: int, conc: int, args, tag: str) -> CellResult:
        t0 = time.monotonic()
        r = cell("127.0.0.1", self.port, conc, size, args.max_messages, args.seconds, f"pf-{tag}")
        self.sample_rss()  # after the load, before its processes go idle and exit
        self.expected += r.accepted
        t_done = self.wait_delivered()
        r.drain = r.accepted / (t_done - t0) if t_done > t0 else 0.0  # type: ignore[attr-defined]
        return r

    def finish(self) -> None:
        self.info["stored"] = self.pf.delivered()
        self.info["accepted_total"] = self.expected

    def stop(self) -> None:
        self.pf.stop()


def median_cell(runs: list[CellResult]) -> CellResult:
    """The run with the median rate (the lower middle one of an even count)."""
    return sorted(runs, key=lambda r: r.rate)[(len(runs) - 1) // 2]


def measure(servers: list, args) -> dict:
    """Every cell `args.rounds` times, the servers taking turns cell by cell (and each round
    in the other order), so that a machine that slows down or speeds up during the run
    weighs on both alike. Returns {server name: {(size, sessions): [CellResult]}}."""
    results: dict = {server.name: {} for server in servers}
    for size in SIZES:
        for conc in CONCURRENCY:
            for round_ in range(args.rounds):
                order = servers if round_ % 2 == 0 else list(reversed(servers))
                for server in order:
                    r = server.run(size, conc, args, f"{size}-{conc}-{round_}")
                    results[server.name].setdefault((size, conc), []).append(r)
                    print(f"  {server.name:8} {human(size):>8} x{conc:<3} {r.accepted:6d} accepted  {r.rate:8.0f}/s  "
                          f"p99 {r.percentile(99) * 1000:7.1f} ms  loadgen CPU {r.gen_cpu / r.wall:4.0%}"
                          + (f"  in Maildir {r.drain:6.0f}/s" if hasattr(r, "drain") else "")
                          + (f"  session errors {r.errors}: {r.first_error!r}" if r.errors else ""), flush=True)
    return results


# ------------------------------------------------------------------------ report


def report(pg_runs: dict, pg_info: dict, pf_runs: dict | None, pf_info: dict | None, args) -> None:
    pg = {key: median_cell(runs) for key, runs in pg_runs.items()}
    pf = {key: median_cell(runs) for key, runs in pf_runs.items()} if pf_runs is not None else None
    print()
    print(f"Postgate SMTP benchmark: {args.seconds:g} s or {args.max_messages} messages per cell, "
          f"loopback-only namespace, {os.cpu_count()} CPUs (load generator on the same CPUs); "
          f"each cell {args.rounds} times, the servers taking turns; the median run of each is shown")
    print()
    if pf is None:
        print("| size | sessions | Postgate msg/s | Postgate p99 ms |")
        print("| --- | ---: | ---: | ---: |")
        for size in SIZES:
            for conc in CONCURRENCY:
                r = pg[(size, conc)]
                print(f"| {human(size)} | {conc} | {r.rate:.0f} | {r.percentile(99) * 1000:.1f} |")
    else:
        print("| size | sessions | Postgate msg/s | Postfix msg/s | ratio | Postgate p99 ms | Postfix p99 ms | Postfix in Maildir msg/s |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for size in SIZES:
            for conc in CONCURRENCY:
                a, b = pg[(size, conc)], pf[(size, conc)]
                ratio = a.rate / b.rate if b.rate else float("inf")
                print(f"| {human(size)} | {conc} | {a.rate:.0f} | {b.rate:.0f} | {ratio:.2f}x | "
                      f"{a.percentile(99) * 1000:.1f} | {b.percentile(99) * 1000:.1f} | {b.drain:.0f} |")
        print()
        print("Ratio of each round (Postgate's rate over Postfix's in the same round):")
        print()
        print("| size | sessions | " + " | ".join(f"round {i + 1}" for i in range(args.rounds)) + " |")
        print("| --- | ---: |" + " ---: |" * args.rounds)
        for size in SIZES:
            for conc in CONCURRENCY:
                pairs = zip(pg_runs[(size, conc)], pf_runs[(size, conc)])
                print(f"| {human(size)} | {conc} | "
                      + " | ".join(f"{a.rate / b.rate:.2f}x" if b.rate else "-" for a, b in pairs) + " |")
    print()
    print("One session, median ms: the pipelined MAIL/RCPT/DATA to its 354, and the body to the 250 after the dot.")
    print()
    print("| size | Postgate envelope | Postgate data | " + ("Postfix envelope | Postfix data |" if pf is not None else ""))
    print("| --- | ---: | ---: |" + (" ---: | ---: |" if pf is not None else ""))
    for size in SIZES:
        cells = [pg[(size, 1)]] + ([pf[(size, 1)]] if pf is not None else [])
        halves = " | ".join(f"{r.percentile(50, r.envelope_latencies) * 1000:.2f} | {r.percentile(50, r.data_latencies) * 1000:.2f}"
                            for r in cells)
        print(f"| {human(size)} | {halves} |")
    print()
    mb = 1024 * 1024
    print(f"Postgate peak RSS (VmHWM): {pg_info['rss_peak'] / mb:.1f} MB (after warm-up {pg_info['rss_idle'] / mb:.1f} MB); "
          f"{pg_info['stored']} files in its Maildir for {pg_info['accepted_total']} accepted (+ warm-up)")
    if pf_info is not None:
        print(f"Postfix memory: largest process VmHWM {pf_info['rss_peak_proc'] / mb:.1f} MB; "
              f"up to {pf_info['procs']} processes, their summed PSS {pf_info['pss_peak_sum'] / mb:.1f} MB; "
              f"{pf_info['stored']} files delivered to its Maildir for {pf_info['accepted_total']} accepted (incl. warm-up)")
    print("Postfix runs with its defaults: in_flow_delay (1 s) pauses smtpd when arrivals outrun delivery, "
          "which shows in its p99 with 32 sessions.")
    print("Postgate's 250 means the message is in the Maildir and the index (fsync'd); Postfix's 250 means it is "
          "fsync'd in its queue, and delivery to the Maildir follows (last column: accepted and delivered).")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="time limit per cell (default 10)")
    ap.add_argument("--max-messages", type=int, default=20000, help="message limit per cell (default 20000)")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each cell per server, taking turns (default 3)")
    ap.add_argument("--no-postfix", action="store_true", help="benchmark Postgate only")
    ap.add_argument("--no-build", action="store_true", help="use the existing .build/release/postgate")
    netns.add_argument(ap)
    ap.add_argument("--binary", type=Path, default=ROOT / ".build" / "release" / "postgate")
    args = ap.parse_args()

    if os.environ.get(netns.MARK) != "1" and not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "postgate"], cwd=ROOT, check=True)
    netns.isolate(__file__, args.no_netns, ["--no-build"])

    if not args.binary.exists():
        print(f"smtp_bench: {args.binary} not built", file=sys.stderr)
        return 2
    use_postfix = not args.no_postfix and shutil.which("postfix") is not None
    if not args.no_postfix and not use_postfix:
        print("smtp_bench: Postfix is not installed (scripts/install-deps.sh --bench); Postgate only", file=sys.stderr)

    work = Path(tempfile.mkdtemp(prefix="postgate-bench-"))
    os.chmod(work, 0o755)  # Postfix's unprivileged daemons must reach their queue below it
    servers: list = []
    try:
        servers.append(PostgateServer(args.binary, work))
        if use_postfix:
            servers.append(PostfixServer(work))
        results = measure(servers, args)
        for server in servers:
            server.finish()
        pf = servers[1] if use_postfix else None
        report(results["postgate"], servers[0].info, results["postfix"] if pf else None, pf.info if pf else None, args)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
