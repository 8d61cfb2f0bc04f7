"""A Microsoft 365 group as a channel, end to end: a receiving Graph gateway names a group
instead of a mailbox and each new post of the group's conversation threads becomes a message
of the channel, against the loopback Graph endpoint of `graph_server.py`.

Graph serves a group's mail as threads and posts (`/groups/{id}/threads`, `.../posts`), not as
MIME: Postgate writes each post as an RFC 5322 message (From the author, To the group, the
thread's topic as Subject, a Message-ID derived from the post's id and In-Reply-To/References
naming the thread's earlier posts, so a thread is one session), stores it exactly once across
passes, restarts, a SIGKILL in the middle of a thread, throttling (503 with `Retry-After`)
and a revoked token, keeps attachments intact, and never lets a name from Graph start a
header field. The first test checks the endpoint itself."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import cli, message_file, messages, wait_for
from graph_server import GraphServer
from test_connector_fetch import channel, config, gateway_state, js  # noqa: F401
from test_connector_graph import access_token, api, graph_options, probe
from test_connectors import fails

ADDRESS = "support@acme.test"
GROUP_MAIL = "team@customer.example"
JO = ("Jo Customer", "jo@example.org")
ROLES = ("Mail.ReadWrite", "Mail.Send", "Group.Read.All")


@pytest.fixture
def graph():
    """The Graph endpoint with one Microsoft 365 group the application may read."""
    server = GraphServer(roles=ROLES).start()
    server.team = server.add_group("Support Team", GROUP_MAIL)
    yield server
    server.stop()
    assert server.errors == [], server.errors[0]


# --------------------------------------------------------------------------- the endpoint itself


def test_graph_server_serves_group_threads_and_posts_in_the_documented_shapes(graph):
    token = access_token(graph)
    # Exchange's ids are base64: a "/" in one is percent-encoded in a path (RFC 3986 section 3.3).
    q = lambda text: quote(text, safe="")  # noqa: E731
    threads = [graph.post_to_group(graph.team, JO, f"<p>Question {n}</p>", topic=f"Topic {n}")[0] for n in range(12)]
    thread, post = threads[0], graph.group_thread(graph.team, threads[0])["posts"][0]["id"]
    _, reply = graph.post_to_group(graph.team, ("Ann", "ann@example.org"), "Answer", thread_id=thread, content_type="text",
                                   attachments=[("a.bin", "application/octet-stream", b"\x00\x01")],
                                   new_participants=[("Ann", "ann@example.org")])
    # The group by id and by mail address.
    status, _, group = api(graph, "GET", f"/groups/{graph.team}?$select=id,displayName,mail", token)
    assert status == 200 and (group["id"], group["mail"]) == (graph.team, GROUP_MAIL), group
    status, _, found = api(graph, "GET", f"/groups?$filter=mail%20eq%20'{GROUP_MAIL}'&$select=id,mail", token)
    assert [g["id"] for g in found["value"]] == [graph.team]
    assert api(graph, "GET", "/groups/02bd9fd6-8f93-4758-87c3-1fb73740a315", token)[0] == 404
    # Threads, ten a page behind @odata.nextLink, with conversationThread's default properties.
    status, _, first = api(graph, "GET", f"/groups/{graph.team}/threads", token)
    assert status == 200 and len(first["value"]) == 10 and "@odata.nextLink" in first, first
    assert set(first["value"][0]) == {"id", "topic", "hasAttachments", "lastDeliveredDateTime", "uniqueSenders", "preview", "isLocked"}
    _, _, second = api(graph, "GET", first["@odata.nextLink"], token)
    assert [t["id"] for t in first["value"] + second["value"]] == threads and "@odata.nextLink" not in second
    assert first["value"][0]["hasAttachments"] and first["value"][0]["uniqueSenders"] == ["Ann", "Jo Customer"]
    # $filter on threads is not documented: refused, not ignored.
    assert api(graph, "GET", f"/groups/{graph.team}/threads?$filter=lastDeliveredDateTime%20gt%202026-01-01T00:00:00Z", token)[0] == 400
    # Posts with the post resource's properties; no internetMessageId (Graph documents none).
    status, _, posts = api(graph, "GET", f"/groups/{graph.team}/threads/{q(thread)}/posts", token)
    assert status == 200 and [p["id"] for p in posts["value"]] == [post, reply]
    answer = posts["value"][1]
    assert set(answer) == {"@odata.etag", "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
                           "receivedDateTime", "hasAttachments", "body", "from", "sender", "conversationThreadId",
                           "conversationId", "newParticipants"}
    assert answer["body"] == {"contentType": "text", "content": "Answer"} and answer["conversationThreadId"] == thread
    assert answer["from"] == {"emailAddress": {"name": "Ann", "address": "ann@example.org"}} and answer["hasAttachments"]
    # Attachments expanded (one relationship only) or listed, as fileAttachments with base64 bytes.
    _, _, expanded = api(graph, "GET", f"/groups/{graph.team}/threads/{q(thread)}/posts?$expand=attachments", token)
    (file,) = expanded["value"][1]["attachments"]
    assert file["@odata.type"] == "#microsoft.graph.fileAttachment" and base64.b64decode(file["contentBytes"]) == b"\x00\x01"
    status, _, listed = api(graph, "GET", f"/groups/{graph.team}/threads/{q(thread)}/posts/{q(reply)}/attachments", token)
    assert status == 200 and listed["value"] == [file]
    assert api(graph, "GET", f"/groups/{graph.team}/threads/{q(thread)}/posts?$expand=inReplyTo,attachments", token)[0] == 400
    # Reading conversations needs a group permission.
    graph.roles = ["Mail.ReadWrite"]
    status, _, body = api(graph, "GET", f"/groups/{graph.team}/threads", access_token(graph))
    assert status == 403 and body["error"]["code"] == "ErrorAccessDenied"


# --------------------------------------------------------------------------- Postgate: helpers


def group_options(tmp_path: Path, graph: GraphServer, group: str) -> list[str]:
    """A Graph gateway's connection options with the group in place of the mailbox."""
    options = graph_options(tmp_path, graph)
    at = options.index("--username")
    return options[:at] + options[at + 2:] + ["--group", group]


