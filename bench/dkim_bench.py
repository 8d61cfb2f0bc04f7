#!/usr/bin/env python3
"""DKIM signing benchmark (a script, not a test).

Signatures per second for 4 KiB and 1 MiB messages with RSA-2048 and Ed25519
(relaxed/relaxed, the usual header set), Postgate's signer side by side with dkimpy
(Debian python3-dkim) on the same messages and keys, in one run, printed as a table.

Postgate is timed through `postgate dkim sign --repeat N` (N complete signatures of the
message read once: body hash and header signature each time; process start is included
and amortised over N). dkimpy is timed in-process with `dkim.sign` under the system Python.
Build the release binary first: `swift build -c release --product postgate`.

    python3 bench/dkim_bench.py [--seconds 3] [--bin .build/release/postgate]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
SIZES = [("4 KiB", 4 * 1024), ("1 MiB", 1024 * 1024)]
ALGORITHMS = [("RSA-2048", "rsa", "rsa-sha256"), ("Ed25519", "ed25519", "ed25519-sha256")]

DKIMPY = r"""
import sys, time, dkim
key, algorithm, path, seconds = open(sys.argv[1], 'rb').read(), sys.argv[2].encode(), sys.argv[3], float(sys.argv[4])
message = open(path, 'rb').read()
count, start = 0, time.perf_counter()
while True:
    dkim.sign(message, b'bench', b'acme.test', key, canonicalize=(b'relaxed', b'relaxed'), signature_algorithm=algorithm)
    count += 1
    elapsed = time.perf_counter() - start
    if elapsed >= seconds and count >= 3:
        break
print(count / elapsed)
"""


def message(size: int) -> bytes:
    header = (
        "From: Acme Support <support@acme.test>\r\nTo: Customer <c@example.test>\r\n"
        "Subject: Re: your order\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
        "Message-ID: <bench@acme.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    line = b"The quick brown fox jumps over the lazy dog;  0123456789 \t\r\n"
    body = (line * (size // len(line) + 1))[: size - len(header)]
    return header + body


def postgate_rate(binary: Path, data: Path, selector: str, path: Path, seconds: float) -> float:
    def run(repeat: int) -> float:
        start = time.perf_counter()
        with open(path, "rb") as stdin:
            subprocess.run([str(binary), "dkim", "sign", "acme.test", "--selector", selector, "--repeat", str(repeat),
                            "--data", str(data)], stdin=stdin, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    repeat = 4
    while (elapsed := run(repeat)) < seconds and repeat < 1_000_000:
        repeat = max(repeat * 2, int(repeat * seconds / max(elapsed, 1e-3) * 1.2))
    return repeat / elapsed


def dkimpy_key(data: Path, entry: dict, tmp: Path) -> Path:
    pem = (data / entry["keyPath"]).read_text()
    key = tmp / (entry["selector"] + ".dkimpy")
    if entry["algorithm"] == "ed25519-sha256":
        der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
        key.write_text(base64.b64encode(der[-32:]).decode() + "\n")
    else:
        key.write_text(pem)
    return key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per cell and implementation")
    parser.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "postgate")
    netns.add_argument(parser)
    args = parser.parse_args()
    netns.isolate(__file__, args.no_netns)
    if not args.bin.exists():
        sys.exit(f"dkim_bench: {args.bin} not built; run `swift build -c release --product postgate`")
    with tempfile.TemporaryDirectory(prefix="postgate-dkim-bench-") as temporary:
        tmp = Path(temporary)
        data = tmp / "data"
        subprocess.run([str(args.bin), "domain", "add", "acme.test", "--data", str(data)], check=True, capture_output=True)
        rows = []
        for label, size in SIZES:
            path = tmp / f"message-{size}.eml"
            path.write_bytes(message(size))
            for name, algorithm, tag in ALGORITHMS:
                selector = f"{algorithm}"
                if not (data / "dkim" / "acme.test" / f"{selector}.pem").exists():
                    subprocess.run([str(args.bin), "dkim", "generate", "acme.test", "--selector", selector,
                                    "--algorithm", algorithm, "--data", str(data)], check=True, capture_output=True)
                entry = next(e for e in json.loads(subprocess.run(
                    [str(args.bin), "dkim", "show", "acme.test", "--json", "--data", str(data)],
                    check=True, capture_output=True).stdout) if e["selector"] == selector)
                ours = postgate_rate(args.bin, data, selector, path, args.seconds)
                theirs = float(subprocess.run(
                    [SYSTEM_PYTHON, "-c", DKIMPY, str(dkimpy_key(data, entry, tmp)), tag, str(path), str(args.seconds)],
                    check=True, capture_output=True, text=True).stdout)
                rows.append((label, name, ours, theirs))
    print(f"{'message':<8} {'algorithm':<9} {'Postgate sig/s':>15} {'dkimpy sig/s':>13} {'ratio':>7}")
    for label, name, ours, theirs in rows:
        print(f"{label:<8} {name:<9} {ours:>15.1f} {theirs:>13.1f} {ours / theirs:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
