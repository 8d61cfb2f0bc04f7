"""Hostile clients cannot starve the gateway: stalled TLS handshakes, slowloris, large
literals before login, connection floods on IMAP, clients that stop reading, parallel
password guessing. Each test drives the built `postgate serve` over real loopback sockets
with small limits, and awaits the server's answer (a closed socket, a 421, a BYE)."""

from __future__ import annotations

import imaplib
import shutil
import smtplib
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import RawSMTP, insecure_tls, wait_for
from test_imap import PASSWORD, SHARED, add_agent

# Bound of every wait for the server to act: a slow machine's margin, never a latency goal.
BOUND = 30


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text("hostname: postgate.e2e.test\n" + text)
    return path


def closed_by_server(sock: socket.socket, timeout: float = BOUND) -> bytes:
    """Reads until the server closes the connection; what it sent. Fails if it stays open."""
    sock.settimeout(timeout)
    received = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            return received
        except (socket.timeout, TimeoutError):
            raise AssertionError(f"still open after {timeout}s; received {received[-200:]!r}")
        if not chunk:
            return received
        received += chunk
        if time.monotonic() > deadline:
            raise AssertionError(f"still sending after {timeout}s")


def smtp_line(sock: socket.socket) -> bytes:
    sock.settimeout(BOUND)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(BOUND)
    sock.connect(("127.0.0.1", port))
    return sock


# ------------------------------------------------------------------ 1. TLS handshakes


def test_stalled_starttls_handshakes_are_closed_and_free_their_slots(data_dir, spawn, tmp_path):
    server = spawn(data_dir, config(tmp_path, "tls:\n  handshake_timeout: 1\nsmtp:\n  limits:\n    max_connections_per_ip: 3\n"))
    stalled = []
    for _ in range(3):
        c = RawSMTP(server.port, timeout=BOUND)
        assert c.cmd("EHLO attacker.test")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        stalled.append(c)  # and never sends a ClientHello
    # Every slot of this address is taken: the next session is refused at once.
    refused = RawSMTP(server.port, timeout=BOUND)
    assert refused.greeting is not None and refused.greeting[0] == 421, refused.greeting
    for c in stalled:
        closed_by_server(c.sock)
    # The slots are free again.
    wait_for(lambda: RawSMTP(server.port, timeout=BOUND).greeting[0] == 220, BOUND, "a new session is greeted")


def test_implicit_tls_refusal_does_not_wait_behind_stalled_handshakes(data_dir, spawn, tmp_path):
    server = spawn(data_dir, config(tmp_path, "tls:\n  handshake_timeout: 2\nsubmission:\n  max_connections_per_ip: 3\n"))
    stalled = [connect(server.submissions_port) for _ in range(3)]  # no ClientHello
    # A client that does its handshake gets its refusal at once, over TLS.
    with insecure_tls().wrap_socket(connect(server.submissions_port), server_hostname="postgate.test") as tls:
        assert smtp_line(tls).startswith(b"421 4.7.0"), "the fourth connection must be refused with 421"
    for sock in stalled:
        closed_by_server(sock)
    with insecure_tls().wrap_socket(connect(server.submissions_port), server_hostname="postgate.test") as tls:
        assert smtp_line(tls).startswith(b"220 ")


def test_stalled_handshakes_on_imap_and_imaps_are_closed(data_dir, spawn, tmp_path):
    server = spawn(data_dir, config(tmp_path, "tls:\n  handshake_timeout: 1\n"))
    imaps = connect(server.imaps_port)
    imap = connect(server.imap_port)
    f = imap.makefile("rwb")
    assert f.readline().startswith(b"* OK")
    f.write(b"a STARTTLS\r\n")
    f.flush()
    assert f.readline().startswith(b"a OK")
    closed_by_server(imaps)
    closed_by_server(imap)


# ------------------------------------------------------------------ 2. slowloris


