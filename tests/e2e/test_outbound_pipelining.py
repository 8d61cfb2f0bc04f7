"""End-to-end test of PIPELINING in the outbound SMTP client (RFC 2920).

The next hop is a small socket server written here that advertises PIPELINING and answers
nothing after EHLO until MAIL, every RCPT and DATA have all arrived: a client that waits for
each reply (no pipelining) stalls until its command timeout and delivers nothing. It
records how the group arrived and answers the RCPTs one by one (a refused one included).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from conftest import free_port
from test_outbound import data, enqueue, flush, message_bytes, show, write_outbound_config  # noqa: F401


class PipeliningOnlyServer:
    """Accepts one session: EHLO, then a whole MAIL/RCPT/DATA group before any reply."""

    def __init__(self):
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.group_reads: list[bytes] = []
        self.message = b""
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(20)
        with conn:
            conn.sendall(b"220 pipe.test ESMTP\r\n")
            buffered = self.read_until(conn, b"\r\n", b"")
            assert buffered.upper().startswith(b"EHLO")
            conn.sendall(b"250-pipe.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            group = b""
            while b"DATA\r\n" not in group:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                self.group_reads.append(chunk)
                group += chunk
            replies = []
            for line in group.split(b"\r\n")[:-1]:
                verb = line.split(b" ", 1)[0].upper()
                if verb == b"MAIL":
                    replies.append(b"250 2.1.0 ok")
                elif verb == b"RCPT":
                    replies.append(b"550 5.1.1 no such user" if b"gone@" in line else b"250 2.1.5 ok")
                elif verb == b"DATA":
                    replies.append(b"354 go ahead")
            conn.sendall(b"".join(r + b"\r\n" for r in replies))
            self.message = self.read_until(conn, b"\r\n.\r\n", b"")
            conn.sendall(b"250 2.0.0 queued as P1\r\n")
            self.read_until(conn, b"\r\n", b"")  # QUIT
            conn.sendall(b"221 2.0.0 bye\r\n")

    @staticmethod
    def read_until(conn: socket.socket, end: bytes, buffered: bytes) -> bytes:
        while end not in buffered:
            chunk = conn.recv(65536)
            if not chunk:
                break
            buffered += chunk
        return buffered

    def close(self) -> None:
        self.listener.close()


def test_mail_recipients_and_data_go_out_as_one_group(data: Path, tmp_path: Path):  # noqa: F811
    server = PipeliningOnlyServer()
    try:
        config = write_outbound_config(tmp_path / "c.yaml", server.port)
        mid = enqueue(data, "agent@acme.test", ["a@example.test", "gone@example.test", "b@example.test"],
                      message_bytes("pipelined"))
        flush(data, config)
        server.thread.join(20)
    finally:
        server.close()
    # One write: the whole group arrived in the first read after EHLO.
    assert len(server.group_reads) == 1, server.group_reads
    lines = server.group_reads[0].split(b"\r\n")[:-1]
    assert [line.split(b":")[0] for line in lines] == [b"MAIL FROM", b"RCPT TO", b"RCPT TO", b"RCPT TO", b"DATA"]
    assert b"Subject: pipelined" in server.message
    record = {r["address"]: r for r in show(data, mid)["recipients"]}
    assert record["a@example.test"]["state"] == "delivered" and record["b@example.test"]["state"] == "delivered"
    assert record["gone@example.test"]["state"] == "failed"
    assert "550 5.1.1" in record["gone@example.test"]["lastReply"]