def connect_group(data: Path, tmp_path: Path, graph: GraphServer, group: str | None = None, publish: bool = True) -> None:
    cli(data, "address", "set", ADDRESS, "--session-mode", "thread", "--publish")
    cli(data, "connector", "set", ADDRESS, "--receiving", "graph", *group_options(tmp_path, graph, group or graph.team),
        "--poll-interval", "10")
    if publish:
        cli(data, "publish", "--comment", "the support team's group is the channel")


def stored(data: Path) -> list:
    return messages(data, "queues/support")


def parsed(data: Path, row) -> email.message.EmailMessage:
    return email.message_from_bytes(message_file(data, row).read_bytes(), policy=email.policy.default)


def sessions_by_subject(data: Path) -> dict[str, set[int]]:
    """The sessions each Subject's messages are in (the address's own mailbox holds them)."""
    out: dict[str, set[int]] = {}
    for row in messages(data):
        out.setdefault(row["subject"], set()).add(row["session_id"])
    return out


def post_requests(graph: GraphServer, since: float = 0.0) -> list:
    return [r for r in graph.requests_for("posts") if r.time > since]


# --------------------------------------------------------------------------- Postgate: fetching


def test_group_threads_become_sessions_new_posts_join_them_and_a_restart_stores_nothing_twice(channel, tmp_path, graph, spawn):
    # Two threads from the same customer: thread-based sessions tell them apart only by
    # the threading fields Postgate writes.
    billing, _ = graph.post_to_group(graph.team, JO, "<p>The invoice is wrong.</p>", topic="Invoice 7")
    graph.post_to_group(graph.team, JO, "<p>It shows 12 items.</p>", thread_id=billing)
    parcel, _ = graph.post_to_group(graph.team, JO, "<p>Where is my parcel?</p>", topic="Parcel 9")
    connect_group(channel, tmp_path, graph, group=GROUP_MAIL)
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: len(stored(channel)) == 3, message="three posts stored")
    by_subject = sessions_by_subject(channel)
    assert set(by_subject) == {"Invoice 7", "Parcel 9"} and all(len(s) == 1 for s in by_subject.values()), by_subject
    assert by_subject["Invoice 7"] != by_subject["Parcel 9"], "one session per thread"
    sessions = json.loads(cli(channel, "session", "list", "--address", ADDRESS, "--json").stdout)
    assert len(sessions) == 2, sessions
    first, second = sorted((r for r in stored(channel) if r["subject"] == "Invoice 7"), key=lambda r: r["id"])
    opening, answer = parsed(channel, first), parsed(channel, second)
    assert opening["From"] == "Jo Customer <jo@example.org>" and opening["To"] == f"Support Team <{GROUP_MAIL}>"
    assert answer["In-Reply-To"] == opening["Message-ID"] and answer["References"] == opening["Message-ID"]
    assert opening["Message-ID"].endswith("@acme.test>") and "The invoice is wrong." in opening.get_body(("html",)).get_content()
    assert opening["Received"] and " with Graph " in opening["Received"]
    # The group was found by its mail address, then read by id; unchanged threads are not
    # read again at the next pass.
    assert graph.requests_for("groups")[0].query["$filter"] == f"mail eq '{GROUP_MAIL}'"
    reads = len(post_requests(graph))
    assert reads == 2
    # A new post in a thread joins its session at the next pass.
    graph.post_to_group(graph.team, JO, "<p>And the date is wrong too.</p>", thread_id=billing)
    wait_for(lambda: len(stored(channel)) == 4, timeout=60, message="the new post stored at the next pass")
    assert sessions_by_subject(channel)["Invoice 7"] == by_subject["Invoice 7"]
    assert len(post_requests(graph)) == reads + 1, "only the changed thread's posts were read"
    # A restart stores nothing again; a new post in the other thread arrives.
    server.stop()
    restarted = time.monotonic()
    spawn(channel, config(tmp_path))
    graph.post_to_group(graph.team, JO, "<p>Still nothing.</p>", thread_id=parcel)
    wait_for(lambda: len(stored(channel)) == 5, timeout=60, message="the fifth post stored after a restart")
    ids = [r["message_id"] for r in stored(channel)]
    assert len(ids) == len(set(ids)) == 5
    assert sessions_by_subject(channel)["Parcel 9"] == by_subject["Parcel 9"]
    assert len(post_requests(graph, since=restarted)) == 1, "only the thread with a new post was read after the restart"
    state = gateway_state(channel)
    assert state["fetched"] == 5 and state["state"] in ("idle", "connected") and not state.get("lastError"), state


