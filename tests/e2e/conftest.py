"""End-to-end fixtures: the built `postgate` binary on a free loopback port, a temp data
directory, real sockets, real files, real SQLite.

The server is started with os.posix_spawn and an empty signal mask, so that a SIGTERM
sent by a test is never left blocked (a child can inherit a blocked SIGTERM and hang).
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import socket
import sqlite3
import ssl
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("POSTGATE_BIN", ROOT / ".build" / "debug" / "postgate"))


# --------------------------------------------------------------------------- binary


@pytest.fixture(scope="session")
def postgate_bin() -> Path:
    if not BIN.exists():
        subprocess.run(["swift", "build", "--product", "postgate"], cwd=ROOT, check=True)
    assert BIN.exists(), f"{BIN} was not built"
    return BIN


# Under pytest-xdist each worker takes its ports from its own block below the kernel's
# ephemeral range (32768 and up), so a port one worker found free and handed to a server
# it starts a moment later is never handed to another worker's server meanwhile, nor taken
# by a client's outgoing connection. A lone pytest process lets the kernel choose.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_BLOCK = 2000


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _worker_port(kind: int) -> int:
    first = 10000 + int(_WORKER.removeprefix("gw")) * _BLOCK
    if first + _BLOCK > 32768:
        raise AssertionError(f"pytest-xdist worker {_WORKER} has no block of ports below 32768; run fewer workers")
    rng = random.Random()
    while True:
        port = rng.randrange(first, first + _BLOCK)
        if _bindable(port, socket.SOCK_STREAM) and _bindable(port, socket.SOCK_DGRAM):
            return port


# Ports this process handed out lately. A port is free when it is handed out, but the
# server it is for binds it a moment later; until then the same port must not be handed
# out again, or two listeners of one test (an API port and a server's IMAPS port, say)
# race for it.
_RECENT: collections.deque[int] = collections.deque(maxlen=600)


def free_port() -> int:
    while True:
        if _WORKER:
            port = _worker_port(socket.SOCK_STREAM)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        if port not in _RECENT:
            _RECENT.append(port)
            return port


def distinct_free_ports(count: int, taken: set[int]) -> list[int]:
    """`count` free ports, none in `taken` nor equal to each other (the OS may hand the
    same free port out twice in a row)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in taken and port not in ports:
            ports.append(port)
    return ports


# --------------------------------------------------------------------------- CLI


