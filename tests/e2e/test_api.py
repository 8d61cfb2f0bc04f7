"""The HTTP API end to end: a real `postgate serve` with its API listener on a free loopback
port, over TLS verified against the gateway's own certificate, driven by Python's
http.client, curl (HTTP/2) and schemathesis (every response checked against the OpenAPI
document the server is generated from)."""

from __future__ import annotations

import http.client
import json
import shutil
import sqlite3
import ssl
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, ROOT, cli, free_port

SPEC = ROOT / "Sources" / "PostgateAPI" / "openapi.yaml"


class API:
    """A client of the running gateway's API, verifying its certificate."""

    def __init__(self, port: int, cafile: Path, smtp_port: int):
        self.port = port
        self.smtp_port = smtp_port
        self.cafile = cafile
        self.context = ssl.create_default_context(cafile=str(cafile))

    def request(self, method: str, path: str, token: str | None = None, body=None, headers: dict | None = None,
                raw: bytes | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
        try:
            sent = dict(headers or {})
            if token:
                sent["Authorization"] = f"Bearer {token}"
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
            if data is not None:
                sent.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, token: str | None = None, body=None, headers: dict | None = None,
             expect: int = 200) -> tuple[dict, dict]:
        status, fields, data = self.request(method, path, token, body, headers)
        assert status == expect, (status, data)
        return (json.loads(data) if data else {}), fields


def make_token(data: Path, name: str, *scopes: str, rate: int = 100000) -> str:
    args = ["token", "add", name, "--rate", str(rate), "--json"]
    for scope in scopes:
        args += ["--scope", scope]
    return json.loads(cli(data, *args).stdout)["token"]


@pytest.fixture
def api(data_dir: Path, spawn, tmp_path: Path) -> API:
    port = free_port()
    config = tmp_path / "api.yaml"
    config.write_text(f"hostname: localhost\napi:\n  listen: [\"127.0.0.1:{port}\"]\n")
    server = spawn(data_dir, config)
    return API(port, data_dir / "certs" / "dev-certificate.pem", server.port)


def assert_problem(status: int, fields: dict, data: bytes, expected: int) -> dict:
    """Every error is RFC 9457 problem details with the same status in the body."""
    assert status == expected, (status, data)
    assert fields["content-type"].startswith("application/problem+json"), fields
    problem = json.loads(data)
    assert problem["status"] == expected and problem["type"].startswith("urn:postgate:problem:") and problem["title"]
    assert problem["detail"], problem
    return problem


def test_health_readiness_and_the_document_need_no_token(api: API):
    health, _ = api.json("GET", "/healthz")
    assert health == {"status": "ok"}
    ready, _ = api.json("GET", "/readyz")
    assert ready["ready"] is True and {c["name"] for c in ready["checks"]} == {"listeners", "store", "disk"}
    assert all(c["ok"] for c in ready["checks"])
    status, fields, data = api.request("GET", "/openapi.yaml")
    assert status == 200 and fields["content-type"] == "application/yaml"
    assert data == SPEC.read_bytes(), "the served document is the one the server was generated from"


def test_the_document_is_valid_openapi():
    subprocess.run(["python3", "-m", "openapi_spec_validator", str(SPEC)], check=True, capture_output=True, timeout=60)