def test_command_line_trickled_byte_by_byte_times_out(data_dir, spawn, tmp_path):
    server = spawn(data_dir, config(tmp_path, "smtp:\n  limits:\n    command_timeout: 2\n"))
    sock = connect(server.port)
    assert smtp_line(sock).startswith(b"220")
    line = b"EHLO a-client-that-sends-one-byte-at-a-time.example.org\r\n"
    received = b""
    sock.setblocking(False)
    for byte in line[:-2]:  # never a whole line
        try:
            sock.send(bytes([byte]))
        except OSError:
            break
        time.sleep(0.2)  # the attack's pace
        try:
            received += sock.recv(4096)
        except BlockingIOError:
            pass
        if b"421" in received:
            break
    assert b"421" in received, "the command deadline must not restart on every byte"
    sock.setblocking(True)
    closed_by_server(sock)


def test_message_data_below_the_minimum_rate_times_out(data_dir, spawn, tmp_path):
    server = spawn(data_dir, config(tmp_path, "smtp:\n  limits:\n    data_timeout: 2\n    min_data_rate: 100\n"))
    c = RawSMTP(server.port, timeout=BOUND)
    assert c.cmd("EHLO c.test")[0] == 250
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<support@acme.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.sock.setblocking(False)
    received = b""
    for _ in range(400):  # ten octets a second: far below 100
        try:
            c.sock.send(b"x" * 2)
        except OSError:
            break
        time.sleep(0.2)
        try:
            received += c.sock.recv(4096)
        except BlockingIOError:
            pass
        if b"421" in received:
            break
    assert b"421" in received, "data slower than min_data_rate must run into the data deadline"


# ------------------------------------------------------------------ 3. IMAP before login


def test_large_literals_are_refused_before_login(data_dir, spawn):
    server = spawn(data_dir)
    sock = connect(server.imap_port)
    f = sock.makefile("rwb")
    greeting = f.readline()
    assert b"LITERAL-" in greeting and b"LITERAL+" not in greeting, greeting
    # A synchronizing literal above the limit: refused without a continuation request.
    f.write(b"a1 LOGIN {5000}\r\n")
    f.flush()
    assert f.readline().startswith(b"a1 NO [TOOBIG]")
    # A small one is taken (and the login fails as a login).
    f.write(b"a2 LOGIN {5}\r\n")
    f.flush()
    assert f.readline().startswith(b"+")
    # A non-synchronizing literal above the limit: BAD [TOOBIG] (RFC 7888), then closed.
    f.write(b"hello {30000000+}\r\n" + b"x" * 65536)
    f.flush()
    rest = closed_by_server(sock)
    assert b"a2 BAD [TOOBIG]" in rest and b"* BYE" in rest, rest


def test_unauthenticated_imap_session_is_closed_after_the_login_timeout(data_dir, spawn, tmp_path):
    server = spawn(data_dir, config(tmp_path, "imap:\n  login_timeout: 1\n"))
    sock = connect(server.imap_port)
    sock.sendall(b"a NOOP\r\n")  # activity does not extend the time to log in
    rest = closed_by_server(sock)
    assert b"* BYE" in rest, rest


# ------------------------------------------------------------------ 4. IMAP connection limits


def imap_greeting(port: int, source: str = "127.0.0.1") -> tuple[socket.socket, bytes]:
    sock = connect(port, source)
    return sock, sock.makefile("rb").readline()