def cli(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs `postgate ARGS --data DATA` and returns the completed process (text)."""
    proc = subprocess.run(
        [str(BIN), *args, "--data", str(data)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"postgate {' '.join(args)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def addresses(data: Path) -> list[dict]:
    return json.loads(cli(data, "address", "list", "--json").stdout)


def address(data: Path, email: str) -> dict:
    for a in addresses(data):
        if a["email"] == email:
            return a
    raise AssertionError(f"{email} not in `address list --json`")


# --------------------------------------------------------------------------- server


def closed_udp_port() -> int:
    """A loopback UDP port nothing listens on: a DNS query sent there is refused at once."""
    if _WORKER:
        return _worker_port(socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_loopback_dns(config: Path | None, out: Path) -> Path:
    """The server's configuration with a `dns:` section naming a loopback resolver.

    A configuration that has its own `dns:` (a test's dnsmasq) is used as it is; any other
    gets `dns.servers` pointing at a closed loopback port, so that no lookup of the server
    (the DKIM recheck of a hosted domain at start, MX lookups) ever goes to the servers of
    /etc/resolv.conf."""
    text = config.read_text() if config is not None else ""
    if any(line.startswith("dns:") for line in text.splitlines()):
        return config  # type: ignore[return-value]
    if text and not text.endswith("\n"):
        text += "\n"
    text += f'dns:\n  servers: ["127.0.0.1:{closed_udp_port()}"]\n  timeout: 1\n  attempts: 1\n'
    out.write_text(text)
    return out


class Server:
    """A `postgate serve` child process on 127.0.0.1:port with its own data directory.

    `wrapper` is a command the server runs under (strace in the isolation test)."""

    def __init__(self, data: Path, port: int, config: Path | None = None, log: Path | None = None,
                 wrapper: list[str] | None = None):
        self.data = data
        self.port = port
        self.config = with_loopback_dns(config, data.parent / f"config-{port}.yaml")
        self.wrapper = wrapper or []
        self.log = log or data.parent / f"server-{port}.log"
        self.pid: int | None = None
        self.returncode: int | None = None
        # Free ports for the IMAP and submission listeners too, so servers never collide on
        # 2143/2993/2587/2465.
        self.imap_port, self.imaps_port, self.submission_port, self.submissions_port = distinct_free_ports(4, taken={port})

    def argv(self) -> list[str]:
        argv = [*self.wrapper, str(BIN), "serve", "--data", str(self.data), "--smtp-listen", f"127.0.0.1:{self.port}",
                "--imap-listen", f"127.0.0.1:{self.imap_port}", "--imaps-listen", f"127.0.0.1:{self.imaps_port}",
                "--submission-listen", f"127.0.0.1:{self.submission_port}",
                "--submissions-listen", f"127.0.0.1:{self.submissions_port}"]
        return argv + ["--config", str(self.config)]

    def start(self, timeout: float = 60.0) -> "Server":
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            argv = self.argv()
            self.pid = os.posix_spawn(
                # SWIFTNIO_STRICT turns NIO's misuse warnings (a task scheduled on a stopped
                # event loop) into crashes, so the exit-status checks catch them.
                argv[0], argv, {**os.environ, "SWIFTNIO_STRICT": "1"},
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
        self.returncode = None
        deadline = time.monotonic() + timeout
        while True:
            if self.poll() is not None:
                raise AssertionError(f"postgate serve exited {self.returncode} at start:\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"postgate serve not listening on {self.port} after {timeout}s:\n{self.log_text()}")
                time.sleep(0.05)

    def poll(self) -> int | None:
        if self.pid is None or self.returncode is not None:
            return self.returncode
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return None
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"postgate serve (pid {self.pid}) still running after {timeout}s")
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]

    def signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)  # type: ignore[arg-type]

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10)

    def stop(self) -> int | None:
        if self.pid is None:
            return None
        if self.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.wait(15)
            except TimeoutError:
                self.kill9()
        return self.returncode

    def vm(self, key: str = "VmHWM") -> int:
        """A /proc/PID/status memory figure in bytes (VmHWM: peak resident set)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(key)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@pytest.fixture
def data_dir(tmp_path: Path, postgate_bin: Path) -> Path:
    """A data directory holding acme.test with support@acme.test (alias help@acme.test)."""
    data = tmp_path / "data"
    cli(data, "domain", "add", "acme.test")
    cli(data, "address", "add", "support@acme.test", "--name", "Acme Support", "--alias", "help@acme.test")
    return data


@pytest.fixture
def spawn(postgate_bin: Path):
    """Factory starting servers; every server started is stopped at teardown."""
    started: list[Server] = []

    def _spawn(data: Path, config: Path | None = None, port: int | None = None,
               wrapper: list[str] | None = None) -> Server:
        server = Server(data, port or free_port(), config, wrapper=wrapper).start()
        started.append(server)
        return server

    yield _spawn
    for s in started:
        try:
            s.stop()
        except Exception:
            pass


@pytest.fixture
def server(data_dir: Path, spawn) -> Server:
    return spawn(data_dir)


def write_config(path: Path, **limits) -> Path:
    """A YAML config with smtp.limits overridden (the listen address comes from --smtp-listen)."""
    lines = ["hostname: postgate.e2e.test", "smtp:", "  limits:"]
    lines += [f"    {k}: {v}" for k, v in limits.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- store views


def db(data: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{data / 'postgate.sqlite'}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def journalled(data: Path) -> int:
    """Messages still in the delivery journal: made durable by their index commit, their
    Maildir files not yet flushed (DeliveryJournal)."""
    conn = db(data)
    try:
        return conn.execute("SELECT count(*) FROM delivery_journal").fetchone()[0]
    finally:
        conn.close()


def messages(data: Path, prefix: str = "maildir/") -> list[sqlite3.Row]:
    """The index rows of the mailboxes under `prefix`: the addresses' own mailboxes by
    default, `queues/` for the queue copies, "" for all."""
    conn = db(data)
    try:
        return conn.execute(
            "SELECT message.*, mailbox.path AS mailbox_path FROM message JOIN mailbox ON mailbox.id = message.mailbox_id "
            "WHERE mailbox.path LIKE ? ORDER BY message.id", (prefix + "%",)
        ).fetchall()
    finally:
        conn.close()


def maildir_files(data: Path, sub: str = "new") -> list[Path]:
    """Every file in DATA/maildir/*/*/{sub}/ (all mailboxes), as they are now.

    A message is acknowledged (SMTP `250`) once its index transaction commits; its file
    is renamed from `tmp/` into `new/` just after. So after a `250` this listing may not
    show the message yet: use `delivered_files` (or `message_file`) to read files, and
    this one only where nothing may be there at all, or the server has stopped."""
    root = data / "maildir"
    if not root.exists():
        return []
    return sorted(p for p in root.glob(f"**/{sub}/*") if p.is_file())


# --------------------------------------------------------------------------- waiting


def wait_for(condition, timeout: float = 30.0, message: str | None = None, interval: float = 0.02):
    """Polls `condition()` until it returns a true value, and returns that value.

    Fails after `timeout` seconds with `message` (default: the condition's name). The
    deadline is generous on purpose: a wait returns as soon as its condition holds, so a
    long deadline costs nothing unless the behaviour is broken, and a slow machine never
    makes a correct server fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message or getattr(condition, "__name__", repr(condition))
            raise AssertionError(f"still false after {timeout:g} s: {what}")
        time.sleep(interval)


def _visible_file(data: Path, row: sqlite3.Row) -> Path | None:
    """Where the file of the index row `row` is: `new/<filename>`, or `cur/<filename>:2,<flags>`
    once a flag is set; None while it is not (yet) in either."""
    folder = data / row["mailbox_path"]
    new = folder / "new" / row["filename"]
    if new.is_file():
        return new
    cur = folder / "cur"
    if cur.is_dir():
        for path in cur.iterdir():
            if path.name.startswith(row["filename"] + ":2,") and path.is_file():
                return path
    return None


def message_file(data: Path, row: sqlite3.Row, timeout: float = 30.0) -> Path:
    """The Maildir file of the index row `row`, once it is visible (see `published`)."""
    return wait_for(lambda: _visible_file(data, row), timeout,
                    f"the file of {row['mailbox_path']} UID {row['uid']} ({row['filename']}) in new/ or cur/")


def published(data: Path, prefix: str = "maildir/", timeout: float = 30.0) -> list[sqlite3.Row]:
    """The index rows of the mailboxes under `prefix` (see `messages`), once the file of
    every one of them is visible in its Maildir's `new/` or `cur/`.

    The SMTP `250` follows the index commit (RFC 5321 section 4.2.5: the message is
    durable); the rename from `tmp/` into `new/` that makes the file visible to Maildir
    readers comes right after it. A test that reads files after a `250` waits here first."""
    rows: list[sqlite3.Row] = []

    def all_visible() -> bool:
        rows[:] = messages(data, prefix)
        return all(_visible_file(data, r) is not None for r in rows)

    wait_for(all_visible, timeout, f"every message indexed under {prefix!r} has its file in new/ or cur/")
    return rows


def delivered_files(data: Path, sub: str = "new") -> list[Path]:
    """`maildir_files(data, sub)` once every message the index holds under `maildir/` has
    its file in `new/` or `cur/` (`published`)."""
    published(data)
    return maildir_files(data, sub)


def stored_prefix_ok(stored: bytes, sent: bytes, sender: str) -> None:
    """The stored file is Return-Path + Received (possibly folded) + [Authentication-Results]
    + exactly the message sent."""
    assert stored.endswith(sent), "stored message does not end with the bytes sent"
    prefix = stored[: len(stored) - len(sent)]
    if b"\r\nAuthentication-Results: " in prefix:  # the DKIM result (RFC 8601), folded
        prefix = prefix[: prefix.index(b"\r\nAuthentication-Results: ") + 2]
    assert prefix.startswith(f"Return-Path: <{sender}>\r\n".encode()), prefix[:200]
    rest = prefix[len(f"Return-Path: <{sender}>\r\n"):]
    assert rest.startswith(b"Received: "), rest[:200]
    assert rest.endswith(b"\r\n")
    lines = rest[:-2].split(b"\r\n")
    assert all(line[:1] in (b" ", b"\t") for line in lines[1:]), f"prefix has more than Return-Path and Received: {prefix!r}"
    assert b"\n" not in rest.replace(b"\r\n", b"") and b"\r" not in rest.replace(b"\r\n", b"")


def insecure_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# --------------------------------------------------------------------------- raw SMTP


class RawSMTP:
    """A byte-exact SMTP client over a plain socket, for what smtplib would not send."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self) -> tuple[int, str] | None:
        """(code, text of all lines joined by newlines), or None at EOF."""
        lines = []
        while True:
            line = self._line()
            if line is None:
                if lines:
                    raise AssertionError(f"EOF inside a reply: {lines}")
                return None
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        return int(lines[-1][:3]), "\n".join(l[4:] for l in lines)

    def cmd(self, line: str) -> tuple[int, str]:
        self.send(line + "\r\n")
        r = self.reply()
        assert r is not None, f"connection closed after {line!r}"
        return r

    def replies_until_eof(self, timeout: float = 10.0) -> list[tuple[int, str]]:
        self.sock.settimeout(timeout)
        out = []
        try:
            while (r := self.reply()) is not None:
                out.append(r)
        except (socket.timeout, TimeoutError):
            raise AssertionError(f"connection still open after {timeout}s; replies {out}")
        except ConnectionResetError:
            pass
        return out

    def starttls(self) -> None:
        self.sock = insecure_tls().wrap_socket(self.sock, server_hostname="postgate.test")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def raw(server):
    opened: list[RawSMTP] = []

    def _open(port: int | None = None) -> RawSMTP:
        c = RawSMTP(port or server.port)
        opened.append(c)
        return c

    yield _open
    for c in opened:
        c.close()