def test_sigkill_in_the_middle_of_a_thread_stores_each_post_exactly_once(channel, tmp_path, graph, spawn):
    thread, _ = graph.post_to_group(graph.team, JO, "<p>one</p>", topic="Many posts")
    for n in range(2, 6):
        _, post = graph.post_to_group(graph.team, JO, f"<p>post {n}</p>", thread_id=thread,
                                      attachments=[(f"f{n}.txt", "text/plain", b"x")] if n == 3 else ())
        if n == 3:
            held = graph.gate(post)
    connect_group(channel, tmp_path, graph)
    server = spawn(channel, config(tmp_path))
    assert held.arrived.wait(120), "the third post's attachments were asked for"
    server.kill9()
    before = len(stored(channel))
    assert before == 2, "the first two posts were stored before the kill"
    held.open()
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(stored(channel)) == 5, timeout=60, message="every post stored after the restart")
    ids = [r["message_id"] for r in stored(channel)]
    assert len(set(ids)) == 5
    wait_for(lambda: len(messages(channel)) == 5 and len({r["session_id"] for r in messages(channel)}) == 1,
             message="the thread's five posts in one session")
    wait_for(lambda: gateway_state(channel).get("fetched") == 5, message="five posts recorded")


def test_attachments_arrive_intact_and_a_hostile_name_injects_no_header(channel, tmp_path, graph, spawn):
    payload = os.urandom(70_000)
    graph.post_to_group(graph.team, JO, "<p>See the scan.</p>", topic="Scan für Sie",
                        attachments=[("Scan März.pdf", "application/pdf", payload), ("note.txt", "text/plain", b"hello\r\n")])
    hostile = ("Eve\r\nBcc: victim@example.net\r\nX-Injected: yes", "eve@example.org")
    graph.post_to_group(graph.team, hostile, "<p>hi</p>", topic="Hello\r\nX-Injected: topic")
    connect_group(channel, tmp_path, graph)
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(stored(channel)) == 2, message="both posts stored")
    by_subject = {str(parsed(channel, r)["Subject"]): r for r in stored(channel)}
    assert set(by_subject) == {"Scan für Sie", "Hello X-Injected: topic"}, list(by_subject)
    scan = parsed(channel, by_subject["Scan für Sie"])
    files = {part.get_filename(): part.get_payload(decode=True) for part in scan.iter_attachments()}
    assert files == {"Scan März.pdf": payload, "note.txt": b"hello\r\n"}, list(files)
    row = by_subject["Hello X-Injected: topic"]
    raw = message_file(channel, row).read_bytes()
    header = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header and b"\r\nX-Injected:" not in header, header
    message = parsed(channel, row)
    assert message["From"].addresses[0].addr_spec == "eve@example.org" and message["Subject"] == "Hello X-Injected: topic"


