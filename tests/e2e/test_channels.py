"""The channel model end to end: domain kinds and limits, address settings as
drafts that a publish makes live in a running server, queues and filters routing real SMTP
deliveries, and the export → import round trip (JSON and CSV)."""

from __future__ import annotations

import json
import smtplib
import time
from pathlib import Path

import pytest

from conftest import cli, message_file, messages

SENDER = "alice@example.org"


def js(data: Path, *args: str):
    return json.loads(cli(data, *args, "--json").stdout)


def address(data: Path, email: str) -> dict:
    return js(data, "address", "show", email)


def fails(data: Path, *args: str) -> str:
    proc = cli(data, *args, check=False)
    assert proc.returncode != 0, f"{args} succeeded: {proc.stdout}"
    lines = proc.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("postgate: "), proc.stderr
    return lines[0]


def send(port: int, rcpt: str, subject: str, body: str = "Hello\r\n", sender: str = SENDER, from_name: str = "Alice") -> None:
    mime = ("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n" if body.startswith("--b1") else "")
    msg = (f"From: {from_name} <{sender}>\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{time.monotonic_ns()}@example.org>\r\n{mime}\r\n{body}").encode()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        assert s.sendmail(sender, [rcpt], msg) == {}


# "Un remboursement" in a quoted-printable text part after an HTML-only alternative.
QP_BODY = (
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Un rembo=\r\nursement, s'il vous pla=C3=AEt\r\n--b1--\r\n"
)


def queue_subjects(data: Path, queue: str) -> list[str]:
    return [row["subject"] for row in messages(data, f"queues/{queue}")]


# --------------------------------------------------------------------------- domains


def test_domain_kinds_and_default_limits(tmp_path, postgate_bin):
    data = tmp_path / "d"
    for i in range(5):
        cli(data, "domain", "add", f"std{i}.test", "--kind", "standard")
    err = fails(data, "domain", "add", "std5.test", "--kind", "standard")
    assert "limit is 5" in err and "channels.limits.standard.domains" in err
    cli(data, "domain", "add", "adv.test", "--kind", "advanced")
    for i in range(12):  # hosted domains have no limit
        cli(data, "domain", "add", f"own{i}.test")
    kinds = {d["name"]: d["kind"] for d in js(data, "domain", "list")}
    assert kinds["std0.test"] == "standard" and kinds["adv.test"] == "advanced" and kinds["own3.test"] == "hosted"
    for i in range(5):
        cli(data, "address", "add", f"a{i}@std0.test", "--disabled")
    err = fails(data, "address", "add", "a5@std0.test", "--disabled")
    assert "limit is 5" in err
    assert len(js(data, "address", "list", "--domain", "std0.test")) == 5


def test_limits_come_from_the_config(tmp_path, postgate_bin):
    data = tmp_path / "d"
    config = tmp_path / "limits.yaml"
    config.write_text("channels:\n  limits:\n    advanced:\n      domains: 1\n      addresses_per_domain: 2\n")
    cli(data, "domain", "add", "a.test", "--kind", "advanced", "--config", str(config))
    assert "limit is 1" in fails(data, "domain", "add", "b.test", "--kind", "advanced", "--config", str(config))
    cli(data, "domain", "set", "a.test", "--require-verification", "false")
    cli(data, "address", "add", "x@a.test", "--config", str(config))
    cli(data, "address", "add", "y@a.test", "--config", str(config))
    assert "limit is 2" in fails(data, "address", "add", "z@a.test", "--config", str(config))
    bad = tmp_path / "bad.yaml"
    bad.write_text("channels:\n  limits:\n    premium:\n      domains: 1\n")
    assert "premium" in fails(data, "domain", "list", "--config", str(bad))


def test_removing_a_domain_with_addresses_needs_force(data_dir):
    assert "still has 1 address" in fails(data_dir, "domain", "remove", "acme.test")
    cli(data_dir, "domain", "remove", "acme.test", "--force")
    assert js(data_dir, "domain", "list") == []


# --------------------------------------------------------------------------- addresses, drafts


