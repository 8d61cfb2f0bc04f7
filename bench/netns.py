"""Runs a benchmark script inside a loopback-only network namespace.

Every benchmark sends traffic to loopback only, and the servers it starts (Postgate,
Postfix, Dovecot, dnsmasq) must not reach the machine's resolver or any other address. The
script re-executes itself once under `unshare -n` (root) or `unshare -r -n` (a user
namespace), brings `lo` up there, and goes on; `--no-netns` skips this where no namespace
can be made, at the cost of that guarantee.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

MARK = "POSTGATE_BENCH_NETNS"


def add_argument(parser) -> None:
    parser.add_argument("--no-netns", action="store_true",
                        help="do not enter a loopback-only network namespace")


def isolate(script: str, skip: bool, extra_argv: list[str] | None = None) -> None:
    """Re-executes `script` with the current arguments (plus `extra_argv`) in a new
    loopback-only network namespace, unless already inside one or `skip` is set. Returns
    inside the namespace with `lo` up; exits with a clear message when none can be made."""
    if skip:
        return
    if os.environ.get(MARK) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    name = Path(script).name
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        sys.exit(f"{name}: needs unshare (util-linux) and ip (iproute2) for the loopback-only namespace; "
                 "install them with scripts/install-deps.sh --bench, or pass --no-netns")
    for flags in (["-n"], ["-r", "-n"]):
        if subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode == 0:
            argv = ["unshare", *flags, "--", sys.executable, str(Path(script).resolve()), *sys.argv[1:], *(extra_argv or [])]
            os.execvpe("unshare", argv, dict(os.environ, **{MARK: "1"}))
    sys.exit(f"{name}: cannot make a loopback-only network namespace (unshare -n failed: run as root or "
             "allow user namespaces), or pass --no-netns")


# The `dns:` setting every benchmark gives the servers it starts: a closed loopback port,
# so a lookup (the DKIM recheck of a hosted domain) is refused at once and never leaves.
LOOPBACK_DNS = 'dns:\n  servers: ["127.0.0.1:9"]\n  timeout: 1\n  attempts: 1\n'