def test_throttling_and_a_revoked_token_are_waited_out_and_each_post_arrives_once(channel, tmp_path, graph, spawn):
    thread, _ = graph.post_to_group(graph.team, JO, "<p>first</p>", topic="Throttled")
    graph.throttle(2, retry_after=2, status=503)
    connect_group(channel, tmp_path, graph)
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(stored(channel)) == 1, timeout=60, message="the post stored after the throttling")
    recorded = [r for r in graph.requests if r.kind != "groups"]
    throttled = [i for i, r in enumerate(recorded) if r.status == 503]
    assert len(throttled) == 2
    for i in throttled:
        # The next request comes no earlier than Retry-After said (RFC 9110 section 10.2.3).
        assert recorded[i + 1].time - recorded[i].time >= 2, (recorded[i].target, recorded[i + 1].target)
    # A revoked token: one new token, the same request again, and the next post arrives.
    issued = graph.successful_token_requests()
    graph.revoke_tokens()
    graph.post_to_group(graph.team, JO, "<p>second</p>", thread_id=thread)
    wait_for(lambda: len(stored(channel)) == 2, timeout=60, message="the second post stored with a new token")
    assert graph.successful_token_requests() > issued and any(r.status == 401 for r in graph.requests)
    ids = [r["message_id"] for r in stored(channel)]
    assert len(set(ids)) == 2
    wait_for(lambda: not gateway_state(channel).get("lastError"), message="no error left")


# --------------------------------------------------------------------------- Postgate: operations


def test_connector_test_reaches_the_group_and_names_a_missing_permission(channel, tmp_path, graph):
    graph.post_to_group(graph.team, JO, "<p>hi</p>", topic="First question")
    connect_group(channel, tmp_path, graph, publish=False)
    code, report = probe(channel)
    assert code == 0 and report["ok"], report
    steps = {s["step"]: s["detail"] for s in report["steps"]}
    assert "Support Team" in steps["reach group"] and "First question" in steps["list threads"], steps
    # Without a group permission the threads cannot be listed: the step says which one is needed.
    graph.roles = ["Mail.ReadWrite"]
    code, report = probe(channel)
    assert code == 1 and report["steps"][-1]["step"] == "list threads", report
    assert "Group-Conversation.Read.All" in report["steps"][-1]["detail"], report


def test_group_settings_are_validated_with_one_line(channel, tmp_path, graph):
    options = group_options(tmp_path, graph, graph.team)
    # A mailbox and a group at once.
    line = fails(channel, "connector", "set", ADDRESS, "--receiving", "graph", *options, "--username", "support@customer.example")
    assert "not both" in line, line
    # Not a group id nor a mail address.
    line = fails(channel, "connector", "set", ADDRESS, "--receiving", "graph", *options[:-1], "support team")
    assert "neither a group id" in line, line
    # A group cannot send: replies leave through the sending gateway.
    line = fails(channel, "connector", "set", ADDRESS, "--sending", "--group", graph.team)
    assert "cannot send" in line and "sendMail" in line, line
    assert js(channel, "connector", "list") == []
    # A mailbox gateway switched to the group keeps no mailbox settings.
    cli(channel, "connector", "set", ADDRESS, "--receiving", "graph", *graph_options(tmp_path, graph), "--folder", "Support",
        "--after-fetch", "seen")
    cli(channel, "connector", "set", ADDRESS, "--receiving", "graph", "--group", graph.team.upper())
    (shown,) = [g for g in js(channel, "connector", "list") if g["direction"] == "receiving"]
    settings = js(channel, "connector", "show", ADDRESS)["receiving"]["draft"]["settings"]
    assert settings["group"] == graph.team and settings["username"] == "" and settings["folders"] == ["INBOX"], settings
    assert settings["afterFetch"] == "leave" and shown["address"] == ADDRESS
