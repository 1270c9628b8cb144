"""The browser's deadline rules (pwa/static/js/working-time.js) say exactly what the server's (server/workflow/working_time.py).

A receipt issued offline must carry the appointment the server will compute. Every case of
tests/data/working_time_cases.json, and a few hundred random receipt times across 2025–2027, run through Python
and through working-time.js in a real headless Chromium set to another time zone (a phone's zone must not
matter). The expected results are never written down: Python computes them here, at test time.
"""

from __future__ import annotations

import json
import random
from types import SimpleNamespace
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from server.workflow.deadlines import processing_time
from server.workflow.holidays import DEFAULT_HOLIDAYS, read_holidays
from server.workflow.working_time import VIETNAM, WorkingCalendar, parse_hours, timeliness
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
    cutoff = time.fromisoformat(case["cutoff"]) if case.get("cutoff") else None
    due = CALENDARS[case["calendar"]].due_at(moment(case["received_at"]), days, case.get("unit", "working_days"),
                                             cutoff)
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
        case = {"name": f"random {index}", "calendar": rng.choice(list(CALENDARS)),
                "received_at": received.isoformat(), "days": days}
        unit = rng.choice(["working_days", "working_days", "days", "hours"])
        if unit != "working_days":
            case["unit"] = unit
        if rng.random() < 0.2:
            case["cutoff"] = rng.choice(["14:00", "15:00", "16:30"])
        cases.append(case)
    return cases


RUN = """(text) => {
    const input = JSON.parse(text);
    const out = {due: [], resume: [], between: [], timeliness: []};
    for (const c of input.due) out.due.push(wt.dueAt(c.received_at, c.days, input.calendars[c.calendar],
                                                    {unit: c.unit, cutoff: c.cutoff}));
    for (const c of input.resume) {
        const cal = input.calendars[c.calendar];
        out.resume.push(wt.resume(c.due_at, c.paused_at, c.resumed_at, cal));
        out.between.push(wt.workingSecondsBetween(c.paused_at, c.resumed_at, cal));
    }
    for (const c of input.timeliness) out.timeliness.push(wt.timeliness(c.finished_at, c.due_at));
    out.processing_time = input.processing_time.map((c) => {
        const {amount, unit} = wt.processingTime(c.procedure, c.channel, c.case || null);
        return [amount, unit];
    });
    return JSON.stringify(out);
}"""


@pytest.fixture(scope="module")
def js():
    due_cases = CASES["due"] + random_cases()
    payload = {"calendars": {name: calendar.to_json() for name, calendar in CALENDARS.items()},
               "due": due_cases, "resume": CASES["resume"], "timeliness": CASES["timeliness"],
               "processing_time": CASES["processing_time"]}
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


def test_same_day_procedures_follow_the_national_data():
    """Processing time 0 ("same day") is 1 working day with a 15:00 cut-off: the national procedure data for
    1.001193 and the certifications of Decree 23/2015 Art. 7 (docs/domain.md "Corrections and additions")."""
    by_name = {case["name"]: python_due(case) for case in CASES["due"]}
    assert by_name["same day, before the 15:00 cut-off"] == "2026-11-23T17:00:00+07:00"
    assert by_name["same day, received at 15:40"] == "2026-11-24T17:00:00+07:00"  # the case
    assert by_name["same day, at 15:00 sharp"] == "2026-11-24T17:00:00+07:00"
    assert by_name["same day, Friday after the cut-off"] == "2026-11-30T17:00:00+07:00"
    assert by_name["same day, the day before Tết 2026"] == "2026-02-23T17:00:00+07:00"
    assert by_name["same day, the procedure's own cut-off 16:00"] == "2026-11-23T17:00:00+07:00"
    assert by_name["zero days"] == "2026-11-23T17:00:00+07:00"  # a Saturday: the Monday
    assert by_name["the procedure's own cut-off on working days"] == "2026-11-24T17:00:00+07:00"


def test_processing_time_carries_its_unit():
    """The national procedure data give a processing time with its unit: working days, working hours, days."""
    by_name = {case["name"]: python_due(case) for case in CASES["due"]}
    assert by_name["four working hours over lunch"] == "2026-11-23T16:00:00+07:00"
    assert by_name["eight working hours after the cut-off"] == "2026-11-24T17:00:00+07:00"
    # Calendar days: received Monday 16/11, day 15 is Tuesday 1/12, due at its close.
    assert by_name["15 days ending on a Sunday"] == "2026-12-01T17:00:00+07:00"
    assert by_name["days, received after closing"] == "2026-11-27T17:00:00+07:00"


def test_pauses_are_the_same_in_the_browser(js):
    _, result = js
    assert result["resume"] == [python_resume(case) for case in CASES["resume"]]
    assert result["between"] == [CALENDARS[c["calendar"]].working_seconds_between(moment(c["paused_at"]),
                                                                                 moment(c["resumed_at"]))
                                 for c in CASES["resume"]]


def test_timeliness_is_the_same_in_the_browser(js):
    _, result = js
    assert result["timeliness"] == [timeliness(moment(c["finished_at"]), moment(c["due_at"]))
                                    for c in CASES["timeliness"]]
    assert result["timeliness"] == ["early", "on_time", "on_time", "late"]


def python_processing_time(case: dict) -> list:
    procedure = SimpleNamespace(processing_days=case["procedure"]["processing_days"],
                                processing_unit=case["procedure"]["processing_unit"])
    amount, unit = processing_time(procedure, case["procedure"], case["channel"], case.get("case"))  # type: ignore[arg-type]
    return [amount, unit]


def test_each_channel_and_sub_case_takes_its_own_processing_time():
    """The national procedure data give each channel (direct, online, postal) and each sub-case its own processing
    time and unit; a channel that publishes none takes the procedure's default (docs/workflow.md "Deadlines")."""
    assert [python_processing_time(case) for case in CASES["processing_time"]] == \
        [case["expected"] for case in CASES["processing_time"]]


def test_the_browser_picks_the_same_processing_time(js):
    _, result = js
    assert result["processing_time"] == [case["expected"] for case in CASES["processing_time"]]
