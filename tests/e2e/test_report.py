"""`postgate report`: activity per day from the real store after real SMTP deliveries and
a queued reply (customers' messages in, replies out, sessions, first-response time,
auto-replies, blocked and quarantined messages), as a table, as JSON, and as a
self-contained HTML page with its charts inline."""

from __future__ import annotations

import datetime
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

import chromium
from conftest import cli
from test_imap import add_agent
from test_policy import send
from test_replies import agent_reply, customer_writes, submit


class Elements(HTMLParser):
    """The tags of a page and every URL it would fetch."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.fetches: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.fetches += [v for k, v in attrs if k in ("src", "href") and v]


def test_report_counts_a_day_of_activity(data_dir: Path, tmp_path: Path, spawn):
    cli(data_dir, "blocklist", "add", "support@acme.test", "spam.example")
    cli(data_dir, "address", "set", "support@acme.test", "--allowed-domain", "example.test", "--allowed-domain", "spam.example",
        "--publish")
    server = spawn(data_dir)
    customer_writes(server.port, "<order-1@example.test>", "where is my order")
    customer_writes(server.port, "<order-2@example.test>", "any news?")
    send(server.port, "jane@example.test", ["support@acme.test"],
         {"From": "jane@example.test", "To": "support@acme.test", "Subject": "Out of office", "Auto-Submitted": "auto-replied"})
    send(server.port, "x@spam.example", ["support@acme.test"], {"From": "x@spam.example", "To": "support@acme.test", "Subject": "Buy"})
    send(server.port, "eve@evil.example", ["support@acme.test"], {"From": "eve@evil.example", "To": "support@acme.test", "Subject": "Hi"})
    add_agent(data_dir)
    submit(data_dir, agent_reply("<order-1@example.test>"), "jane@example.test")

    report = json.loads(cli(data_dir, "report", "--address", "help@acme.test", "--since", "1d", "--json").stdout)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert report["address"] == "support@acme.test"
    assert [d["date"] for d in report["days"]] == [today]
    counts = {k: v for k, v in report["totals"].items() if k != "date"}
    assert counts == {"messagesIn": 2, "messagesOut": 1, "sessionsOpened": 1, "sessionsClosed": 0,
                      "autoReplies": 0, "autoRepliesReceived": 1, "quarantined": 1, "blocked": 1}
    first = report["firstResponse"]
    assert first["answered"] == 1 and first["unanswered"] == 0 and 0 <= first["medianSeconds"] == first["p90Seconds"]

    week = json.loads(cli(data_dir, "report", "--since", "7d", "--json").stdout)
    assert len(week["days"]) == 7 and week["days"][-1]["date"] == today and week["address"] is None
    assert sum(d["messagesIn"] for d in week["days"][:-1]) == 0

    page = tmp_path / "report.html"
    table = cli(data_dir, "report", "--since", "3d", "--html", str(page)).stdout
    assert table.splitlines()[0].split()[:3] == ["DAY", "IN", "OUT"] and "first response: 1 sessions answered" in table
    elements = Elements()
    elements.feed(page.read_text(encoding="utf-8"))
    assert elements.tags.count("svg") == 2 and elements.tags.count("rect") == 3 * 2 + 3
    assert elements.fetches == [], "the page needs nothing from the network"
    if chromium.CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/install-deps.sh installs it)")
    # Drawn by a browser: each series' bars in its colour, as tall as its count (2 in, 1 out,
    # 1 session opened; each chart scaled to its largest value), and the table's totals.
    pixels = chromium.screenshot(page, tmp_path, size=(800, 700))
    bars = {name: chromium.count(pixels, colour) for name, colour in [("in", "#3b7dd8"), ("out", "#e08a2c"), ("opened", "#4a9a5b")]}
    # (An edge row of a bar may be blended with the background: a few pixels of slack.)
    assert bars["out"] > 100 and abs(bars["in"] - 2 * bars["out"]) <= 10 and bars["opened"] == bars["in"], bars
    rendered = chromium.dom(page, tmp_path)
    assert f"<td>{today}</td><td>2</td><td>1</td><td>1</td>" in rendered


def test_a_bad_range_or_address_is_one_clear_error(data_dir: Path):
    bad = cli(data_dir, "report", "--since", "yesterday", check=False)
    assert bad.returncode == 1
    assert bad.stderr == "postgate: --since yesterday is neither a number of days (30d, at most 3650d) nor a day written YYYY-MM-DD\n"
    unknown = cli(data_dir, "report", "--address", "nobody@acme.test", check=False)
    assert unknown.returncode == 1 and "nobody@acme.test" in unknown.stderr and unknown.stderr.count("\n") == 1
