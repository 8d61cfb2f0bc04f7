"""Microsoft Graph gateways end to end: a channel address fetches a mailbox through Graph's
delta query and sends its replies through `sendMail`, against the loopback Graph endpoint of
`graph_server.py` (HTTPS with a test CA, an application token from the client credentials
grant, RFC 6749 section 4.4).

Fetching: every message of a folder is stored exactly once, across delta pages, restarts, a
SIGKILL in the middle of a page, throttling (429 with `Retry-After`, RFC 9110 section
10.2.3), a revoked access token, an expired delta link (410 Gone `syncStateNotFound`: a full
resync, the messages already stored not fetched again) and a message gone before its MIME
was read (recorded as skipped). Fetched mail is marked read or moved when asked. Sending: a
reply leaves as base64 MIME through `sendMail`, with its envelope recipients that are not in
To or Cc as Bcc (Graph takes the recipients from the MIME header). `connector test` checks
the token's application permissions. The first tests check the endpoint itself."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from conftest import cli, message_file, messages, wait_for
from graph_server import GraphServer, jwt_payload
from test_connector_fetch import channel, config, gateway_state, js, message, queue_subjects  # noqa: F401
from test_connector_oauth import secret_file
from test_connector_send import config as sending_config
from test_connectors import fails
from test_imap import add_agent
from test_outbound import sink  # noqa: F401
from test_replies import agent_reply, customer_writes, submit

ADDRESS = "support@acme.test"
MAILBOX = "support@customer.example"
IMMUTABLE = 'IdType="ImmutableId"'


@pytest.fixture
def graph():
    """The Graph endpoint with one mailbox, which may also send as the channel address."""
    server = GraphServer().start()
    server.add_mailbox(MAILBOX, display_name="Customer Support", aliases=[ADDRESS])
    yield server
    server.stop()
    assert server.errors == [], server.errors[0]


# --------------------------------------------------------------------------- the endpoint itself


def call(graph: GraphServer, method: str, url: str, body: bytes | None = None, token: str | None = None,
         **headers: str) -> tuple[int, dict, bytes]:
    """One HTTPS request trusting only the endpoint's CA; `url` may be a path under base_url."""
    if not url.startswith("https://"):
        url = graph.base_url + url
    fields = {name.replace("_", "-"): value for name, value in headers.items()}
    if token:
        fields["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=fields, method=method)
    context = ssl.create_default_context(cafile=graph.ca_file)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def api(graph: GraphServer, method: str, url: str, token: str, payload: dict | None = None,
        **headers: str) -> tuple[int, dict, dict]:
    """A Graph call with a JSON body and answer."""
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers = {"Content_Type": "application/json", **headers}
    status, answer_headers, answer = call(graph, method, url, body, token, **headers)
    return status, answer_headers, json.loads(answer) if answer else {}


def grant(graph: GraphServer, form: dict[str, str], url: str | None = None, **headers: str) -> tuple[int, dict]:
    status, _, body = call(graph, "POST", url or graph.token_url, urlencode(form).encode(),
                           Content_Type="application/x-www-form-urlencoded", **headers)
    return status, json.loads(body)


def client_credentials(graph: GraphServer, **overrides: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": graph.client_id, "client_secret": graph.client_secret,
            "scope": graph.scope, **overrides}


def access_token(graph: GraphServer) -> str:
    status, body = grant(graph, client_credentials(graph))
    assert status == 200, body
    return body["access_token"]


def mime(n: int, sender: str = "customer@example.org") -> bytes:
    return (f"From: Customer <{sender}>\r\nTo: {MAILBOX}\r\nSubject: Request {n}\r\n"
            f"Message-ID: <graph-{n}@example.org>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\nPlease help ({n}).\r\n").encode()


def delta_round(graph: GraphServer, token: str, url: str, **headers: str) -> tuple[list[dict], str]:
    """Follows @odata.nextLink from `url` to the page with @odata.deltaLink: (pages, delta link)."""
    pages = []
    while True:
        status, _, page = api(graph, "GET", url, token, **headers)
        assert status == 200, page
        pages.append(page)
        assert ("@odata.nextLink" in page) != ("@odata.deltaLink" in page), page
        if "@odata.deltaLink" in page:
            return pages, page["@odata.deltaLink"]
        url = page["@odata.nextLink"]


def entries(pages: list[dict]) -> list[dict]:
    return [entry for page in pages for entry in page["value"]]


def test_graph_server_issues_tokens_like_the_identity_platform(graph):
    status, body = grant(graph, client_credentials(graph))
    assert status == 200 and set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == body["ext_expires_in"] == 3599
    claims = jwt_payload(body["access_token"])
    assert claims["roles"] == ["Mail.ReadWrite", "Mail.Send"] and claims["tid"] == graph.tenant
    assert claims["aud"] == graph.origin and claims["exp"] - time.time() > 3500
    # Client authentication by HTTP Basic (RFC 6749 section 2.3.1) works too.
    basic = base64.b64encode(f"{graph.client_id}:{graph.client_secret}".encode()).decode()
    form = {k: v for k, v in client_credentials(graph).items() if k not in ("client_id", "client_secret")}
    status, _ = grant(graph, form, Authorization=f"Basic {basic}")
    assert status == 200
    # Errors of RFC 6749 section 5.2, with the identity platform's error codes.
    status, body = grant(graph, client_credentials(graph, client_secret="wrong"))
    assert (status, body["error"], body["error_codes"]) == (401, "invalid_client", [7000215]), body
    status, body = grant(graph, client_credentials(graph, scope="https://graph.example/.default"))
    assert (status, body["error"]) == (400, "invalid_scope")
    status, body = grant(graph, client_credentials(graph), url=graph.token_endpoint.replace("{tenant}", "other-tenant"))
    assert (status, body["error"]) == (400, "invalid_request") and "Tenant 'other-tenant' not found" in body["error_description"]
    status, body = grant(graph, client_credentials(graph, grant_type="password"))
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    # The permissions of tokens issued from now on can be cut down.
    graph.roles = ["Mail.ReadWrite"]
    assert jwt_payload(access_token(graph))["roles"] == ["Mail.ReadWrite"]
    # The refresh-token grant (section 6) issues a delegated token and a new refresh token.
    refresh = graph.issue_refresh_token(MAILBOX)
    status, body = grant(graph, {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": graph.client_id,
                                 "client_secret": graph.client_secret})
    assert status == 200 and body["refresh_token"] != refresh and body["scope"], body
    assert jwt_payload(body["access_token"])["scp"] == "Mail.ReadWrite" and jwt_payload(body["access_token"])["upn"] == MAILBOX
    status, body = grant(graph, {"grant_type": "refresh_token", "refresh_token": "0.Aunknown", "client_id": graph.client_id,
                                 "client_secret": graph.client_secret})
    assert (status, body["error"]) == (400, "invalid_grant")
    assert graph.token_request_count() == 9 and graph.successful_token_requests() == 4
    assert graph.requests == [], "token requests are not Graph requests"


def test_graph_server_requires_a_live_bearer_token(graph):
    path = f"/users/{MAILBOX}/mailFolders/inbox"
    status, headers, body = api(graph, "GET", path, "")
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken", body
    assert headers["WWW-Authenticate"].startswith("Bearer ") and headers["request-id"]
    token = access_token(graph)
    status, _, folder = api(graph, "GET", path, token, Prefer=IMMUTABLE)
    assert status == 200 and folder["displayName"] == "Inbox"
    graph.revoke_tokens()
    assert api(graph, "GET", path, token)[0] == 401
    assert api(graph, "GET", path, access_token(graph))[0] == 200
    graph.lifetime = 0
    status, _, body = api(graph, "GET", path, access_token(graph))
    assert status == 401 and "expired" in body["error"]["message"]
    recorded = graph.requests_for("folder", user=MAILBOX)
    assert [r.status for r in recorded] == [401, 200, 401, 200, 401]
    assert recorded[1].immutable_ids and not recorded[2].immutable_ids
    assert all(a.time <= b.time for a, b in zip(recorded, recorded[1:]))
    assert recorded[1].target == "/v1.0" + path and recorded[1].token == token


def test_graph_server_lists_folders_with_paging_and_well_known_names(graph):
    escalations = graph.create_folder(MAILBOX, "Support/Escalations")
    support = graph.folder_id(MAILBOX, "Support")
    token = access_token(graph)
    # Eleven top-level folders: ten on the first page (Graph's default), one behind the next link.
    status, _, first = api(graph, "GET", f"/users/{MAILBOX}/mailFolders", token)
    assert status == 200 and len(first["value"]) == 10, first
    assert set(first["value"][0]) == {"id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount",
                                      "totalItemCount", "sizeInBytes", "isHidden"}
    assert first["@odata.nextLink"].startswith(f"{graph.base_url}/users/{MAILBOX}/mailFolders?")
    status, _, second = api(graph, "GET", first["@odata.nextLink"], token)
    assert "@odata.nextLink" not in second
    names = [f["displayName"] for f in first["value"] + second["value"]]
    assert len(names) == 11 and {"Inbox", "Sent Items", "Deleted Items", "Junk Email", "Archive", "Support"} <= set(names)
    # $top pages in smaller steps.
    url, pages = f"/users/{MAILBOX}/mailFolders?$top=4", 0
    while url:
        status, _, page = api(graph, "GET", url, token)
        pages, url = pages + 1, page.get("@odata.nextLink")
    assert pages == 3
    # A well-known name in any case is the folder's id; the user by UPN (any case, percent-encoded) or id.
    by_name = api(graph, "GET", f"/users/{quote('SUPPORT@Customer.Example', safe='')}/mailFolders/INBOX", token)[2]
    by_id = api(graph, "GET", f"/users/{graph.mailbox_id(MAILBOX)}/mailFolders/{by_name['id']}", token)[2]
    assert by_name == by_id and by_name["id"] == graph.folder_id(MAILBOX, "inbox")
    status, _, children = api(graph, "GET", f"/users/{MAILBOX}/mailFolders/{support}/childFolders", token)
    assert [(c["id"], c["displayName"], c["parentFolderId"]) for c in children["value"]] == [(escalations, "Escalations", support)]
    status, _, found = api(graph, "GET", f"/users/{MAILBOX}/mailFolders?$filter=" + quote("displayName eq 'support'"), token)
    assert [f["id"] for f in found["value"]] == [support] and found["value"][0]["childFolderCount"] == 1
    # Hidden folders only when asked for.
    hidden = graph.create_folder(MAILBOX, "Hidden Things", hidden=True)
    assert hidden not in [f["id"] for f in api(graph, "GET", f"/users/{MAILBOX}/mailFolders?$top=50", token)[2]["value"]]
    assert hidden in [f["id"] for f in api(graph, "GET", f"/users/{MAILBOX}/mailFolders?$top=50&includeHiddenFolders=true",
                                           token)[2]["value"]]
    # Graph's errors.
    status, _, body = api(graph, "GET", "/users/nobody@customer.example/mailFolders", token)
    assert (status, body["error"]["code"]) == (404, "ErrorInvalidUser")
    status, _, body = api(graph, "GET", f"/users/{MAILBOX}/mailFolders/{support[:-8]}AAAAAAAA", token)
    assert (status, body["error"]["code"]) == (404, "ErrorItemNotFound")
    status, _, body = api(graph, "GET", f"/users/{MAILBOX}/mailFolders/not-an-id", token)
    assert (status, body["error"]["code"]) == (400, "ErrorInvalidIdMalformed")
    status, _, body = api(graph, "GET", f"/users/{MAILBOX}/mailFolderz", token)
    assert (status, body["error"]["code"]) == (400, "BadRequest")
    assert api(graph, "GET", f"/users/{MAILBOX}/mailFolders?$orderby=displayName", token)[0] == 400


def test_graph_server_delta_pages_a_round_then_reports_changes(graph):
    ids = graph.add_messages(MAILBOX, "inbox", (mime(n) for n in range(25)))
    token = access_token(graph)
    base = f"{graph.base_url}/users/{MAILBOX}/mailFolders/inbox/messages/delta"
    first = f"/users/{MAILBOX}/mailFolders/inbox/messages/delta?$select=receivedDateTime,isRead"
    # Without odata.maxpagesize, pages of ten; the links keep the path.
    pages, delta_link = delta_round(graph, token, first, Prefer=IMMUTABLE)
    assert [len(p["value"]) for p in pages] == [10, 10, 5]
    assert all(p["@odata.nextLink"].startswith(base + "?$skiptoken=") for p in pages[:-1])
    assert delta_link.startswith(base + "?$deltatoken=")
    assert [e["id"] for e in entries(pages)] == ids
    entry = pages[0]["value"][0]
    assert set(entry) == {"@odata.type", "@odata.etag", "id", "receivedDateTime", "isRead"}
    assert entry["@odata.type"] == "#microsoft.graph.message" and entry["isRead"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["receivedDateTime"])
    # odata.maxpagesize sets the page size, and Preference-Applied says so.
    status, headers, page = api(graph, "GET", first, token, Prefer=f"{IMMUTABLE}, odata.maxpagesize=20")
    assert len(page["value"]) == 20 and headers["Preference-Applied"] == "odata.maxpagesize=20"
    # Nothing changed: an empty final page with a new delta link.
    status, _, page = api(graph, "GET", delta_link, token, Prefer=IMMUTABLE)
    assert page["value"] == [] and page["@odata.deltaLink"] != delta_link
    # Mail arriving in the middle of a round comes in the next round.
    status, _, page = api(graph, "GET", first, token, Prefer=IMMUTABLE)
    late = graph.add_message(MAILBOX, "inbox", mime(25))
    pages, delta_link = delta_round(graph, token, page["@odata.nextLink"], Prefer=IMMUTABLE)
    assert [e["id"] for e in page["value"] + entries(pages)] == ids
    # Changes: read by a client, moved out (same immutable id in the target), deleted.
    status, _, changed = api(graph, "PATCH", f"/users/{MAILBOX}/messages/{ids[0]}", token, {"isRead": True}, Prefer=IMMUTABLE)
    assert status == 200 and changed["id"] == ids[0] and changed["isRead"] is True
    status, _, moved = api(graph, "POST", f"/users/{MAILBOX}/messages/{ids[1]}/move", token, {"destinationId": "archive"},
                           Prefer=IMMUTABLE)
    assert status == 201 and moved["id"] == ids[1] and moved["parentFolderId"] == graph.folder_id(MAILBOX, "Archive")
    graph.delete_message(ids[2])
    pages, delta_link = delta_round(graph, token, delta_link, Prefer=IMMUTABLE)
    changes = entries(pages)
    assert [e["id"] for e in changes] == [late, ids[0], ids[1], ids[2]]
    assert "@removed" not in changes[0] and changes[1]["isRead"] is True
    for removed in changes[2:]:
        assert removed == {"@odata.type": "#microsoft.graph.message", "id": removed["id"], "@removed": {"reason": "deleted"}}
    pages, _ = delta_round(graph, token, f"/users/{MAILBOX}/mailFolders/archive/messages/delta", Prefer=IMMUTABLE)
    assert [e["id"] for e in entries(pages)] == [ids[1]] and entries(pages)[0]["subject"] == "Request 1"
    assert graph.message_info(ids[0]).is_read and graph.message_info(ids[1]).folder == "Archive"
    assert api(graph, "GET", f"/users/{MAILBOX}/messages/{ids[2]}", token)[0] == 404
    # Without the ImmutableId preference ids are REST ids, which change when a message moves.
    status, _, page = api(graph, "GET", first, token)
    rest_id = page["value"][0]["id"]
    assert rest_id not in ids and api(graph, "GET", f"/users/{MAILBOX}/messages/{rest_id}", token)[0] == 200
    graph.move_message(ids[3], "deleteditems")
    assert graph.message_info(ids[3]).folder == "Deleted Items"
    status, _, page = api(graph, "GET", f"/users/{MAILBOX}/messages/{ids[3]}", token, Prefer=IMMUTABLE)
    assert status == 200 and page["id"] == ids[3]
    rest_ids = {e["id"] for e in api(graph, "GET", first, token, Prefer="odata.maxpagesize=50")[2]["value"]}
    old = [i for i in rest_ids if api(graph, "GET", f"/users/{MAILBOX}/messages/{i}", token)[0] == 404]
    assert old == [], "every REST id the inbox lists now is valid"


def test_graph_server_expired_delta_tokens_answer_410(graph):
    ids = graph.add_messages(MAILBOX, "inbox", (mime(n) for n in range(15)))
    token = access_token(graph)
    first = f"/users/{MAILBOX}/mailFolders/inbox/messages/delta?$select=receivedDateTime"
    status, _, page = api(graph, "GET", first, token, Prefer=IMMUTABLE)
    next_link = page["@odata.nextLink"]
    _, delta_link = delta_round(graph, token, next_link, Prefer=IMMUTABLE)
    graph.expire_delta_tokens()
    for link in (next_link, delta_link):
        status, _, body = api(graph, "GET", link, token, Prefer=IMMUTABLE)
        assert (status, body["error"]["code"]) == (410, "syncStateNotFound"), body
    status, _, body = api(graph, "GET", f"/users/{MAILBOX}/mailFolders/inbox/messages/delta?$deltatoken=unknown", token)
    assert (status, body["error"]["code"]) == (410, "syncStateInvalid")
    # A new first round works, with links that are valid.
    pages, _ = delta_round(graph, token, first, Prefer=IMMUTABLE)
    assert [e["id"] for e in entries(pages)] == ids


def test_graph_server_throttles_with_retry_after(graph):
    token = access_token(graph)
    path = f"/users/{MAILBOX}/mailFolders/inbox"
    graph.throttle(2, retry_after=7)
    status, headers, body = api(graph, "GET", path, token)
    assert (status, headers["Retry-After"], body["error"]["code"]) == (429, "7", "ApplicationThrottled")
    access_token(graph)  # token requests are not throttled, nor counted
    assert api(graph, "GET", path, token)[0] == 429
    assert api(graph, "GET", path, token)[0] == 200
    graph.throttle(1, retry_after=3, status=503)
    status, headers, body = api(graph, "GET", path, token)
    assert (status, headers["Retry-After"]) == (503, "3") and body["error"]["code"]
    assert api(graph, "GET", path, token)[0] == 200
    assert [r.status for r in graph.requests_for("folder", user=MAILBOX)] == [429, 429, 200, 503, 200]


def test_graph_server_serves_mime_and_accepts_mime_for_sendmail(graph):
    original = mime(1)
    message_id = graph.add_message(MAILBOX, "inbox", original)
    token = access_token(graph)
    status, headers, body = call(graph, "GET", f"/users/{MAILBOX}/messages/{message_id}/$value", token=token, Prefer=IMMUTABLE)
    assert status == 200 and body == original
    assert headers["Content-Type"] == "text/plain" and headers["Content-Length"] == str(len(original))
    # A vanished message is still listed by delta, but its MIME is 404.
    graph.vanish(message_id)
    status, _, body = api(graph, "GET", f"/users/{MAILBOX}/messages/{message_id}/$value", token)
    assert (status, body["error"]["code"]) == (404, "ErrorItemNotFound")
    pages, _ = delta_round(graph, token, f"/users/{MAILBOX}/mailFolders/inbox/messages/delta", Prefer=IMMUTABLE)
    assert [e["id"] for e in entries(pages)] == [message_id]
    assert graph.value_fetches() == {message_id: 1}
    # sendMail: the base64 of the MIME, recipients from its To, Cc and Bcc.
    outgoing = (f"From: Acme Support <{ADDRESS}>\r\nTo: Jane <jane@example.test>\r\nCc: ops@example.test\r\n"
                "Bcc: boss@example.test, desk@acme.test\r\nSubject: Re: help\r\nMessage-ID: <reply-1@acme.test>\r\n\r\n"
                "It ships today.\r\n").encode()
    status, _, body = call(graph, "POST", f"/users/{MAILBOX}/sendMail", base64.b64encode(outgoing), token,
                           Content_Type="text/plain")
    assert (status, body) == (202, b"")
    (sent,) = graph.sent
    assert sent.mime == outgoing and sent.user == MAILBOX and sent.sender == ADDRESS
    assert sent.recipients == ["jane@example.test", "ops@example.test", "boss@example.test", "desk@acme.test"]
    (saved,) = graph.folder_messages(MAILBOX, "sentitems")
    assert graph.message_info(saved).is_read
    status, _, raw = call(graph, "POST", f"/users/{MAILBOX}/sendMail", b"not base64 at all!", token, Content_Type="text/plain")
    body = json.loads(raw)
    assert (status, body["error"]["code"], body["error"]["message"]) == \
        (400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
    foreign = outgoing.replace(f"<{ADDRESS}>".encode(), b"<someone@elsewhere.example>")
    status, _, raw = call(graph, "POST", f"/users/{MAILBOX}/sendMail", base64.b64encode(foreign), token, Content_Type="text/plain")
    assert (status, json.loads(raw)["error"]["code"]) == (403, "ErrorSendAsDenied")
    graph.roles = ["Mail.ReadWrite"]
    status, _, raw = call(graph, "POST", f"/users/{MAILBOX}/sendMail", base64.b64encode(outgoing), access_token(graph),
                          Content_Type="text/plain")
    assert (status, json.loads(raw)["error"]["code"]) == (403, "ErrorAccessDenied")
    assert len(graph.sent) == 1


def test_graph_server_gate_holds_a_value_request_until_opened(graph):
    message_id = graph.add_message(MAILBOX, "inbox", mime(1))
    token = access_token(graph)
    gate = graph.gate(message_id)
    results: list = []
    fetch = threading.Thread(target=lambda: results.append(call(graph, "GET", f"/users/{MAILBOX}/messages/{message_id}/$value",
                                                                token=token)))
    fetch.start()
    assert gate.arrived.wait(30)
    assert results == [] and fetch.is_alive()
    gate.open()
    fetch.join(30)
    assert results[0][0] == 200 and results[0][2] == mime(1)


def test_graph_server_lists_unified_groups_and_users(graph):
    team = graph.add_group("Support Team", "team@customer.example")
    graph.add_group("Administrators", "admins@customer.example", unified=False)
    token = access_token(graph)
    status, _, body = api(graph, "GET", "/groups?$filter=groupTypes/any(c:c+eq+'Unified')&$select=id,displayName,mail", token)
    assert status == 200 and body["value"] == [{"id": team, "displayName": "Support Team", "mail": "team@customer.example"}]
    status, _, user = api(graph, "GET", f"/users/{MAILBOX}", token)
    assert user["userPrincipalName"] == MAILBOX and user["id"] == graph.mailbox_id(MAILBOX)


def test_graph_server_bulk_mailbox_pages_through_thousands(graph):
    ids = graph.add_messages(MAILBOX, "inbox", (mime(n) for n in range(3000)))
    assert len(set(ids)) == 3000
    token = access_token(graph)
    pages, _ = delta_round(graph, token, f"/users/{MAILBOX}/mailFolders/inbox/messages/delta?$select=receivedDateTime",
                           Prefer=f"{IMMUTABLE}, odata.maxpagesize=250")
    assert len(pages) == 12 and [e["id"] for e in entries(pages)] == ids


# --------------------------------------------------------------------------- Postgate: helpers


def graph_options(tmp_path: Path, graph: GraphServer) -> list[str]:
    """The connection options of a Graph gateway: the mailbox, the application's credentials
    (no refresh token: the client credentials grant), Graph's base URL and the CA."""
    return ["--username", MAILBOX, "--auth", "oauth2", "--oauth-client-id", graph.client_id,
            "--oauth-client-secret-file", str(secret_file(tmp_path, "graph-client-secret", graph.client_secret)),
            "--oauth-tenant", graph.tenant, "--oauth-token-endpoint", graph.token_endpoint,
            "--graph-url", graph.base_url, "--ca-file", graph.ca_file]


def connect(data: Path, tmp_path: Path, graph: GraphServer, *extra: str, folders: tuple[str, ...] = ("inbox",),
            poll: int = 10, publish: bool = True) -> None:
    """Sets the address's receiving gateway to the Graph mailbox, and publishes it."""
    args = ["connector", "set", ADDRESS, "--receiving", "graph", *graph_options(tmp_path, graph), "--poll-interval", str(poll)]
    for folder in folders:
        args += ["--folder", folder]
    cli(data, *args, *extra)
    if publish:
        cli(data, "publish", "--comment", "fetch the customer's mailbox through Microsoft Graph")


def connect_sending(data: Path, tmp_path: Path, graph: GraphServer, publish: bool = True) -> None:
    cli(data, "connector", "set", ADDRESS, "--sending", "--sending-protocol", "graph", *graph_options(tmp_path, graph))
    if publish:
        cli(data, "publish", "--comment", "send through Microsoft Graph")


def stored_ids(data: Path) -> list[str]:
    """The Message-IDs (without angle brackets) of the messages in the address's queue."""
    return [(row["message_id"] or "").strip("<>") for row in messages(data, "queues/support")]


def add_requests(graph: GraphServer, numbers) -> dict[str, str]:
    """Delivers `message(n)` for each n into the inbox: {Message-ID: Graph id}."""
    numbers = list(numbers)
    ids = graph.add_messages(MAILBOX, "inbox", (message(n) for n in numbers))
    return {f"request-{n}@example.org": graph_id for n, graph_id in zip(numbers, ids)}


def fetched_once(graph: GraphServer, ids) -> None:
    """Each message's MIME was read exactly once: the ledger of fetched ids kept it from
    being fetched again."""
    fetches = graph.value_fetches()
    assert {i: fetches[i] for i in ids} == {i: 1 for i in ids}


def body_of(raw: bytes) -> bytes:
    """A message's body, line ends made LF."""
    return re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[1].replace(b"\r\n", b"\n")


def delta_requests(graph: GraphServer, since: float = 0.0) -> list:
    return [r for r in graph.requests_for("delta", user=MAILBOX) if r.time > since]


# --------------------------------------------------------------------------- Postgate: fetching


def test_inbox_is_fetched_once_new_mail_at_the_next_poll_and_a_restart_fetches_nothing_again(channel, tmp_path, graph, spawn):
    ids = add_requests(graph, (1, 2, 3))
    connect(channel, tmp_path, graph)
    server = spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, message="three fetched messages in the queue")
    assert queue_subjects(channel) == ["Request 1", "Request 2", "Request 3"]
    (row,) = [r for r in messages(channel, "queues/support") if r["subject"] == "Request 1"]
    stored = message_file(channel, row).read_bytes()
    assert stored.endswith(message(1)), stored[:300]
    # One application token, by the client credentials grant for Graph's .default scope.
    (token_request,) = graph.token_requests
    assert (token_request.grant_type, token_request.scope, token_request.status) == ("client_credentials", graph.scope, 200)
    assert token_request.tenant == graph.tenant
    # Delta pages of 50 selecting only receivedDateTime, immutable ids throughout.
    first = delta_requests(graph)[0]
    assert "$skiptoken" not in first.query and "$deltatoken" not in first.query, first.target
    selected = set(first.query.get("$select", "").split(","))
    assert "receivedDateTime" in selected and selected <= {"id", "receivedDateTime"}, first.target
    assert all(r.immutable_ids for r in graph.requests_for(user=MAILBOX))
    assert all(r.preference("odata.maxpagesize") == "50" for r in delta_requests(graph))
    # Left in the mailbox (unread); a new message arrives at the next poll.
    assert not any(graph.message_info(i).is_read for i in ids.values()) and graph.requests_for("update") == []
    ids |= add_requests(graph, (4,))
    wait_for(lambda: len(queue_subjects(channel)) == 4, timeout=60, message="the fourth message fetched at the next poll")
    assert "$deltatoken" in delta_requests(graph)[-1].query, "the next poll asked for the changes only"
    # A restart resumes at the delta link of the last round: nothing is fetched again.
    server.stop()
    restarted = time.monotonic()
    spawn(channel, config(tmp_path))
    ids |= add_requests(graph, (5,))
    wait_for(lambda: len(queue_subjects(channel)) == 5, timeout=60, message="the fifth message fetched after a restart")
    assert "$deltatoken" in delta_requests(graph, since=restarted)[0].query
    assert queue_subjects(channel) == [f"Request {n}" for n in range(1, 6)]
    fetched_once(graph, ids.values())
    state = gateway_state(channel)
    assert state["state"] in ("idle", "connected") and not state.get("lastError"), state


def test_two_thousand_messages_arrive_exactly_once_across_delta_pages(channel, tmp_path, graph, spawn):
    count = 2000
    ids = add_requests(graph, range(count))
    connect(channel, tmp_path, graph)
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(messages(channel, "queues/support")) >= count, timeout=900, interval=0.5,
             message="every message of the mailbox stored")
    wait_for(lambda: gateway_state(channel).get("fetched") == count, message="the round recorded")
    stored = stored_ids(channel)
    assert len(stored) == len(set(stored)) == count and set(stored) == set(ids)
    fetched_once(graph, ids.values())
    pages = [r for r in delta_requests(graph) if r.status == 200]
    assert len(pages) > 1 and sum(r.entries for r in pages) >= count