def test_imap_connections_are_limited_per_ip_and_in_total(data_dir, spawn, tmp_path):
    server = spawn(data_dir, config(tmp_path, "imap:\n  max_connections: 5\n  max_connections_per_ip: 2\n"))
    held = []
    for _ in range(2):
        sock, greeting = imap_greeting(server.imap_port, "127.0.0.2")
        assert greeting.startswith(b"* OK"), greeting
        held.append(sock)
    sock, greeting = imap_greeting(server.imap_port, "127.0.0.2")
    assert greeting.startswith(b"* BYE") and b"Too many connections from" in greeting, greeting
    for source in ("127.0.0.3", "127.0.0.4"):
        sock, greeting = imap_greeting(server.imap_port, source)
        assert greeting.startswith(b"* OK"), greeting
        held.append(sock)
    # IMAPS shares the limit (its greeting comes after the handshake).
    tls = insecure_tls().wrap_socket(connect(server.imaps_port, "127.0.0.5"), server_hostname="postgate.test")
    assert tls.makefile("rb").readline().startswith(b"* OK")
    held.append(tls)
    _, greeting = imap_greeting(server.imap_port, "127.0.0.6")
    assert greeting.startswith(b"* BYE") and b"Too many connections" in greeting, greeting
    # The MX listener is not affected.
    assert RawSMTP(server.port).greeting[0] == 220
    # A place given back is free again.
    held.pop(0).close()
    wait_for(lambda: imap_greeting(server.imap_port, "127.0.0.7")[1].startswith(b"* OK"), BOUND, "a freed place is taken")


def test_imap_flood_under_a_low_descriptor_limit_leaves_mx_working(data_dir, spawn, tmp_path):
    cfg = config(tmp_path, "smtp:\n  limits:\n    max_connections: 200\nsubmission:\n  max_connections: 50\n"
                           "imap:\n  max_connections_per_ip: 1000\n")
    server = spawn(data_dir, cfg, wrapper=[shutil.which("prlimit") or "/usr/bin/prlimit", "--nofile=1024:1024", "--"])
    # IMAP gets what is left of 1024 after 2 × (200 + 50) + 256 for SMTP and the process.
    flood = []
    greeted = 0
    for i in range(600):
        try:
            sock = connect(server.imap_port, f"127.0.{1 + i // 200}.{1 + i % 200}")
        except OSError:
            break
        flood.append(sock)
    for sock in flood:
        line = sock.makefile("rb").readline()
        greeted += line.startswith(b"* OK")
    assert 0 < greeted <= 1024 - 2 * 250 - 256, greeted
    for _ in range(5):
        with smtplib.SMTP("127.0.0.1", server.port, timeout=BOUND) as smtp:
            smtp.sendmail("c@example.com", ["support@acme.test"], "Subject: under flood\r\n\r\nhello\r\n")
    for sock in flood:
        sock.close()


# ------------------------------------------------------------------ 5. delivery isolation


def big_mailbox(server, count: int, size: int = 400_000) -> None:
    body = ("x" * 76 + "\r\n") * (size // 78)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=BOUND) as smtp:
        for i in range(count):
            smtp.sendmail("c@example.com", ["support@acme.test"], f"Subject: big {i}\r\n\r\n{body}")


def test_client_that_stops_reading_is_closed_and_frees_its_thread(data_dir, spawn, tmp_path):
    add_agent(data_dir)
    server = spawn(data_dir, config(tmp_path, "imap:\n  allow_plaintext_auth: true\n  threads: 1\n  send_timeout: 2\n"))
    # More than the socket buffers of both ends hold, so the server's writes stall.
    count = 30
    big_mailbox(server, count)
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    stalled.settimeout(BOUND)
    stalled.connect(("127.0.0.1", server.imap_port))
    f = stalled.makefile("rwb")
    f.readline()
    f.write(f'a LOGIN alice "{PASSWORD}"\r\nb EXAMINE "{SHARED}"\r\n'.encode())
    f.flush()
    while not f.readline().startswith(b"b OK"):
        pass
    f.write(b"f1 FETCH 1:* BODY.PEEK[]\r\n")  # and never reads
    f.flush()
    # Mail still arrives while the IMAP thread is held.
    with smtplib.SMTP("127.0.0.1", server.port, timeout=BOUND) as smtp:
        smtp.sendmail("c@example.com", ["support@acme.test"], "Subject: during the stall\r\n\r\nhello\r\n")
    wait_for(lambda: "IMAP client not reading" in server.log.read_text(errors="replace"), 60,
             "the client that stopped reading is closed after imap.send_timeout")
    # The only IMAP thread is free again.
    other = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=insecure_tls(), timeout=BOUND)
    other.login("alice", PASSWORD)
    typ, data = other.select(SHARED, readonly=True)
    assert typ == "OK" and int(data[0]) == count + 1, data
    other.logout()
    closed_by_server(stalled)


