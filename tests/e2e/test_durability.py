"""Durability: SIGKILL while 8 clients send; after a restart every message that got 250
is there exactly once and nothing half-written is visible. SIGTERM lets a transaction in
flight finish and then exits 0."""

from __future__ import annotations

import json
import random
import re
import signal
import smtplib
import socket
import threading
import time
from collections import Counter

from conftest import RawSMTP, cli, journalled, maildir_files, messages, wait_for

TRAILER = b"-- END OF MESSAGE %s --\r\n"


def body_for(mid: str, size: int) -> bytes:
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
    head = (
        f"From: load@example.org\r\nTo: support@acme.test\r\nSubject: durability\r\n"
        f"Message-ID: <{mid}>\r\n\r\n"
    ).encode()
    return head + line * (size // len(line)) + TRAILER % mid.encode()


def test_sigkill_under_load_loses_no_acknowledged_message(data_dir, spawn):
    server = spawn(data_dir)
    acked: set[str] = set()
    attempted: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        rng = random.Random(n)
        i = 0
        while not stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as s:
                    while not stop.is_set():
                        mid = f"t{n}-{i}@durability.test"
                        i += 1
                        with lock:
                            attempted.add(mid)
                        s.sendmail("load@example.org", ["support@acme.test"], body_for(mid, rng.choice([500, 8_000, 120_000])))
                        with lock:
                            acked.add(mid)  # sendmail returned: the 250 after DATA came
            except (OSError, smtplib.SMTPException):
                if stop.is_set():
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    # Under load: killed once 40 messages are acknowledged, while the 8 clients go on sending.
    wait_for(lambda: len(acked) >= 40, timeout=120, message=f"40 messages acknowledged under load; see {server.log}")
    server.kill9()
    stop.set()
    for t in threads:
        t.join(15)

    print(f"{len(acked)} acknowledged of {len(attempted)} attempted before SIGKILL, "
          f"{journalled(data_dir)} of them still journalled")
    server2 = spawn(data_dir)  # recovery runs at start
    assert journalled(data_dir) == 0, "recovery left messages in the delivery journal"
    rows = messages(data_dir)
    index_ids = Counter(r["message_id"].strip("<>") for r in rows)
    files = maildir_files(data_dir, "new") + maildir_files(data_dir, "cur")
    file_ids = Counter()
    for f in files:
        content = f.read_bytes()
        m = re.search(rb"^Message-ID: <([^>]+)>\r\n", content, re.M)
        assert m, f"{f.name}: no Message-ID (half-written?)"
        mid = m.group(1).decode()
        assert content.endswith(TRAILER % mid.encode()), f"{f.name} is incomplete ({len(content)} bytes)"
        file_ids[mid] += 1

    missing_index = sorted(acked - set(index_ids))
    missing_files = sorted(acked - set(file_ids))
    assert not missing_index, f"{len(missing_index)} acknowledged messages missing from the index: {missing_index[:5]}"
    assert not missing_files, f"{len(missing_files)} acknowledged messages missing from the Maildir: {missing_files[:5]}"
    dup_index = {k: v for k, v in index_ids.items() if v > 1}
    dup_files = {k: v for k, v in file_ids.items() if v > 1}
    assert not dup_index and not dup_files, (dup_index, dup_files)
    assert set(index_ids) <= attempted and set(file_ids) <= attempted
    # Index and Maildir agree: every indexed filename exists, every file is indexed.
    assert {r["filename"] for r in rows} == {f.name for f in files}
    for r in rows:
        (f,) = [f for f in files if f.name == r["filename"]]
        assert r["size"] == f.stat().st_size
    uids = [r["uid"] for r in rows]
    assert len(set(uids)) == len(uids), "duplicate UIDs"
    assert maildir_files(data_dir, "tmp") == [], "tmp/ not cleaned after restart"
    # The restarted server accepts mail again.
    with smtplib.SMTP("127.0.0.1", server2.port, timeout=10) as s:
        s.sendmail("load@example.org", ["support@acme.test"], body_for("after-restart@durability.test", 100))
    assert max(r["uid"] for r in messages(data_dir)) > max(uids, default=0)


def test_sigterm_finishes_transaction_in_flight_then_exits_0(data_dir, spawn):
    server = spawn(data_dir)
    c = RawSMTP(server.port)
    assert c.cmd("EHLO client.example.org")[0] == 250
    assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<support@acme.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    body = body_for("in-flight@sigterm.test", 20_000)
    half = len(body) // 2
    # The 354 opened the transaction: from here on it is in flight, half of it sent.
    c.send(body[:half])
    server.signal(signal.SIGTERM)

    def new_connection_refused() -> bool:
        """Whether a new connection is refused: not accepted, closed at once, or told 421."""
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s2:
                s2.settimeout(10)
                try:
                    greeting = s2.recv(100)
                except ConnectionResetError:
                    return True
                except (socket.timeout, TimeoutError):
                    return False  # accepted and left waiting: not refused (yet)
        except ConnectionRefusedError:
            return True
        return greeting == b"" or greeting[:1] == b"4"

    wait_for(new_connection_refused, message="new connections are still served after SIGTERM")
    assert server.poll() is None, "server exited with a transaction in flight"

    c.send(body[half:] + b".\r\n")
    code, text = c.reply()
    assert code == 250, text
    c.send("QUIT\r\n")
    r = c.reply()
    # 221 for the QUIT, or the 421 a server shutting down may send after the transaction.
    assert r is None or r[0] in (221, 421), r
    c.close()
    assert server.wait(15) == 0, server.log_text()
    assert journalled(data_dir) == 0, "a clean stop flushes the journalled messages' files"
    (row,) = messages(data_dir)
    assert row["message_id"] == "<in-flight@sigterm.test>"
    (f,) = maildir_files(data_dir)
    assert f.read_bytes().endswith(body)


def test_sigterm_idle_exits_0(server):
    # Sent as soon as the port accepts connections: the signal handlers must be in place
    # by then, or SIGTERM's default action kills the process (exit -15).
    server.signal(signal.SIGTERM)
    assert server.wait(10) == 0, server.log_text()


def test_sigterm_after_settling_exits_0(server):
    # Settled: what `serve` starts in the background has run once: the DKIM key it made for
    # the hosted domain has been checked by the re-checker, which now waits for its next turn.
    def dkim_checked() -> bool:
        keys = json.loads(cli(server.data, "dkim", "show", "acme.test", "--json").stdout)
        return any(k["checkCount"] > 0 for k in keys)

    wait_for(dkim_checked, message="the hosted domain's DKIM key was not checked by the server")
    server.signal(signal.SIGTERM)
    assert server.wait(10) == 0, server.log_text()