def test_sigkill_during_a_delta_page_stores_every_message_exactly_once(channel, tmp_path, graph, spawn):
    count = 200
    ids = add_requests(graph, range(count))
    # The 26th message of the third page of 50.
    held = ids["request-125@example.org"]
    gate = graph.gate(held)
    connect(channel, tmp_path, graph)
    server = spawn(channel, config(tmp_path))
    assert gate.arrived.wait(300), "the held message's MIME was asked for"
    server.kill9()
    before = set(stored_ids(channel))
    assert len(before) < count
    gate.open()
    restarted = time.monotonic()
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(messages(channel, "queues/support")) >= count, timeout=300, interval=0.2,
             message="every message stored after the restart")
    stored = stored_ids(channel)
    assert len(stored) == len(set(stored)) == count and set(stored) == set(ids)
    # Resumed at the page it was reading, and what was stored before the kill (with its
    # ledger entry, in the same transaction) was not fetched again.
    assert "$skiptoken" in delta_requests(graph, since=restarted)[0].query
    refetched = {r.message_id for r in graph.requests_for("value", user=MAILBOX) if r.time > restarted}
    assert refetched.isdisjoint(ids[m] for m in before)


def test_throttled_requests_wait_retry_after_and_every_message_arrives(channel, tmp_path, graph, spawn):
    ids = add_requests(graph, (1, 2, 3))
    graph.throttle(2, retry_after=2)
    connect(channel, tmp_path, graph)
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, timeout=60, message="every message fetched after the throttling")
    recorded = graph.requests_for(user=MAILBOX)
    throttled = [i for i, r in enumerate(recorded) if r.status == 429]
    assert len(throttled) == 2
    for i in throttled:
        # The next request for the mailbox comes no earlier than Retry-After said.
        following = recorded[i + 1]
        assert following.time - recorded[i].time >= 2, (recorded[i].target, following.target)
    fetched_once(graph, ids.values())