def test_one_agents_stalled_clients_leave_threads_for_the_others(data_dir, spawn, tmp_path):
    """Alice's clients stop reading mid-FETCH on every connection: with threads_per_agent 1
    they hold one of the two IMAP threads, and Bob works on the other while they stall."""
    add_agent(data_dir, "alice")
    add_agent(data_dir, "bob")
    server = spawn(data_dir, config(tmp_path, "imap:\n  allow_plaintext_auth: true\n  threads: 2\n  threads_per_agent: 1\n"
                                              "  send_timeout: 600\n"))
    count = 30
    big_mailbox(server, count)
    stalled = []
    for _ in range(3):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(BOUND)
        sock.connect(("127.0.0.1", server.imap_port))
        # All at once, and nothing read after the greeting: the first stalls mid-FETCH on
        # Alice's one turn, the others wait for it without a thread.
        sock.recv(1024)
        sock.sendall(f'a LOGIN alice "{PASSWORD}"\r\nb EXAMINE "{SHARED}"\r\nf1 FETCH 1:* BODY.PEEK[]\r\n'.encode())
        stalled.append(sock)
    other = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=insecure_tls(), timeout=BOUND)
    other.login("bob", PASSWORD)
    typ, data = other.select(SHARED, readonly=True)
    assert typ == "OK" and int(data[0]) == count, data
    typ, data = other.fetch("1", "(BODY.PEEK[HEADER])")
    assert typ == "OK", data
    other.logout()
    for sock in stalled:
        sock.close()


# ------------------------------------------------------------------ 7. login throttling


def imap_login(port: int, password: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as sock:
        f = sock.makefile("rwb")
        f.readline()
        f.write(f'a LOGIN alice "{password}"\r\n'.encode())
        f.flush()
        return f.readline()


def test_many_correct_logins_at_once_from_one_address_all_get_in(data_dir, spawn, tmp_path):
    """An office behind one address logging in at nine: more logins than the failure limit
    start at once; those beyond it wait for the checks in flight instead of being refused."""
    add_agent(data_dir)
    server = spawn(data_dir, config(tmp_path, "imap:\n  allow_plaintext_auth: true\n  max_connections_per_ip: 100\n"
                                              "login:\n  max_failures_per_ip: 3\n"))
    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda i: imap_login(server.imap_port, PASSWORD), range(24)))
    assert all(a.startswith(b"a OK") for a in answers), answers


def test_parallel_guesses_from_one_address_are_not_all_checked(data_dir, spawn, tmp_path):
    add_agent(data_dir)
    server = spawn(data_dir, config(tmp_path, "imap:\n  allow_plaintext_auth: true\n  failed_login_delay_ms: 0\n"
                                              "  max_connections_per_ip: 100\nlogin:\n  max_failures_per_ip: 5\n"))
    with ThreadPoolExecutor(60) as pool:
        answers = list(pool.map(lambda i: imap_login(server.imap_port, f"guess {i}"), range(60)))
    checked = [a for a in answers if b"AUTHENTICATIONFAILED" in a]
    refused = [a for a in answers if b"Too many failed logins" in a]
    assert len(checked) <= 5 and len(checked) + len(refused) == 60, answers
    # The throttle is shared: submission from the same address is refused as well.
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=BOUND) as smtp:
        smtp.starttls(context=insecure_tls())
        try:
            smtp.login("alice", PASSWORD)
            raise AssertionError("submission AUTH accepted from a locked-out address")
        except smtplib.SMTPAuthenticationError as error:
            assert error.smtp_code == 454, error