def test_every_setting_is_a_draft_until_published(data_dir, tmp_path):
    header = tmp_path / "header.txt"
    header.write_text("Thank you for writing to Acme.\n")
    card = tmp_path / "card.vcf"
    card.write_text("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Acme Support\r\nEND:VCARD\r\n")
    cli(data_dir, "queue", "add", "billing")
    cli(data_dir, "address", "set", "support@acme.test", "--name", "Acme Help Desk", "--usage", "inbound",
        "--queue", "billing", "--contact-centre", "cc@contact.example", "--session-mode", "thread",
        "--allowed-domain", "example.org", "--allowed-domain", "bücher.example", "--exclude-auto-replies", "false",
        "--sync-recipient-only", "true", "--max-to", "50", "--max-cc", "30", "--max-bcc", "20",
        "--send-contact-card", "true", "--contact-card", str(card), "--header-text", str(header))
    live = address(data_dir, "support@acme.test")
    assert live["displayName"] == "Acme Support" and live["defaultQueue"] == "general" and live["hasDraft"] is True
    diff = {c["field"]: c for c in js(data_dir, "address", "diff", "support@acme.test")}
    assert set(diff) == {"displayName", "usage", "defaultQueue", "contactCentreAddress", "sessionMode",
                         "allowedSenderDomains", "excludeAutoReplies", "syncWhenRecipientOnly", "maxTo", "maxCc",
                         "maxBcc", "sendContactCard", "contactCard", "templateHeaderText"}
    assert json.loads(diff["allowedSenderDomains"]["draft"]) == ["example.org", "xn--bcher-kva.example"]
    pub = js(data_dir, "publish", "--comment", "new help desk settings")
    assert pub["comment"] == "new help desk settings" and pub["addresses"][0]["address"] == "support@acme.test"
    s = address(data_dir, "support@acme.test")["settings"]
    assert s["displayName"] == "Acme Help Desk" and s["sessionMode"] == "thread" and s["maxBcc"] == 20
    assert s["templateHeaderText"] == "Thank you for writing to Acme.\n" and s["contactCard"].startswith("BEGIN:VCARD")
    assert js(data_dir, "address", "diff", "support@acme.test") == []
    history = js(data_dir, "publish", "--history")
    assert [h["comment"] for h in history] == ["new help desk settings"]
    assert "nothing to publish" in fails(data_dir, "publish", "--comment", "again")
    assert "--comment" in fails(data_dir, "publish")


@pytest.mark.parametrize("args, needle", [
    (["--max-to", "60", "--max-cc", "30", "--max-bcc", "20"], "at most 100"),
    (["--queue", "nosuch"], "no queue 'nosuch'"),
    (["--contact-centre", "support@acme.test"], "must not be"),
    (["--contact-centre", "not an address"], "not a valid address"),
    (["--allowed-domain", "bad..domain"], "not a valid domain"),
    (["--name", "Evil\r\nBcc: x@y.test"], "one line"),
    (["--send-contact-card", "true"], "contact card"),
    (["--queue", ""], "without a default queue"),
])
def test_invalid_settings_are_refused_and_change_nothing(data_dir, args, needle):
    before = address(data_dir, "support@acme.test")
    assert needle in fails(data_dir, "address", "set", "support@acme.test", *args)
    assert address(data_dir, "support@acme.test") == before


def test_an_address_needs_a_default_queue_to_be_enabled(data_dir):
    cli(data_dir, "address", "add", "new@acme.test", "--disabled")
    cli(data_dir, "address", "set", "new@acme.test", "--queue", "", "--publish")
    assert address(data_dir, "new@acme.test")["defaultQueue"] is None
    assert "default queue" in fails(data_dir, "address", "enable", "new@acme.test")
    assert "no queue 'sales'" in fails(data_dir, "address", "set", "new@acme.test", "--queue", "sales")
    cli(data_dir, "queue", "add", "sales")
    cli(data_dir, "address", "set", "new@acme.test", "--queue", "sales")
    cli(data_dir, "address", "enable", "new@acme.test", "--publish", "--comment", "go live")
    a = address(data_dir, "new@acme.test")
    assert a["enabled"] is True and a["defaultQueue"] == "sales"
    assert "still used by new@acme.test" in fails(data_dir, "queue", "remove", "sales")