def test_revoked_access_token_is_replaced_and_fetching_goes_on(channel, tmp_path, graph, spawn):
    add_requests(graph, (1,))
    connect(channel, tmp_path, graph)
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 1, message="the first message fetched")
    issued = graph.successful_token_requests()
    first_token = graph.requests_for(user=MAILBOX)[-1].token
    graph.revoke_tokens()
    add_requests(graph, (2,))
    wait_for(lambda: len(queue_subjects(channel)) == 2, timeout=60, message="the second message fetched with a new token")
    assert graph.successful_token_requests() > issued
    refused = [r for r in graph.requests_for(user=MAILBOX) if r.status == 401]
    assert refused and all(r.token == first_token for r in refused)
    assert graph.requests_for(user=MAILBOX)[-1].token != first_token
    wait_for(lambda: not gateway_state(channel).get("lastError"), message="no error left after the new token")


def test_expired_delta_link_resyncs_without_storing_twice(channel, tmp_path, graph, spawn):
    ids = add_requests(graph, (1, 2, 3))
    connect(channel, tmp_path, graph)
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, message="the first round stored")
    wait_for(lambda: any(r.link == "delta" for r in delta_requests(graph)), message="the first round's delta link issued")
    graph.expire_delta_tokens()
    ids |= add_requests(graph, (4, 5))
    wait_for(lambda: len(queue_subjects(channel)) == 5, timeout=60, message="the new messages stored after the resync")
    expired = [r for r in delta_requests(graph) if r.status == 410]
    assert expired, "the expired delta link was used"
    # The folder was read again from its first delta URL; what was stored is not fetched again.
    after = delta_requests(graph, since=expired[0].time)
    assert after and "$deltatoken" not in after[0].query and "$skiptoken" not in after[0].query
    assert queue_subjects(channel) == [f"Request {n}" for n in range(1, 6)]
    fetched_once(graph, ids.values())


