"""Channel settings an administrator meets every day: channel names (unique whatever the
case, one clear error for each bad name), list search and filters, the blocklist switch,
editing a blocklist entry in place, the sample CSV that imports as it is, importance (read,
stored, shown to agents as a keyword, routed on), filters on recipients and any header, and the
administrator's own auto-reply keywords and senders, through the CLI and real SMTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import chromium
from conftest import BIN, cli, db
from test_policy import blocklist_rows, queued, rows, send


def address_json(data: Path, email: str) -> dict:
    return json.loads(cli(data, "address", "show", email, "--json").stdout)


@pytest.fixture
def two(data_dir: Path) -> Path:
    cli(data_dir, "address", "add", "sales@acme.test", "--usage", "outbound")
    return data_dir


def test_channel_names_are_unique_whatever_the_case_and_shown(two: Path):
    cli(two, "address", "set", "support@acme.test", "--channel-name", "Support_EU", "--publish")
    assert address_json(two, "support@acme.test")["channelName"] == "Support_EU"
    taken = cli(two, "address", "set", "sales@acme.test", "--channel-name", "support_eu", check=False)
    assert taken.returncode == 1
    assert taken.stderr == "postgate: channel name 'support_eu' is taken by support@acme.test\n"
    # A name in another address's draft is taken too.
    cli(two, "address", "set", "support@acme.test", "--channel-name", "_helpdesk")
    drafted = cli(two, "address", "set", "sales@acme.test", "--channel-name", "_HELPDESK", check=False)
    assert drafted.returncode == 1 and "in the draft of support@acme.test" in drafted.stderr
    assert "Support_EU" in cli(two, "address", "list").stdout
    cli(two, "address", "set", "support@acme.test", "--channel-name", "", "--publish")
    assert address_json(two, "support@acme.test")["channelName"] is None


@pytest.mark.parametrize("name, reason", [
    ("a" * 65, "has 65 characters; at most 64 are allowed"),
    ("9lives", "must start with a letter or an underscore"),
    ("support-eu", "may hold only letters, digits and underscores"),
    ("süd", "may hold only letters, digits and underscores"),
])
def test_a_bad_channel_name_is_one_clear_error_and_changes_nothing(data_dir: Path, name: str, reason: str):
    before = cli(data_dir, "address", "diff", "support@acme.test", "--json").stdout
    result = cli(data_dir, "address", "set", "support@acme.test", "--channel-name", name, check=False)
    assert result.returncode == 1
    assert result.stderr == f"postgate: channel name '{name}' {reason}\n"
    assert cli(data_dir, "address", "diff", "support@acme.test", "--json").stdout == before


def test_list_search_and_filters(two: Path):
    cli(two, "address", "set", "support@acme.test", "--channel-name", "EU_desk", "--publish")
    cli(two, "address", "disable", "sales@acme.test", "--publish")

    def listed(*args: str) -> list[str]:
        return [a["email"] for a in json.loads(cli(two, "address", "list", "--json", *args).stdout)]

    assert listed() == ["sales@acme.test", "support@acme.test"]
    assert listed("--search", "eu_DESK") == ["support@acme.test"]
    assert listed("--search", "help@") == ["support@acme.test"], "aliases are searched"
    assert listed("--usage", "outbound") == ["sales@acme.test"]
    assert listed("--enabled", "false") == ["sales@acme.test"]
    assert listed("--enabled", "true", "--search", "sales") == []
    assert listed("--queue", "GENERAL") == ["sales@acme.test", "support@acme.test"]
    assert listed("--kind", "hosted") == ["sales@acme.test", "support@acme.test"]
    assert cli(two, "address", "list", "--search", "nobody").stdout.strip() == "no address matches"
    bad = cli(two, "address", "list", "--usage", "sideways", check=False)
    assert bad.returncode != 0 and "sideways" in bad.stderr and len(bad.stderr.strip().splitlines()) >= 1


def test_the_list_counts_each_address_filters(two: Path):
    cli(two, "queue", "add", "billing")
    for keyword in ("invoice", "refund"):
        cli(two, "filter", "add", "support@acme.test", "--field", "subject", "--keyword", keyword, "--queue", "billing")
    counts = {a["email"]: a["filterCount"] for a in json.loads(cli(two, "address", "list", "--json").stdout)}
    assert counts == {"sales@acme.test": 0, "support@acme.test": 2}
    table = cli(two, "address", "list").stdout.splitlines()
    column = table[0].index("FILTERS")
    assert {line.split()[0]: line[column:].split()[0] for line in table[1:]} == {"sales@acme.test": "0", "support@acme.test": "2"}


def test_a_blocklist_entry_is_edited_in_place(data_dir: Path):
    cli(data_dir, "blocklist", "add", "support@acme.test", "spam@example.com", "other.example")
    before = blocklist_rows(data_dir)
    cli(data_dir, "blocklist", "set", "support@acme.test", "SPAM@example.com", "example.net")
    after = blocklist_rows(data_dir)
    assert [r[1:] for r in after] == [("domain", "example.net", "example.net"), ("domain", "other.example", "other.example")] \
        or [r[1:] for r in after] == [("domain", "other.example", "other.example"), ("domain", "example.net", "example.net")]
    assert len(after) == len(before)
    exists = cli(data_dir, "blocklist", "set", "support@acme.test", "example.net", "other.example", check=False)
    assert exists.returncode == 1 and "other.example" in exists.stderr
    missing = cli(data_dir, "blocklist", "set", "support@acme.test", "nobody@example.com", "x.example", check=False)
    assert missing.returncode == 1 and "nobody@example.com" in missing.stderr
    assert blocklist_rows(data_dir) == after


def test_the_sample_csv_imports_as_it_is(data_dir: Path, tmp_path: Path):
    sample = subprocess.run([str(BIN), "blocklist", "sample"], capture_output=True, check=True).stdout
    path = tmp_path / "sample.csv"
    path.write_bytes(sample)
    report = json.loads(cli(data_dir, "blocklist", "import", "support@acme.test", str(path), "--json").stdout)
    assert report["saved"] is True and len(report["valid"]) == 3 and report["errors"] == []
    assert sorted(r[2] for r in blocklist_rows(data_dir)) == ["example.net", "example.org", "spam@example.com"]


def test_the_blocklist_switch_and_own_auto_reply_rules_apply_to_delivery(data_dir: Path, spawn):
    cli(data_dir, "blocklist", "add", "support@acme.test", "customer.example")
    cli(data_dir, "address", "set", "support@acme.test", "--blocklist", "false",
        "--auto-reply-keyword", "Ticket received", "--auto-reply-sender", "noreply@shop.example",
        "--auto-reply-sender", "alerts.example", "--publish")
    shown = cli(data_dir, "address", "show", "support@acme.test").stdout
    assert "off (entries kept)" in shown and '"Ticket received"' in shown
    server = spawn(data_dir)
    base = {"To": "support@acme.test"}
    send(server.port, "bob@customer.example", ["support@acme.test"], {**base, "From": "bob@customer.example", "Subject": "Order"})
    send(server.port, "bob@customer.example", ["support@acme.test"],
         {**base, "From": "bob@customer.example", "Subject": "=?UTF-8?Q?Re:_ticket_RECEIVED_#42?="})
    send(server.port, "noreply@shop.example", ["support@acme.test"], {**base, "From": "NoReply@Shop.example", "Subject": "Shipped"})
    send(server.port, "x@eu.alerts.example", ["support@acme.test"], {**base, "From": "x@eu.alerts.example", "Subject": "Alert"})
    send(server.port, "bot@customer.example", ["support@acme.test"], {**base, "From": "bot@customer.example", "Subject": "Your case"},
         "Hello,\r\n\r\nyour ticket received number 4711 and will be answered soon.\r\n")
    assert [(r["subject"], r["policy"]) for r in rows(data_dir)] == [
        ("Order", None), ("=?UTF-8?Q?Re:_ticket_RECEIVED_#42?=", "auto-reply"), ("Shipped", "auto-reply"), ("Alert", "auto-reply"),
        ("Your case", "auto-reply")], "keywords are looked for in the subject and the text"
    assert queued(data_dir) == ["Order"], "the blocklist is off: the blocked domain's mail is routed"
    assert len(blocklist_rows(data_dir)) == 1, "switching the blocklist off keeps its entries"


@pytest.mark.parametrize("args, needle", [
    (["--auto-reply-sender", "not an address"], "auto-reply sender 'not an address' is neither an address nor a domain"),
    (["--auto-reply-keyword", "x" * 201], "must be one line of at most 200 characters"),
])
def test_bad_auto_reply_rules_are_refused(data_dir: Path, args: list[str], needle: str):
    result = cli(data_dir, "address", "set", "support@acme.test", *args, check=False)
    assert result.returncode == 1 and needle in result.stderr and result.stderr.count("\n") == 1


def test_importance_is_read_stored_shown_to_agents_and_routed_on(data_dir: Path, spawn):
    from test_imap import SHARED, add_agent, login

    for queue in ("urgent", "gold", "partners", "later"):
        cli(data_dir, "queue", "add", queue)
    cli(data_dir, "filter", "add", "support@acme.test", "--field", "importance", "--keyword", "HIGH", "--queue", "urgent")
    cli(data_dir, "filter", "add", "support@acme.test", "--field", "header", "--header", "X-Customer-Tier",
        "--keyword", "gold", "--queue", "gold")
    cli(data_dir, "filter", "add", "support@acme.test", "--field", "recipient", "--keyword", "partners@acme.test", "--queue", "partners")
    cli(data_dir, "filter", "add", "support@acme.test", "--field", "importance", "--keyword", "low", "--queue", "later")
    rules = json.loads(cli(data_dir, "filter", "list", "support@acme.test", "--json").stdout)
    assert [(r["field"], r["keyword"]) for r in rules] == [
        ("importance", "high"), ("header", "X-Customer-Tier: gold"), ("recipient", "partners@acme.test"), ("importance", "low")]
    add_agent(data_dir)
    for queue in ("general", "urgent", "gold", "partners", "later"):
        cli(data_dir, "agent", "grant", "alice", queue)
    server = spawn(data_dir)
    base = {"From": "bob@customer.example", "To": "support@acme.test"}
    send(server.port, "bob@customer.example", ["support@acme.test"], {**base, "Subject": "Down", "Importance": "High"})
    send(server.port, "bob@customer.example", ["support@acme.test"], {**base, "Subject": "Whenever", "X-Priority": "5 (Lowest)"})
    send(server.port, "bob@customer.example", ["support@acme.test"], {**base, "Subject": "Tier", "X-Customer-Tier": "Gold member"})
    send(server.port, "bob@customer.example", ["support@acme.test"],
         {"From": "bob@customer.example", "To": "partners@acme.test", "Subject": "Partner"})
    send(server.port, "bob@customer.example", ["support@acme.test"], {**base, "Subject": "Plain", "Priority": "normal"})

    conn = db(data_dir)
    try:
        stored = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT subject, importance, keywords FROM message JOIN mailbox ON mailbox.id = message.mailbox_id "
            "WHERE mailbox.path = 'maildir/acme.test/support'")}
        routed = {r[0]: r[1] for r in conn.execute(
            "SELECT subject, mailbox.path FROM message JOIN mailbox ON mailbox.id = message.mailbox_id "
            "WHERE mailbox.path LIKE 'queues/%'")}
    finally:
        conn.close()
    assert stored["Down"] == ("high", "$Important") and stored["Whenever"] == ("low", "$LowImportance")
    assert stored["Plain"] == (None, "") and stored["Tier"] == (None, "")
    assert routed == {"Down": "queues/urgent", "Whenever": "queues/later", "Tier": "queues/gold",
                      "Partner": "queues/partners", "Plain": "queues/general"}

    imap = login(server)
    imap.select(SHARED)
    assert imap.search(None, "KEYWORD", "$Important")[1] == [b"1"]
    assert imap.search(None, "KEYWORD", "$LowImportance")[1] == [b"2"]
    imap.logout()


@pytest.mark.parametrize("args, needle", [
    (["--field", "importance", "--keyword", "urgent"], "an importance filter takes high, normal or low, not 'urgent'"),
    (["--field", "header", "--header", "Bad Name", "--keyword", "x"], "a header filter takes NAME: TEXT"),
])
def test_bad_filters_are_refused(data_dir: Path, args: list[str], needle: str):
    result = cli(data_dir, "filter", "add", "support@acme.test", *args, "--queue", "general", check=False)
    assert result.returncode == 1 and needle in result.stderr and result.stderr.count("\n") == 1
    assert json.loads(cli(data_dir, "filter", "list", "support@acme.test", "--json").stdout) == []


def test_the_html_preview_renders_in_a_browser(data_dir: Path, tmp_path: Path):
    if chromium.CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/install-deps.sh installs it)")
    footer_html = tmp_path / "footer.html"
    footer_html.write_text("<p style=\"background:#2a9d8f;color:#fff;padding:20px\">Acme, Inc. · Support</p>")
    cli(data_dir, "address", "set", "support@acme.test", "--footer-html", str(footer_html), "--publish")
    page = tmp_path / "preview.html"
    cli(data_dir, "address", "preview", "support@acme.test", "--html", str(page))
    rendered = chromium.dom(page, tmp_path)
    assert "Your order has shipped" in rendered and "Acme, Inc. · Support" in rendered
    # The footer is drawn: a band of its background colour at least the page's width across.
    assert chromium.count(chromium.screenshot(page, tmp_path, size=(800, 700)), "#2a9d8f") > 600 * 40


def test_a_reply_preview_shows_the_template_and_the_contact_card(data_dir: Path, tmp_path: Path):
    header = tmp_path / "header.txt"
    header.write_text("Acme Support — we answer within a day.\n")
    footer_html = tmp_path / "footer.html"
    footer_html.write_text("<p class=\"footer\">Acme, Inc. · Support</p>")
    card = tmp_path / "card.vcf"
    card.write_text("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Acme Support\r\nEMAIL:support@acme.test\r\nEND:VCARD\r\n")
    cli(data_dir, "address", "set", "support@acme.test", "--contact-centre", "service@acme.example",
        "--header-text", str(header), "--footer-html", str(footer_html), "--contact-card", str(card),
        "--send-contact-card", "true", "--publish")
    page = tmp_path / "preview.html"
    shown = json.loads(cli(data_dir, "address", "preview", "support@acme.test", "--html", str(page), "--json").stdout)
    assert shown["from"] == "\"Acme Support\" <support@acme.test>" or shown["from"] == "Acme Support <support@acme.test>"
    assert shown["replyTo"] == "<service@acme.example>"
    assert shown["text"].startswith("Acme Support — we answer within a day.")
    assert "Your order has shipped" in shown["text"]
    assert "Acme, Inc. · Support" in shown["html"] and "Your order has shipped" in shown["html"]
    assert shown["attachments"] and shown["attachments"][0].endswith(".vcf")
    written = page.read_text(encoding="utf-8")
    assert written.startswith("<!DOCTYPE html>") and "charset=\"utf-8\"" in written and "class=\"footer\"" in written
    # The draft is previewed only when asked; the queue sees nothing of a preview.
    cli(data_dir, "address", "set", "support@acme.test", "--name", "Acme Help")
    assert "Acme Support" in json.loads(cli(data_dir, "address", "preview", "support@acme.test", "--json").stdout)["from"]
    assert "Acme Help" in json.loads(cli(data_dir, "address", "preview", "support@acme.test", "--draft", "--json").stdout)["from"]
    text = cli(data_dir, "address", "preview", "support@acme.test").stdout
    assert text.splitlines()[0].startswith("From: ") and "attachments: " in text
    assert json.loads(cli(data_dir, "outbound", "list", "--json").stdout) == []


def test_forwarding_confirmations_are_kept_for_the_administrator(data_dir: Path, spawn):
    cli(data_dir, "address", "set", "support@acme.test", "--allowed-domain", "customer.example", "--publish")
    server = spawn(data_dir)
    gmail_body = ("bob@customer.example has requested to automatically forward mail to your email\r\n"
                  "address support@acme.test.\r\nConfirmation code: 612345789\r\n\r\n"
                  "To allow bob@customer.example to automatically forward mail to your address, please click the link below\r\n"
                  "to confirm the request:\r\n\r\nhttps://mail-settings.google.com/mail/vf-%5BANGjdJ8%5D-abc\r\n")
    send(server.port, "forwarding-noreply@google.com", ["support@acme.test"],
         {"From": "Gmail Team <forwarding-noreply@google.com>", "To": "support@acme.test",
          "Subject": "(#612345789) Gmail Forwarding Confirmation - Receive Mail from bob@customer.example"}, gmail_body)
    send(server.port, "noreply@mail.other.example", ["support@acme.test"],
         {"From": "noreply@mail.other.example", "To": "support@acme.test", "Subject": "Please verify forwarding to support@acme.test"},
         "Open https://mail.other.example/verify?t=XYZ to confirm.\r\n")
    send(server.port, "bob@customer.example", ["support@acme.test"],
         {"From": "bob@customer.example", "To": "support@acme.test", "Subject": "Re: Forwarding confirmation"}, "Did it work?\r\n")
    labels = {r["subject"]: r["policy"] for r in rows(data_dir)}
    assert labels == {
        "(#612345789) Gmail Forwarding Confirmation - Receive Mail from bob@customer.example": "forwarding-confirmation",
        "Please verify forwarding to support@acme.test": "forwarding-confirmation",
        "Re: Forwarding confirmation": None,
    }, "confirmations come before the allowed-domain rule; a customer's reply is ordinary"
    assert queued(data_dir) == ["Re: Forwarding confirmation"]
    found = json.loads(cli(data_dir, "address", "confirmations", "help@acme.test", "--json").stdout)
    by_subject = {f["subject"]: f for f in found}
    gmail = by_subject["(#612345789) Gmail Forwarding Confirmation - Receive Mail from bob@customer.example"]
    assert gmail["code"] == "612345789" and gmail["link"] == "https://mail-settings.google.com/mail/vf-%5BANGjdJ8%5D-abc"
    assert gmail["address"] == "support@acme.test" and Path(gmail["file"]).exists()
    other = by_subject["Please verify forwarding to support@acme.test"]
    assert other["link"] == "https://mail.other.example/verify?t=XYZ" and other["code"] is None
    assert "Confirmation code" not in cli(data_dir, "address", "confirmations").stdout  # the code, not the line
    assert "612345789" in cli(data_dir, "address", "confirmations").stdout


def test_list_health_and_last_message(two: Path, spawn):
    cli(two, "domain", "add", "brand.test", "--kind", "standard")
    cli(two, "domain", "set", "brand.test", "--require-verification", "false")
    cli(two, "address", "add", "hi@brand.test")
    cli(two, "address", "disable", "sales@acme.test", "--publish")
    server = spawn(two)
    send(server.port, "bob@customer.example", ["support@acme.test"], {"From": "bob@customer.example", "To": "support@acme.test",
                                                                       "Subject": "Hello"})
    listed = {a["email"]: a for a in json.loads(cli(two, "address", "list", "--json").stdout)}
    assert listed["support@acme.test"]["health"] == "Active" and listed["support@acme.test"]["lastMessageAt"]
    assert listed["sales@acme.test"]["health"] == "Inactive" and listed["sales@acme.test"]["lastMessageAt"] is None
    assert listed["hi@brand.test"]["health"] == "Attention" and listed["hi@brand.test"]["healthReasons"] == ["DKIM no key"]

    def names(health: str) -> list[str]:
        return [a["email"] for a in json.loads(cli(two, "address", "list", "--health", health, "--json").stdout)]

    assert names("attention") == ["hi@brand.test"] and names("inactive") == ["sales@acme.test"]
    assert "Attention (DKIM no key)" in cli(two, "address", "list").stdout
    bad = cli(two, "address", "list", "--health", "sick", check=False)
    assert bad.returncode != 0 and "sick" in bad.stderr