def test_publish_changes_a_running_server_without_restart(server):
    data = server.data
    send(server.port, "support@acme.test", "before")
    cli(data, "address", "set", "support@acme.test", "--usage", "outbound")
    cli(data, "address", "alias", "add", "support@acme.test", "sales@acme.test")
    send(server.port, "support@acme.test", "draft is not live")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.ehlo("client.example.org")
        assert s.docmd("MAIL FROM:<x@example.org>")[0] == 250
        code, text = s.docmd("RCPT TO:<sales@acme.test>")
        assert code == 550, text  # the alias is only a draft
    cli(data, "publish", "support@acme.test", "--comment", "outbound only, sales alias")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.ehlo("client.example.org")
        assert s.docmd("MAIL FROM:<x@example.org>")[0] == 250
        for rcpt in ("support@acme.test", "sales@acme.test"):
            code, text = s.docmd(f"RCPT TO:<{rcpt}>")
            assert code == 550 and text.startswith(b"5.2.1"), (rcpt, code, text)
    assert [m["subject"] for m in messages(data)] == ["before", "draft is not live"]


# --------------------------------------------------------------------------- queues and filters


def test_filters_route_deliveries_to_queues_first_match_wins(server):
    data = server.data
    for q in ("billing", "vip", "refunds"):
        cli(data, "queue", "add", q)
    cli(data, "filter", "add", "support@acme.test", "--field", "subject", "--keyword", "invoice", "--queue", "billing")
    cli(data, "filter", "add", "support@acme.test", "--field", "sender", "--keyword", "@vip.example", "--queue", "vip")
    refund = js(data, "filter", "add", "support@acme.test", "--field", "body", "--keyword", "remboursement", "--queue", "refunds")
    send(server.port, "support@acme.test", "Your INVOICE 42")
    send(server.port, "support@acme.test", "hello", sender="boss@vip.example")
    send(server.port, "support@acme.test", "Invoice from a VIP", sender="ceo@vip.example")
    # The body keyword is found in a quoted-printable part (accents and case ignored).
    send(server.port, "help@acme.test", "=?utf-8?q?question_=C3=A9?=", body="Je veux un REMBOURSEMENT svp\r\n")
    send(server.port, "support@acme.test", "encoded", body=QP_BODY)
    send(server.port, "support@acme.test", "nothing special")
    assert queue_subjects(data, "billing") == ["Your INVOICE 42", "Invoice from a VIP"]
    assert queue_subjects(data, "vip") == ["hello"]
    assert queue_subjects(data, "refunds") == ["=?utf-8?q?question_=C3=A9?=", "encoded"]
    assert queue_subjects(data, "general") == ["nothing special"]
    assert len(messages(data)) == 6  # every message is also in the address's own mailbox
    # The queue copy is the same file (hard link), delivered under the queue's Maildir.
    first_refund = min(messages(data, "queues/refunds"), key=lambda row: row["uid"])
    qfile = message_file(data, first_refund)
    assert qfile.parent == data / "queues" / "refunds" / "new"
    assert qfile.stat().st_nlink >= 2 and b"REMBOURSEMENT" in qfile.read_bytes()
    # Moving the VIP rule first makes it win.
    vip_id = [f for f in js(data, "filter", "list", "support@acme.test") if f["queue"] == "vip"][0]["id"]
    order = js(data, "filter", "move", "support@acme.test", str(vip_id), "--to", "1")
    assert [f["queue"] for f in order] == ["vip", "billing", "refunds"]
    send(server.port, "support@acme.test", "Invoice again", sender="ceo@vip.example")
    assert queue_subjects(data, "vip") == ["hello", "Invoice again"]
    cli(data, "filter", "remove", "support@acme.test", str(refund["id"]))
    assert [f["position"] for f in js(data, "filter", "list", "support@acme.test")] == [1, 2]
    assert "still used" in fails(data, "queue", "remove", "billing")
    assert "no filter 999" in fails(data, "filter", "remove", "support@acme.test", "999")
    assert "no queue" in fails(data, "filter", "add", "support@acme.test", "--field", "subject", "--keyword", "x", "--queue", "nosuch")


def test_bad_queue_names_are_refused(data_dir):
    for name in ("", "1abc", "has space", "a/b", "x" * 65, "é"):
        fails(data_dir, "queue", "add", name)
    assert [q["name"] for q in js(data_dir, "queue", "list")] == ["general"]


# --------------------------------------------------------------------------- export / import