def test_vanished_message_is_skipped_and_the_gateway_stays_healthy(channel, tmp_path, graph, spawn):
    ids = add_requests(graph, (1, 2, 3))
    gone = ids["request-2@example.org"]
    graph.vanish(gone)
    connect(channel, tmp_path, graph)
    spawn(channel, config(tmp_path))
    wait_for(lambda: gateway_state(channel).get("fetched") == 2 and gateway_state(channel).get("skipped") == 1,
             message="two fetched, one skipped")
    assert queue_subjects(channel) == ["Request 1", "Request 3"]
    assert {r.status for r in graph.requests_for("value") if r.message_id == gone} == {404}
    (status,) = js(channel, "connector", "status", ADDRESS)
    assert status["state"]["state"] in ("idle", "connected") and not status["state"].get("lastError"), status
    (skipped,) = status["skipped"]
    assert skipped["remoteID"] == gone, skipped
    # Fetching goes on.
    add_requests(graph, (4,))
    wait_for(lambda: len(queue_subjects(channel)) == 3, timeout=60, message="the next message fetched")


def test_after_fetch_seen_marks_fetched_messages_read(channel, tmp_path, graph, spawn):
    ids = add_requests(graph, (1, 2, 3))
    connect(channel, tmp_path, graph, "--after-fetch", "seen")
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, message="three fetched messages")
    wait_for(lambda: all(graph.message_info(i).is_read for i in ids.values()), message="fetched messages marked read")
    updates = graph.requests_for("update", user=MAILBOX)
    assert sorted(r.message_id for r in updates) == sorted(ids.values())
    assert all(json.loads(r.body) == {"isRead": True} for r in updates)
    # The next round lists the three as changed (read) beside a new message: only the new one
    # is fetched, and it is marked read too.
    ids |= add_requests(graph, (4,))
    wait_for(lambda: len(queue_subjects(channel)) == 4, timeout=60, message="the fourth message fetched")
    wait_for(lambda: graph.message_info(ids["request-4@example.org"]).is_read, message="the fourth marked read")
    fetched_once(graph, ids.values())
    assert graph.folder_messages(MAILBOX, "inbox") == list(ids.values())


