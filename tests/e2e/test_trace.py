"""Tracing one message end to end: a customer's message accepted by SMTP gets a queue id (the
250 "queued as" reply); every log line about it carries `queue_id=…`, as the lines about the
agent's reply carry the reply's queue id, from submission to the delivery to a real aiosmtpd
next hop; `postgate trace` tells the same story from the index, by queue id or Message-ID.
With `log_format: json` every line of the log is one JSON object."""

from __future__ import annotations

import json
import re
import smtplib
import subprocess
from pathlib import Path

from conftest import BIN, cli, wait_for
from test_imap import add_agent, login
from test_outbound import sink, write_outbound_config  # noqa: F401
from test_replies import agent_reply, submit_by_smtp

CUSTOMER_MESSAGE = ("From: Jane Customer <jane@example.test>\r\nTo: support@acme.test\r\nSubject: where is my order\r\n"
                    "Message-ID: <order-7@example.test>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n"
                    "My order has not arrived.\r\n")


def customer_writes(port: int, message: str = CUSTOMER_MESSAGE) -> str:
    """Sends the message by SMTP and returns the queue id of the server's 250 reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("mx.example.test")
        assert client.mail("jane@example.test")[0] == 250
        assert client.rcpt("support@acme.test")[0] == 250
        code, text = client.data(message.encode())
    assert code == 250, text
    return re.fullmatch(r"2\.0\.0 Ok: queued as (\S+)", text.decode()).group(1)


def lines_with(log: Path, queue_id: str) -> list[str]:
    """The log lines naming `queue_id=ID` as a whole word, as `grep -w queue_id=ID` finds them."""
    return [line for line in log.read_text(errors="replace").splitlines()
            if re.search(rf"(^|\s)queue_id={re.escape(queue_id)}(\s|$)", line)]


def trace(data: Path, query: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), "trace", query, "--data", str(data), *flags],
                          capture_output=True, text=True, timeout=60)


def test_one_queue_id_tells_the_story_in_the_log_and_in_trace(data_dir: Path, tmp_path: Path, sink, spawn):
    handler, port = sink
    add_agent(data_dir)
    server = spawn(data_dir, write_outbound_config(tmp_path / "c.yaml", port))
    queue_id = customer_writes(server.port)
    reply = submit_by_smtp(server, agent_reply("<order-7@example.test>"), "jane@example.test")
    reply_id = re.fullmatch(r"2\.0\.0 Ok: queued as (\d+)", reply).group(1)
    wait_for(lambda: len(handler.acknowledged) == 1)
    wait_for(lambda: any("result=delivered" in line for line in lines_with(server.log, reply_id)),
             message=f"the reply's delivery is logged:\n{server.log_text()}")

    # grep on the inbound queue id: accepted (with the client and its HELO), then its copies
    # stored in the address's mailbox (with its session) and in the agents' queue.
    inbound = lines_with(server.log, queue_id)
    accepted = [line for line in inbound if " msg=accepted " in line]
    assert len(accepted) == 1, inbound
    assert "from=jane@example.test" in accepted[0] and "client=127.0.0.1" in accepted[0], accepted
    assert "helo=mx.example.test" in accepted[0] and "message_id=<order-7@example.test>" in accepted[0], accepted
    stored = [line for line in inbound if " msg=stored " in line]
    assert any("mailbox=maildir/acme.test/support" in line and "session=" in line and "session_reason=new-thread" in line
               for line in stored), inbound
    assert all(line.startswith("time=") and " level=" in line for line in inbound), inbound

    # grep on the reply's queue id: submitted by the agent, delivered to the next hop.
    outbound = lines_with(server.log, reply_id)
    assert any('msg="reply submitted"' in line and "agent=alice" in line for line in outbound), outbound
    delivered = [line for line in outbound if 'msg="delivery attempt"' in line]
    assert len(delivered) == 1, outbound
    assert f"relay=127.0.0.1:{port}" in delivered[0] and "to=jane@example.test" in delivered[0], delivered
    assert "attempt=1" in delivered[0] and 'reply="250 ' in delivered[0], delivered
    # The inbound message's lines are not the reply's and the other way round.
    assert not set(inbound) & set(outbound)

    # postgate trace by queue id: received, its copies and session, the reply and its delivery.
    text = trace(data_dir, queue_id)
    assert text.returncode == 0, text.stderr
    assert f"queue id {queue_id}: received" in text.stdout and "from <jane@example.test>" in text.stdout, text.stdout
    assert "with ESMTP id " + queue_id in text.stdout, text.stdout
    assert "stored in maildir/acme.test/support uid 1" in text.stdout and "session " in text.stdout, text.stdout
    assert f"reply queue id {reply_id}:" in text.stdout, text.stdout
    assert "to <jane@example.test>: delivered, 1 attempt" in text.stdout, text.stdout
    assert "flags now:" in text.stdout

    report = json.loads(trace(data_dir, queue_id, "--json").stdout)
    (story,) = report["messages"]
    assert story["message"]["queueId"] == queue_id and story["message"]["messageId"] == "<order-7@example.test>"
    copies = {copy["mailbox"]: copy for copy in story["message"]["copies"]}
    session_id = copies["maildir/acme.test/support"]["sessionId"]
    assert [s["id"] for s in story["sessions"]] == [session_id]
    assert story["sessions"][0]["customer"] == "jane@example.test"
    (traced_reply,) = story["replies"]
    assert traced_reply["id"] == int(reply_id) and traced_reply["sessionId"] == session_id
    assert [(r["address"], r["state"], r["attempts"]) for r in traced_reply["recipients"]] == [("jane@example.test", "delivered", 1)]
    assert traced_reply["recipients"][0]["lastReply"].startswith("250")

    # The agent's flag changes over IMAP are part of the story: when, who, what.
    imap = login(server)
    imap.select('"Shared/support@acme.test"')
    assert imap.store("1", "+FLAGS", "(\\Flagged $Label1)")[0] == "OK"
    assert imap.store("1", "-FLAGS", "(\\Flagged)")[0] == "OK"
    imap.logout()
    copy = next(c for c in json.loads(trace(data_dir, queue_id, "--json").stdout)["messages"][0]["message"]["copies"]
                if c["mailbox"] == "maildir/acme.test/support")
    assert [(c["agent"], c["added"], c["removed"]) for c in copy["flagChanges"]] == [
        ("alice", ["\\Flagged", "$Label1"], []), ("alice", [], ["\\Flagged"])]
    assert copy["flags"] == []
    assert "flags +\\Flagged +$Label1 by alice" in trace(data_dir, queue_id).stdout

    # By Message-ID, with or without its angle brackets: the same message.
    for query in ("<order-7@example.test>", "order-7@example.test"):
        by_message_id = json.loads(trace(data_dir, query, "--json").stdout)
        assert [m["message"]["queueId"] for m in by_message_id["messages"]] == [queue_id], query

    # By the reply's queue id: the reply, its delivery and its session.
    by_reply = json.loads(trace(data_dir, reply_id, "--json").stdout)
    assert by_reply["outbound"][0]["id"] == int(reply_id) and by_reply["outboundSessions"][0]["id"] == session_id

    # Two messages with one Message-ID (another sender and text, so no duplicate): each is listed.
    second = customer_writes(server.port, CUSTOMER_MESSAGE.replace("Jane Customer <", "Jane <").replace("My order", "Still, my order"))
    both = trace(data_dir, "order-7@example.test")
    assert both.returncode == 0 and "2 messages have the Message-ID" in both.stdout, both.stdout
    assert f"queue id {queue_id}:" in both.stdout and f"queue id {second}:" in both.stdout, both.stdout


def test_an_unknown_id_is_one_line_and_a_failure(data_dir: Path):
    for query in ("NOSUCHQUEUEID", "<nobody@example.test>", "987654"):
        proc = trace(data_dir, query)
        assert proc.returncode == 1, proc
        assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("postgate: no message with queue id or Message-ID"), proc.stderr
    assert "--json" in cli(data_dir, "trace", "--help").stdout


def test_json_log_lines_are_one_object_each(data_dir: Path, tmp_path: Path, spawn):
    config = tmp_path / "json.yaml"
    config.write_text("log_format: json\n")
    server = spawn(data_dir, config)
    queue_id = customer_writes(server.port)
    wait_for(lambda: '"msg":"stored"' in server.log.read_text(errors="replace"),
             message=f"the stored line is logged:\n{server.log_text()}")
    assert server.stop() == 0, server.log_text()
    records = [json.loads(line) for line in server.log.read_text().splitlines()]
    assert any(r["msg"] == "stopped" for r in records), records[-3:]
    assert records and all({"time", "level", "msg"} <= set(r) for r in records), records
    mine = [r for r in records if r.get("queue_id") == queue_id]
    assert mine[0]["msg"] == "accepted" and {r["msg"] for r in mine[1:]} == {"stored"}, mine
    accepted = mine[0]
    assert accepted["from"] == "jane@example.test" and accepted["to"] == ["support@acme.test"], accepted
