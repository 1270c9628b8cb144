"""The browser's deadline rules (pwa/static/js/working-time.js) say exactly what the server's (server/working_time.py).

A receipt issued offline must carry the appointment the server will compute. Every case of
tests/data/working_time_cases.json, and a few hundred random receipt times across 2025–2027, run through Python
and through working-time.js in a real headless Chromium set to another time zone (a phone's zone must not
matter). The expected results are never written down: Python computes them here, at test time.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from server.holidays import DEFAULT_HOLIDAYS, read_holidays
from server.working_time import VIETNAM, WorkingCalendar, parse_hours, timeliness
from tests.browser import chromium, serve_static

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "data" / "working_time_cases.json").read_text(encoding="utf-8"))


def _shipped(**options) -> WorkingCalendar:
    days = read_holidays(DEFAULT_HOLIDAYS)
    return WorkingCalendar(holidays=frozenset(d for d, kind, _ in days if kind == "holiday"),
                           makeup_days=frozenset(d for d, kind, _ in days if kind == "makeup"), **options)


CALENDARS = {
    "shipped": _shipped(),
    "cutoff15": _shipped(cutoff=time(15, 0)),
    "hours8to17": _shipped(hours=parse_hours("08:00-12:00,13:00-17:00")),
}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def python_due(case: dict) -> str | None:
    days = None if case["days"] is None else Decimal(str(case["days"]))
    due = CALENDARS[case["calendar"]].due_at(moment(case["received_at"]), days)
    return due.isoformat() if due else None


def python_resume(case: dict) -> str:
    calendar = CALENDARS[case["calendar"]]
    return calendar.resume(moment(case["due_at"]), moment(case["paused_at"]), moment(case["resumed_at"])).isoformat()


def random_cases(count: int = 400) -> list[dict]:
    rng = random.Random(20261125)
    start = datetime(2025, 1, 1, tzinfo=VIETNAM)
    cases = []
    for index in range(count):
        received = start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60 - 60 * 24 * 60))
        days = rng.choice([0, 0.5, 1, 1.5, 2, 3, 5, 7, 10, 15, 20])
        cases.append({"name": f"random {index}", "calendar": rng.choice(list(CALENDARS)),
                      "received_at": received.isoformat(), "days": days})
    return cases


RUN = """(text) => {
    const input = JSON.parse(text);
    const out = {due: [], resume: [], between: [], timeliness: []};
    for (const c of input.due) out.due.push(wt.dueAt(c.received_at, c.days, input.calendars[c.calendar]));
    for (const c of input.resume) {
        const cal = input.calendars[c.calendar];
        out.resume.push(wt.resume(c.due_at, c.paused_at, c.resumed_at, cal));
        out.between.push(wt.workingSecondsBetween(c.paused_at, c.resumed_at, cal));
    }
    for (const c of input.timeliness) out.timeliness.push(wt.timeliness(c.returned_at, c.due_at));
    return JSON.stringify(out);
}"""


@pytest.fixture(scope="module")
def js():
    due_cases = CASES["due"] + random_cases()
    payload = {"calendars": {name: calendar.to_json() for name, calendar in CALENDARS.items()},
               "due": due_cases, "resume": CASES["resume"], "timeliness": CASES["timeliness"]}
    with serve_static() as static_url, chromium() as browser:
        # A phone set to Los Angeles time: the rules must still count in Vietnam time.
        context = browser.new_context(timezone_id="America/Los_Angeles")
        page = context.new_page()
        page.goto(static_url + "/")
        page.evaluate("async () => { window.wt = await import('/js/working-time.js'); }")
        result = json.loads(page.evaluate(RUN, json.dumps(payload)))
        context.close()
    return due_cases, result


def test_appointments_are_the_same_in_the_browser(js):
    due_cases, result = js
    expected = [python_due(case) for case in due_cases]
    mismatches = [(case["name"], case["received_at"], case["days"], want, got)
                  for case, want, got in zip(due_cases, expected, result["due"]) if want != got]
    assert not mismatches, mismatches[:5]
    assert len(result["due"]) == len(due_cases) > 400


def test_the_named_cases_give_what_the_rules_say():
    by_name = {case["name"]: python_due(case) for case in CASES["due"]}
    assert by_name["across Tết 2026"] == "2026-02-25T10:00:00+07:00"
    assert by_name["no published duration"] is None
    assert by_name["given in UTC, late evening"] == "2026-11-24T17:00:00+07:00"  # 06:30 on the 24th in Vietnam


def test_pauses_are_the_same_in_the_browser(js):
    _, result = js
    assert result["resume"] == [python_resume(case) for case in CASES["resume"]]
    assert result["between"] == [CALENDARS[c["calendar"]].working_seconds_between(moment(c["paused_at"]),
                                                                                 moment(c["resumed_at"]))
                                 for c in CASES["resume"]]


def test_timeliness_is_the_same_in_the_browser(js):
    _, result = js
    assert result["timeliness"] == [timeliness(moment(c["returned_at"]), moment(c["due_at"]))
                                    for c in CASES["timeliness"]]
    assert result["timeliness"] == ["early", "on_time", "on_time", "late"]