def test_after_fetch_move_moves_fetched_messages_to_archive(channel, tmp_path, graph, spawn):
    ids = add_requests(graph, (1, 2, 3))
    connect(channel, tmp_path, graph, "--after-fetch", "move", "--move-to-folder", "Archive")
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 3, message="three fetched messages")
    wait_for(lambda: graph.folder_messages(MAILBOX, "inbox") == [], message="the inbox emptied")
    # Moved with their immutable ids kept.
    assert sorted(graph.folder_messages(MAILBOX, "archive")) == sorted(ids.values())
    assert len(graph.requests_for("move", user=MAILBOX)) == 3
    ids |= add_requests(graph, (4,))
    wait_for(lambda: sorted(graph.folder_messages(MAILBOX, "archive")) == sorted(ids.values()), timeout=60,
             message="the fourth message fetched and moved")
    wait_for(lambda: len(queue_subjects(channel)) == 4, message="four messages in the queue")
    assert queue_subjects(channel) == [f"Request {n}" for n in range(1, 5)]
    fetched_once(graph, ids.values())


def test_folders_by_well_known_name_and_display_name_path(channel, tmp_path, graph, spawn):
    graph.create_folder(MAILBOX, "Support/Escalations")
    ids = add_requests(graph, (1,))
    escalated = graph.add_message(MAILBOX, "Support/Escalations", message(2))
    graph.add_message(MAILBOX, "Support", message(3))
    graph.add_message(MAILBOX, "archive", message(4))
    connect(channel, tmp_path, graph, folders=("INBOX", "Support/Escalations"))
    spawn(channel, config(tmp_path))
    wait_for(lambda: len(queue_subjects(channel)) == 2, message="the two mapped folders fetched")
    wanted = {graph.folder_id(MAILBOX, "inbox"), graph.folder_id(MAILBOX, "Support/Escalations")}
    wait_for(lambda: {r.folder_id for r in delta_requests(graph) if r.link == "delta"} == wanted,
             message="both folders' rounds complete")
    assert {r.folder_id for r in delta_requests(graph) if r.status == 200} == wanted
    assert queue_subjects(channel) == ["Request 1", "Request 2"]
    fetched_once(graph, [*ids.values(), escalated])


