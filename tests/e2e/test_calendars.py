"""Working calendars on the command line: set with segments, workdays, holidays (also from
an iCalendar file), shown open or closed at a time with the next change; an address works
by its own calendar, else the one named default, else always; bad values are one clear
error and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import cli

ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Holidays//EN\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas\r\n"
       "DTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def hours(data: Path, email: str, at: str) -> dict:
    return json.loads(cli(data, "address", "hours", email, "--at", at, "--json").stdout)


def test_an_address_works_by_its_calendar(data_dir: Path, tmp_path: Path):
    assert hours(data_dir, "support@acme.test", "2026-12-24T23:00:00Z") == {
        "name": None, "calendar": None, "at": "2026-12-24T23:00:00Z", "open": True, "nextChange": None}
    (tmp_path / "holidays.ics").write_text(ICS)
    cli(data_dir, "calendar", "set", "default", "--time-zone", "Europe/Berlin", "--workday", "09:00-17:00",
        "--non-workday", "10:00-12:00", "--holidays-ics", str(tmp_path / "holidays.ics"))
    # Thursday 24 December, 23:00 UTC: closed; Christmas is a holiday, open 10:00-12:00 Berlin time.
    late = hours(data_dir, "help@acme.test", "2026-12-24T23:00:00Z")
    assert late["name"] == "default" and late["open"] is False and late["nextChange"] == "2026-12-25T09:00:00Z"
    assert late["calendar"]["holidays"] == ["2026-12-25", "2026-12-26"]
    assert hours(data_dir, "support@acme.test", "2026-12-28T08:30:00Z")["open"] is True  # Monday 09:30

    cli(data_dir, "calendar", "set", "night_desk", "--workdays", "mon,tue,wed,thu,fri,sat,sun", "--workday", "00:00-24:00")
    cli(data_dir, "address", "set", "support@acme.test", "--calendar", "NIGHT_DESK", "--publish")
    own = hours(data_dir, "support@acme.test", "2026-12-24T23:00:00Z")
    assert own["name"] == "night_desk" and own["open"] is True and own["nextChange"] is None
    assert "outside working hours" not in cli(data_dir, "address", "hours", "support@acme.test").stdout
    listed = json.loads(cli(data_dir, "calendar", "list", "--json").stdout)
    assert [c["name"] for c in listed] == ["default", "night_desk"]
    used = cli(data_dir, "calendar", "remove", "night_desk", check=False)
    assert used.returncode == 1 and "support@acme.test" in used.stderr
    shown = cli(data_dir, "calendar", "show", "default", "--at", "2026-12-24T23:00:00Z").stdout
    assert "closed" in shown and "2026-12-25T09:00:00Z (opens)" in shown


@pytest.mark.parametrize("args, message", [
    (["--workday", "25:00-26:00"], "time segment '25:00-26:00' is not HH:MM-HH:MM between 00:00 and 24:00 (such as 09:00-17:30)"),
    (["--workday", "08:00-12:00", "--workday", "11:00-13:00"], "workday segments 08:00-12:00 and 11:00-13:00 overlap"),
    (["--time-zone", "Mars/Olympus"], "time zone 'Mars/Olympus' is not a known time zone name (such as Europe/Berlin or UTC)"),
    (["--holiday", "2026-02-30"], "holiday '2026-02-30' is not a day written YYYY-MM-DD"),
    (["--workdays", "mon,funday"], "'funday' is not a day of the week (mon, tue, wed, thu, fri, sat, sun)"),
])
def test_bad_calendars_are_refused_and_nothing_is_saved(data_dir: Path, args: list[str], message: str):
    result = cli(data_dir, "calendar", "set", "default", *args, check=False)
    assert result.returncode == 1 and result.stderr == f"postgate: {message}\n"
    assert json.loads(cli(data_dir, "calendar", "list", "--json").stdout) == []


def test_an_unknown_calendar_cannot_be_given_to_an_address(data_dir: Path):
    result = cli(data_dir, "address", "set", "support@acme.test", "--calendar", "nosuch", check=False)
    assert result.returncode == 1 and "there is no calendar nosuch" in result.stderr
