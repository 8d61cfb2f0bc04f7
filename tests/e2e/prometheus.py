"""A private Prometheus server for the metrics tests: Debian's `prometheus` binary on a
free loopback port, with its configuration and time series database in a temporary
directory. The system service is never used.

Started with os.posix_spawn and an empty signal mask (as the gateway is in conftest), so
the SIGTERM that stops it is never left blocked."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import free_port, wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


class Prometheus:
    """Scrapes one HTTPS target every `interval`, verifying it against `cafile`."""

    def __init__(self, directory: Path, target_port: int, cafile: Path, interval: str = "1s"):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.pid: int | None = None
        self.log = self.dir / "prometheus.log"
        self.config = self.dir / "prometheus.yml"
        self.config.write_text(f"""global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
scrape_configs:
  - job_name: postgate
    scheme: https
    tls_config:
      ca_file: {cafile}
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")

    def start(self) -> "Prometheus":
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            argv = [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={self.dir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}"]
            self.pid = os.posix_spawn(
                argv[0], argv, {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.dir)},
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, fd, 1),
                    (os.POSIX_SPAWN_DUP2, fd, 2),
                ],
                setsigmask=[],
                setsigdef=[signal.SIGTERM, signal.SIGINT, signal.SIGPIPE],
            )
        finally:
            os.close(fd)
        wait_for(self._ready, timeout=60, message=f"Prometheus ready on {self.port}:\n{self.log_text()}")
        return self

    def _ready(self) -> bool:
        if self.pid is not None and os.waitpid(self.pid, os.WNOHANG)[0] != 0:
            self.pid = None
            raise AssertionError(f"prometheus exited at start:\n{self.log_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def query(self, expression: str) -> list[dict]:
        """An instant query's vector: [{"metric": {...}, "value": [time, "text"]}, ...]."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        with urllib.request.urlopen(url, timeout=10) as response:
            answer = json.load(response)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, expression: str) -> float | None:
        """The single value of `expression`, or None while it has no sample."""
        result = self.query(expression)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def targets_up(self) -> bool:
        return self.value('up{job="postgate"}') == 1

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.pid is None:
            return
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.waitpid(self.pid, os.WNOHANG)[0] == 0:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        self.pid = None