def populate(data: Path, tmp_path: Path) -> None:
    cli(data, "domain", "add", "brand.example", "--kind", "advanced")
    cli(data, "domain", "add", "bücher.example", "--kind", "standard")
    for domain in ("brand.example", "bücher.example"):  # checked by test_domain_verification.py
        cli(data, "domain", "set", domain, "--require-verification", "false")
    cli(data, "queue", "add", "billing", "--description", "Invoices, \"refunds\", and more")
    footer = tmp_path / "footer.html"
    footer.write_text("<p>Acme, Inc.<br>\r\nSupport, team</p>\n")
    cli(data, "address", "add", "hello@brand.example", "--queue", "billing", "--name", "Brand, \"Hello\"")
    cli(data, "address", "set", "hello@brand.example", "--footer-html", str(footer), "--max-to", "10",
        "--allowed-domain", "example.org", "--contact-centre", "cc@brand.example", "--publish")
    cli(data, "address", "add", "info@bücher.example", "--usage", "inbound")
    cli(data, "address", "set", "info@bücher.example", "--name", "Draft name")  # a pending draft
    cli(data, "filter", "add", "hello@brand.example", "--field", "subject", "--keyword", "invoice, urgent", "--queue", "billing")
    cli(data, "filter", "add", "hello@brand.example", "--field", "body", "--keyword", "\"quoted\"", "--queue", "general")
    cli(data, "blocklist", "add", "hello@brand.example", "Bob@Bücher.example", "@spam.example")
    cli(data, "blocklist", "add", "support@acme.test", "carol@example.org")


def without_time(export: dict) -> dict:
    return {k: v for k, v in export.items() if k != "exportedAt"}


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_import_round_trip_is_lossless(data_dir, tmp_path, fmt):
    populate(data_dir, tmp_path)
    original = without_time(js(data_dir, "export"))
    assert "password" not in json.dumps(original).lower()
    assert original["blocklist"] == [
        {"address": "support@acme.test", "kind": "address", "entry": "carol@example.org"},
        {"address": "hello@brand.example", "kind": "address", "entry": "bob@bücher.example"},
        {"address": "hello@brand.example", "kind": "domain", "entry": "spam.example"},
    ]
    out = tmp_path / ("export.json" if fmt == "json" else "export-csv")
    cli(data_dir, "export", "--format", fmt, "--output", str(out))
    if fmt == "csv":
        assert (out / "blocklist.csv").read_text(encoding="utf-8").splitlines()[0] == "address,kind,entry"
    fresh = tmp_path / "fresh"
    report = js(fresh, "import", str(out))
    assert sorted(report["addressesAdded"]) == ["hello@brand.example", "info@xn--bcher-kva.example", "support@acme.test"]
    assert report["blocklistEntriesWritten"] == 3
    assert [e["value"] for e in js(fresh, "blocklist", "list", "hello@brand.example")] == [
        "bob@xn--bcher-kva.example", "spam.example"]
    assert without_time(js(fresh, "export")) == original
    assert address(fresh, "info@bücher.example")["hasDraft"] is True
    # Importing the same document again changes nothing.
    js(fresh, "import", str(out))
    assert without_time(js(fresh, "export")) == original


def test_import_with_an_error_or_dry_run_changes_nothing(data_dir, tmp_path):
    populate(data_dir, tmp_path)
    doc = js(data_dir, "export")
    fresh = tmp_path / "fresh"
    cli(fresh, "domain", "add", "keep.test")
    before = without_time(js(fresh, "export"))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc))
    report = js(fresh, "import", str(good), "--dry-run")
    assert report["dryRun"] is True and len(report["addressesAdded"]) == 3
    assert without_time(js(fresh, "export")) == before
    assert not (fresh / "queues" / "billing").exists()
    doc["filters"][0]["queue"] = "nosuch"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert "nosuch" in fails(fresh, "import", str(bad))
    assert without_time(js(fresh, "export")) == before
    # An export written before blocklists were exported leaves them alone.
    cli(fresh, "domain", "add", "brand.example", "--kind", "advanced")
    cli(fresh, "address", "add", "hello@brand.example", "--disabled")
    cli(fresh, "blocklist", "add", "hello@brand.example", "kept.example")
    doc["filters"][0]["queue"] = "billing"
    old = {k: v for k, v in doc.items() if k != "blocklist"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    js(fresh, "import", str(tmp_path / "old.json"))
    assert [e["entry"] for e in js(fresh, "blocklist", "list", "hello@brand.example")] == ["kept.example"]
    # The blocklist's entries are checked like `blocklist add` checks them.
    doc["blocklist"][0]["entry"] = "not an entry"
    bad.write_text(json.dumps(doc))
    assert "not an entry" in fails(fresh, "import", str(bad))
    (tmp_path / "garbage.json").write_text("{not json")
    assert "not a Postgate channel export" in fails(fresh, "import", str(tmp_path / "garbage.json"))