# --------------------------------------------------------------------------- Postgate: sending


def test_reply_leaves_through_sendmail_as_base64_mime(channel, tmp_path, graph, sink, spawn):
    next_hop, next_hop_port = sink
    cli(channel, "address", "set", ADDRESS, "--contact-centre", "desk@acme.test", "--publish")
    add_agent(channel)
    connect_sending(channel, tmp_path, graph)
    server = spawn(channel, sending_config(tmp_path, next_hop_port))
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    wait_for(lambda: len(messages(channel, "queues/support")) == 1, message="the customer's message stored")
    # The reply is queued while serve is stopped, so the queued file can be read before it leaves.
    server.stop()
    proc = submit(channel, agent_reply("<order-1@example.test>"), "jane@example.test", "boss@example.test")
    queued_record = json.loads(proc.stdout)
    queued = (channel / "outbound" / queued_record["filename"]).read_bytes()
    spawn(channel, sending_config(tmp_path, next_hop_port))
    wait_for(lambda: len(graph.sent) == 1, timeout=60, message="the reply sent through sendMail")

    (request,) = graph.requests_for("sendMail", user=MAILBOX)
    assert request.status == 202 and (request.content_type or "").split(";")[0].strip() == "text/plain"
    assert base64.b64decode(request.body) == graph.sent[0].mime
    (sent,) = graph.sent
    reply = email.message_from_bytes(sent.mime, policy=email.policy.default)
    original = email.message_from_bytes(queued, policy=email.policy.default)
    # Postgate's Message-ID, Reply-To and threading, as queued.
    assert re.fullmatch(r"<pg[0-9a-z-]+@acme\.test>", reply["Message-ID"]), reply["Message-ID"]
    for name in ("Message-ID", "Reply-To", "In-Reply-To", "References", "From", "To", "Subject"):
        assert str(reply[name]) == str(original[name]), name
    assert reply["In-Reply-To"] == "<order-1@example.test>" and "<order-1@example.test>" in reply["References"]
    assert "desk@acme.test" in str(reply["Reply-To"])
    # Graph takes the recipients from the MIME header: the envelope recipients not in To/Cc
    # are there as Bcc (the agent's Bcc and the contact centre's copy).
    assert sorted(a for _, a in getaddresses([str(v) for v in reply.get_all("Bcc") or []])) == \
        ["boss@example.test", "desk@acme.test"]
    assert sorted(sent.recipients) == ["boss@example.test", "desk@acme.test", "jane@example.test"]
    assert body_of(sent.mime) == body_of(queued), "the body leaves as it was queued (and signed)"

    def delivered() -> bool:
        recipients = js(channel, "outbound", "show", str(queued_record["id"]))["recipients"]
        return all(r["state"] == "delivered" for r in recipients)
    wait_for(delivered, message="every recipient delivered")
    assert next_hop.acknowledged == [], "the normal next hop got nothing"
    assert len(graph.folder_messages(MAILBOX, "sentitems")) == 1