def test_tokens_scopes_and_revocation(api: API, data_dir: Path):
    admin = make_token(data_dir, "ops", "admin")
    reader = make_token(data_dir, "dashboard", "read")
    status, fields, data = api.request("GET", "/v1/domains")
    assert_problem(status, fields, data, 401)
    assert fields["www-authenticate"].startswith("Bearer"), fields
    status, fields, data = api.request("GET", "/v1/domains", token="pgt_0123456789abcdef_not-the-secret")
    assert_problem(status, fields, data, 401)
    assert 'error="invalid_token"' in fields["www-authenticate"]
    status, fields, data = api.request("GET", "/v1/domains", headers={"Authorization": "Basic b3BzOm9wcw=="})
    assert_problem(status, fields, data, 401)

    page, _ = api.json("GET", "/v1/domains", reader)
    assert [d["name"] for d in page["items"]] == ["acme.test"] and "nextCursor" not in page
    status, fields, data = api.request("POST", "/v1/domains", reader, {"name": "beta.test"})
    assert_problem(status, fields, data, 403)
    assert "beta.test" not in cli(data_dir, "domain", "list").stdout, "a refused request changes nothing"

    added, fields = api.json("POST", "/v1/domains", admin, {"name": "beta.test"}, expect=201)
    assert added["name"] == "beta.test" and added["kind"] == "hosted" and fields["etag"].startswith('"')
    assert "beta.test" in cli(data_dir, "domain", "list").stdout

    listed = json.loads(cli(data_dir, "token", "list", "--json").stdout)
    assert {t["name"] for t in listed} == {"ops", "dashboard"}
    assert admin not in json.dumps(listed) and reader not in json.dumps(listed)
    stored = (data_dir / "postgate.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in data_dir.glob("postgate.sqlite-*") if p.is_file())
    assert admin.encode() not in stored and admin.split("_", 2)[2].encode() not in stored, "only the token's hash is kept"

    cli(data_dir, "token", "revoke", "dashboard")
    status, fields, data = api.request("GET", "/v1/domains", reader)
    assert_problem(status, fields, data, 401)
    api.json("GET", "/v1/domains", admin)

    audit = json.loads(cli(data_dir, "audit", "--json").stdout)
    actions = [(e["actor"], e["action"], e["target"]) for e in audit]
    assert ("token:ops", "domain.add", "beta.test") in actions
    assert ("cli", "token.revoke", "dashboard") in actions
    events, _ = api.json("GET", "/v1/audit?limit=2", admin)
    assert len(events["items"]) == 2 and events["nextCursor"]
    assert events["items"][0]["id"] > events["items"][1]["id"], "newest first"


def test_address_draft_with_etags_then_publish(api: API, data_dir: Path):
    admin = make_token(data_dir, "ops", "admin")
    address, fields = api.json("GET", "/v1/addresses/support@acme.test", admin)
    etag = fields["etag"]
    assert address["settings"]["displayName"] == "Acme Support" and address["pending"] == [] and "draft" not in address

    wanted = dict(address["settings"], displayName="Acme Care", sessionMode="thread")
    saved, fields = api.json("PUT", "/v1/addresses/support@acme.test/draft", admin, wanted, {"If-Match": etag})
    assert saved["draft"]["displayName"] == "Acme Care"
    assert {c["field"] for c in saved["pending"]} == {"displayName", "sessionMode"}
    assert saved["settings"]["displayName"] == "Acme Support", "a draft is not live"
    new_etag = fields["etag"]
    assert new_etag != etag

    # A client still holding the first version is refused, and nothing changes.
    stale = dict(address["settings"], displayName="Lost Update")
    status, fields, data = api.request("PUT", "/v1/addresses/support@acme.test/draft", admin, stale, {"If-Match": etag})
    problem = assert_problem(status, fields, data, 412)
    assert new_etag in problem["detail"]
    current, _ = api.json("GET", "/v1/addresses/support@acme.test", admin)
    assert current["draft"]["displayName"] == "Acme Care"

    # A draft that breaks a rule (an enabled address needs a default queue) is refused whole.
    broken = dict(current["draft"], defaultQueue=None, displayName="Broken")
    status, fields, data = api.request("PUT", "/v1/addresses/support@acme.test/draft", admin, broken)
    assert_problem(status, fields, data, 422)
    assert api.json("GET", "/v1/addresses/support@acme.test", admin)[0]["draft"]["displayName"] == "Acme Care"

    publication, _ = api.json("POST", "/v1/addresses/support@acme.test/publish", admin, {"comment": "new name"},
                              {"If-Match": new_etag})
    assert publication["comment"] == "new name"
    assert {c["field"] for c in publication["addresses"][0]["changes"]} == {"displayName", "sessionMode"}
    shown = json.loads(cli(data_dir, "address", "show", "support@acme.test", "--json").stdout)
    assert shown["displayName"] == "Acme Care" and shown["settings"]["sessionMode"] == "thread" and shown["hasDraft"] is False

    status, fields, data = api.request("POST", "/v1/addresses/support@acme.test/publish", admin, {})
    assert_problem(status, fields, data, 422)  # nothing left to publish
    status, fields, data = api.request("GET", "/v1/addresses/help@acme.test", admin)
    assert_problem(status, fields, data, 409)  # an alias is not an address
    audit = [(e["actor"], e["action"]) for e in json.loads(cli(data_dir, "audit", "--json").stdout)]
    assert ("token:ops", "address.draft") in audit and ("token:ops", "address.publish") in audit


def test_bad_requests_get_one_problem_and_change_nothing(api: API, data_dir: Path):
    admin = make_token(data_dir, "ops", "admin")
    cases = [
        ("POST", "/v1/domains", b"{not json", 400),
        ("POST", "/v1/domains", json.dumps({"name": 12}).encode(), 400),
        ("POST", "/v1/domains", json.dumps({"name": "x.test", "colour": "red"}).encode(), 400),
        ("POST", "/v1/domains", json.dumps({"name": "not a domain"}).encode(), 422),
        ("POST", "/v1/domains", json.dumps({"name": "acme.test"}).encode(), 409),
        ("POST", "/v1/domains", b"{\"name\": \"" + b"a" * 2_000_000 + b".test\"}", 413),
        ("GET", "/v1/domains?limit=0", None, 400),
        ("GET", "/v1/domains?limit=many", None, 400),
        ("GET", "/v1/domains?cursor=%25%25", None, 422),
        ("GET", "/v1/sessions/abc", None, 400),
        ("GET", "/v1/sessions/999", None, 404),
        ("POST", "/v1/outbound/999/retry", None, 404),
        ("GET", "/v1/nothing", None, 404),
        ("DELETE", "/v1/domains", None, 405),
        ("DELETE", "/v1/domains/acme.test", None, 409),  # it still hosts an address
    ]
    for method, path, raw, expected in cases:
        headers = {"Content-Type": "application/json"} if raw is not None else {}
        status, fields, data = api.request(method, path, admin, raw=raw, headers=headers)
        problem = assert_problem(status, fields, data, expected)
        if expected == 405:
            assert "GET" in fields["allow"] and "POST" in fields["allow"]
        assert "/tmp/" not in problem["detail"] and str(data_dir) not in problem["detail"], "no paths in problems"
    domains = [d["name"] for d in api.json("GET", "/v1/domains", admin)[0]["items"]]
    assert domains == ["acme.test"]
    assert json.loads(cli(data_dir, "audit", "--json").stdout)[0]["action"] == "token.add", "nothing refused was recorded"


def test_pages_walk_every_address_once(api: API, data_dir: Path):
    token = make_token(data_dir, "reader", "read")
    for n in range(7):
        cli(data_dir, "address", "add", f"agent{n}@acme.test")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        path = "/v1/addresses?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page, _ = api.json("GET", path, token)
        pages += 1
        seen += [a["email"] for a in page["items"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert pages == 3 and seen == sorted(seen) and len(seen) == len(set(seen)) == 8


def test_a_token_over_its_rate_is_answered_429(api: API, data_dir: Path):
    token = make_token(data_dir, "slow", "read", rate=5)
    statuses = [api.request("GET", "/v1/queues", token)[0] for _ in range(5)]
    assert statuses == [200] * 5
    status, fields, data = api.request("GET", "/v1/queues", token)
    assert_problem(status, fields, data, 429)
    assert int(fields["retry-after"]) >= 1
    other = make_token(data_dir, "other", "read")
    assert api.request("GET", "/v1/queues", other)[0] == 200, "one token's rate does not limit another"


def test_sessions_of_delivered_mail_are_listed_with_their_messages(api: API, data_dir: Path):
    import smtplib
    token = make_token(data_dir, "reader", "read")
    with smtplib.SMTP("127.0.0.1", api.smtp_port, timeout=30) as smtp:
        smtp.sendmail("carol@customer.test", ["support@acme.test"],
                      b"From: Carol <carol@customer.test>\r\nTo: support@acme.test\r\nSubject: Broken kettle\r\n"
                      b"Message-ID: <kettle-1@customer.test>\r\n\r\nIt leaks.\r\n")
    page, _ = api.json("GET", "/v1/sessions?address=support@acme.test&open=true", token)
    assert len(page["items"]) == 1
    session = page["items"][0]
    assert session["customer"] == "carol@customer.test" and session["subject"] == "Broken kettle" and session["status"] == "open"
    detail, _ = api.json("GET", f"/v1/sessions/{session['id']}", token)
    assert [m["messageId"] for m in detail["messages"]] == ["<kettle-1@customer.test>"]
    assert "It leaks." in detail["messages"][0]["snippet"]
    outbound, _ = api.json("GET", "/v1/outbound", token)
    assert outbound["items"] == []


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_http2_over_tls(api: API):
    out = subprocess.run(["curl", "-sS", "--http2", "--cacert", str(api.cafile), "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                          f"https://127.0.0.1:{api.port}/healthz"], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout == "2 200", out


def test_schemathesis_finds_no_response_outside_the_contract(api: API, data_dir: Path, tmp_path: Path):
    """Every operation fuzzed from the document: no 5xx, every status, header, content type
    and body as the document says, invalid input refused, unknown methods 405."""
    pytest.importorskip("schemathesis")
    token = make_token(data_dir, "fuzz", "admin")
    base = f"https://127.0.0.1:{api.port}"
    run = subprocess.run(
        ["schemathesis", "--config-file", str(ROOT / "tests" / "e2e" / "schemathesis.toml"), "--no-color", "run",
         f"{base}/openapi.yaml", "--url", base, "--tls-verify", str(api.cafile), "-H", f"Authorization: Bearer {token}",
         "--checks", "all", "--max-examples", "25", "--seed", "7", "--generation-deterministic",
         "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache stays out of the repository
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def test_sessions_are_assigned_and_transferred_through_the_api(api: API, data_dir: Path):
    import smtplib
    cli(data_dir, "queue", "add", "tier2")
    subprocess.run([str(BIN), "agent", "add", "alice", "--password-stdin", "--data", str(data_dir)],
                   input="correct horse battery\n", text=True, check=True, capture_output=True, timeout=60)
    cli(data_dir, "agent", "grant", "alice", "support@acme.test")
    admin, reader = make_token(data_dir, "ops", "admin", "read"), make_token(data_dir, "viewer", "read")
    with smtplib.SMTP("127.0.0.1", api.smtp_port, timeout=30) as smtp:
        smtp.sendmail("carol@customer.test", ["support@acme.test"],
                      b"From: Carol <carol@customer.test>\r\nTo: support@acme.test\r\nSubject: Broken kettle\r\n"
                      b"Message-ID: <kettle-1@customer.test>\r\n\r\nIt leaks.\r\n")
    page, _ = api.json("GET", "/v1/sessions?address=support@acme.test", admin)
    sid = page["items"][0]["id"]
    assert page["items"][0].get("owner") is None and page["items"][0]["awaitingSince"] is not None

    # A read token may not; an unknown agent or queue is a problem; none changes anything.
    status, fields, data = api.request("POST", f"/v1/sessions/{sid}/assign", reader, {"agent": "alice"})
    assert_problem(status, fields, data, 403)
    status, fields, data = api.request("POST", f"/v1/sessions/{sid}/assign", admin, {"agent": "mallory"})
    assert_problem(status, fields, data, 404)
    status, fields, data = api.request("POST", f"/v1/sessions/{sid}/transfer", admin, {"queue": "nowhere"})
    assert_problem(status, fields, data, 404)
    assert api.json("GET", f"/v1/sessions/{sid}", admin)[0]["events"] == []

    assigned, _ = api.json("POST", f"/v1/sessions/{sid}/assign", admin, {"agent": "alice"})
    assert assigned["owner"] == "alice"
    moved, _ = api.json("POST", f"/v1/sessions/{sid}/transfer", admin, {"queue": "tier2", "note": "warranty"})
    assert moved["queue"] == "tier2" and moved.get("owner") is None
    detail, _ = api.json("GET", f"/v1/sessions/{sid}", admin)
    assert [(e["kind"], e["actor"], e.get("agent"), e.get("toQueue")) for e in detail["events"]] == [
        ("assigned", "token:ops", "alice", None), ("transferred", "token:ops", None, "tier2")]
    audit = [(e["actor"], e["action"]) for e in json.loads(cli(data_dir, "audit", "--json").stdout)]
    assert ("token:ops", "session.assign") in audit and ("token:ops", "session.transfer") in audit


def test_queues_and_agents_are_written_through_the_api(api: API, data_dir: Path):
    admin, reader = make_token(data_dir, "ops", "admin", "read"), make_token(data_dir, "viewer", "read")
    queue, _ = api.json("POST", "/v1/queues", admin, {"name": "billing", "description": "Invoices", "privateSeen": True}, expect=201)
    assert (queue["name"], queue["description"], queue["privateSeen"]) == ("billing", "Invoices", True)
    status, fields, data = api.request("POST", "/v1/queues", admin, {"name": "billing"})
    assert_problem(status, fields, data, 409)
    status, fields, data = api.request("POST", "/v1/queues", reader, {"name": "other"})
    assert_problem(status, fields, data, 403)

    agent, _ = api.json("POST", "/v1/agents", admin, {"name": "alice", "displayName": "Alice", "password": "correct horse battery"},
                        expect=201)
    assert (agent["name"], agent["addresses"], agent["queues"]) == ("alice", [], [])
    status, fields, data = api.request("POST", "/v1/agents", admin, {"name": "bob", "password": "short"})
    assert_problem(status, fields, data, 400)
    granted, _ = api.json("POST", "/v1/agents/alice/grants", admin, {"target": "help@acme.test"})
    assert granted["addresses"] == ["support@acme.test"], "an alias grants its address"
    granted, _ = api.json("POST", "/v1/agents/alice/grants", admin, {"target": "billing"})
    assert granted["queues"] == ["billing"]
    status, fields, data = api.request("POST", "/v1/agents/mallory/grants", admin, {"target": "billing"})
    assert_problem(status, fields, data, 404)
    status, fields, data = api.request("POST", "/v1/agents/alice/grants", admin, {"target": "nowhere"})
    assert_problem(status, fields, data, 422)
    listed = json.loads(cli(data_dir, "agent", "list", "--json").stdout)
    assert [(a["name"], a["addresses"], a["queues"]) for a in listed] == [("alice", ["support@acme.test"], ["billing"])]

    revoked, _ = api.json("DELETE", "/v1/agents/alice/grants/billing", admin)
    assert revoked["queues"] == []
    status, fields, data = api.request("DELETE", "/v1/queues/general", admin)
    assert_problem(status, fields, data, 409)  # support@acme.test routes to it
    status, _, _ = api.request("DELETE", "/v1/queues/billing", admin)
    assert status == 204
    status, _, _ = api.request("DELETE", "/v1/agents/alice", admin)
    assert status == 204
    assert json.loads(cli(data_dir, "agent", "list", "--json").stdout) == []
    audit = [(e["actor"], e["action"], e["target"]) for e in json.loads(cli(data_dir, "audit", "--json").stdout)]
    for action, target in [("queue.add", "billing"), ("agent.add", "alice"), ("agent.grant", "alice"), ("agent.revoke", "alice"),
                           ("queue.remove", "billing"), ("agent.remove", "alice")]:
        assert ("token:ops", action, target) in audit, action


def test_a_blocklist_csv_upload_is_validated_then_saved_whole(api: API, data_dir: Path):
    admin = make_token(data_dir, "ops", "admin", "read")
    path = "/v1/addresses/support@acme.test/blocklist/import"
    csv = b"\xef\xbb\xbfemail\r\nspam@x.test\r\nbad@@\r\nSPAM@x.test\r\nevil.test\r\n"

    def upload(query: str, body: bytes, expect: int = 200):
        status, fields, data = api.request("POST", path + query, admin, raw=body, headers={"Content-Type": "text/csv"})
        assert status == expect, (status, data)
        return json.loads(data)

    report = upload("?dryRun=true", csv)
    assert (report["rows"], report["saved"], report["dryRun"]) == (4, False, True)
    assert [v["entry"] for v in report["valid"]] == ["spam@x.test", "evil.test"]
    assert [(i["line"], i["text"]) for i in report["duplicatesInFile"]] == [(4, "SPAM@x.test")]
    assert [i["line"] for i in report["errors"]] == [3]
    assert api.json("GET", "/v1/addresses/support@acme.test/blocklist", admin)[0]["items"] == []

    report = upload("", csv)
    assert report["saved"] is True
    listed = api.json("GET", "/v1/addresses/support@acme.test/blocklist", admin)[0]["items"]
    assert sorted(e["entry"] for e in listed) == ["evil.test", "spam@x.test"]
    again = upload("", csv)
    assert again["valid"] == [] and len(again["alreadyListed"]) == 2 and again["saved"] is False

    # Several columns need the column's name; a wrong one is refused and saves nothing.
    wide = b"name,address\r\nMallory,mallory@y.test\r\n"
    status, fields, data = api.request("POST", path, admin, raw=wide, headers={"Content-Type": "text/csv"})
    assert_problem(status, fields, data, 422)
    assert upload("?column=address", wide)["valid"] == [{"line": 2, "entry": "mallory@y.test"}]
    audit = [(e["action"], e["target"]) for e in json.loads(cli(data_dir, "audit", "--json").stdout)]
    assert audit.count(("blocklist.import", "support@acme.test")) == 2


def test_the_document_names_every_address_setting(data_dir: Path):
    """The API's AddressSettings schema has exactly the settings `address show` prints, so a
    setting added to the channel model cannot be dropped by a draft written through the API."""
    import yaml
    document = yaml.safe_load(SPEC.read_text())
    in_document = set(document["components"]["schemas"]["AddressSettings"]["properties"])
    shown = json.loads(cli(data_dir, "address", "show", "support@acme.test", "--json").stdout)["settings"]
    assert in_document == set(shown)


def test_filters_blocklists_and_dkim_keys(api: API, data_dir: Path):
    admin = make_token(data_dir, "ops", "admin")
    cli(data_dir, "queue", "add", "billing")
    rule, _ = api.json("POST", "/v1/addresses/support@acme.test/filters", admin,
                       {"field": "subject", "keyword": "invoice", "queue": "billing"}, expect=201)
    listed = json.loads(cli(data_dir, "filter", "list", "support@acme.test", "--json").stdout)
    assert [(r["id"], r["keyword"], r["queue"]) for r in listed] == [(rule["id"], "invoice", "billing")]
    status, fields, data = api.request("POST", "/v1/addresses/support@acme.test/filters", admin,
                                       {"field": "subject", "keyword": "x", "queue": "nowhere"})
    assert_problem(status, fields, data, 404)  # no such queue
    assert api.request("DELETE", f"/v1/addresses/support@acme.test/filters/{rule['id']}", admin)[0] == 204
    assert json.loads(cli(data_dir, "filter", "list", "support@acme.test", "--json").stdout) == []

    added, _ = api.json("POST", "/v1/addresses/support@acme.test/blocklist", admin,
                        {"entries": ["spam@bad.test", "worse.test"]}, expect=201)
    assert {(e["kind"], e["value"]) for e in added} == {("address", "spam@bad.test"), ("domain", "worse.test")}
    status, fields, data = api.request("POST", "/v1/addresses/support@acme.test/blocklist", admin, {"entries": ["ok@fine.test", "not an entry"]})
    assert_problem(status, fields, data, 422)
    page, _ = api.json("GET", "/v1/addresses/support@acme.test/blocklist", admin)
    assert [e["value"] for e in page["items"]] == ["spam@bad.test", "worse.test"], "a refused request adds nothing"
    assert api.request("DELETE", "/v1/addresses/support@acme.test/blocklist/worse.test", admin)[0] == 204
    assert [e["value"] for e in api.json("GET", "/v1/addresses/support@acme.test/blocklist", admin)[0]["items"]] == ["spam@bad.test"]

    keys, _ = api.json("GET", "/v1/dkim", admin)
    shown = json.loads(cli(data_dir, "dkim", "show", "--json").stdout)
    assert {(k["domain"], k["selector"]) for k in keys} == {(k["domain"], k["selector"]) for k in shown}
    assert all(k["publicRecord"].startswith("v=DKIM1") for k in keys)