# --------------------------------------------------------------------------- Postgate: operations


def probe(data: Path, *args: str) -> tuple[int, dict]:
    proc = cli(data, "connector", "test", ADDRESS, *args, "--json", check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_connector_test_passes_and_names_a_missing_mail_send_permission(channel, tmp_path, graph):
    graph.add_message(MAILBOX, "inbox", message(1))
    connect(channel, tmp_path, graph, publish=False)
    connect_sending(channel, tmp_path, graph, publish=False)
    code, report = probe(channel)
    assert code == 0 and report["ok"] and report["settings"] == "draft" and report["direction"] == "receiving", report
    assert graph.successful_token_requests() >= 1 and graph.requests_for(user=MAILBOX)
    code, report = probe(channel, "--sending")
    assert code == 0 and report["ok"] and report["direction"] == "sending", report
    assert graph.sent == [], "without --send-to nothing is sent"
    # Tokens without the Mail.Send application permission: the sending test fails, naming it.
    graph.roles = ["Mail.ReadWrite"]
    code, report = probe(channel, "--sending")
    assert code == 1 and not report["ok"], report
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed and failed[0] == report["steps"][-1] and "Mail.Send" in failed[0]["detail"], report
    # Receiving needs only Mail.ReadWrite.
    code, report = probe(channel)
    assert code == 0 and report["ok"], report
    assert graph.sent == [] and graph.value_fetches() == {}


@pytest.mark.parametrize("existing", [False, True], ids=["new", "over-a-draft"])
@pytest.mark.parametrize("case", ["password", "plain-http-graph-url"])
def test_graph_settings_are_validated(channel, tmp_path, graph, existing, case):
    if existing:
        connect(channel, tmp_path, graph, publish=False)
    before = js(channel, "connector", "show", ADDRESS) if existing else None
    options = graph_options(tmp_path, graph)
    if case == "password":
        # A Graph gateway logs in only with an OAuth 2.0 token.
        password = secret_file(tmp_path, "password", "correct horse battery")
        options = ["--username", MAILBOX, "--auth", "password", "--password-file", str(password),
                   "--graph-url", graph.base_url, "--ca-file", graph.ca_file]
        needles = ["oauth2"]
    else:
        # The token goes only to an https Graph URL (plain http only on a loopback host).
        options[options.index("--graph-url") + 1] = "http://example.com/v1.0"
        needles = ["graph", "https"]
    line = fails(channel, "connector", "set", ADDRESS, "--receiving", "graph", *options, "--folder", "inbox")
    for needle in needles:
        assert needle in line.lower(), line
    if existing:
        assert js(channel, "connector", "show", ADDRESS) == before
    else:
        assert js(channel, "connector", "list") == []
