"""Appointments in working time (server/workflow/working_time.py, docs/workflow.md "Deadlines"): the pure rules.

Every expected instant below was worked out by hand from the shipped holiday file and the default working
hours (07:00–11:30, 13:30–17:00), in Vietnam time (UTC+7).
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest

from server.workflow.holidays import DEFAULT_HOLIDAYS, HolidaysError, read_holidays
from server.workflow.working_time import (
    VIETNAM,
    CalendarError,
    WorkingCalendar,
    parse_hours,
    timeliness,
)


def shipped_calendar(**options) -> WorkingCalendar:
    days = read_holidays(DEFAULT_HOLIDAYS)
    return WorkingCalendar(holidays=frozenset(d for d, kind, _ in days if kind == "holiday"),
                           makeup_days=frozenset(d for d, kind, _ in days if kind == "makeup"), **options)


CAL = shipped_calendar()


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VIETNAM)


def test_a_working_day_is_eight_hours_by_default():
    assert CAL.day_seconds == 8 * 3600


def test_the_shipped_file_has_tet_2026_and_the_new_year_swap():
    assert not CAL.is_working_day(date(2026, 2, 16))  # 29 Tết Bính Ngọ, Monday
    assert all(not CAL.is_working_day(date(2026, 2, d)) for d in range(14, 23))
    assert CAL.is_working_day(date(2026, 2, 23))
    assert not CAL.is_working_day(date(2026, 1, 2))  # Friday swapped …
    assert CAL.is_working_day(date(2026, 1, 10))  # … for Saturday 10 January (làm bù)
    assert not CAL.is_working_day(date(2026, 4, 27))  # Giỗ Tổ fell on Sunday 26 April: the Monday off
    assert CAL.is_working_day(date(2025, 4, 26))  # make-up Saturday for Friday 2 May 2025


def test_across_tet_2026_the_holidays_and_weekends_do_not_count():
    # Friday 13/2 at 10:00 leaves 5 h that day; 16–20/2 Tết, 21–22 weekend; Mon 8 h, Tue 8 h, Wed 3 h.
    assert CAL.due_at(vn("2026-02-13T10:00"), 3) == vn("2026-02-25T10:00")


def test_across_new_year_2026_and_its_make_up_saturday():
    # Wed 31/12/2025 16:00: 1 h; 1–2/1 off, weekend; Mon 5/1 8 h; Tue 6/1 7 h → 16:00.
    assert CAL.due_at(vn("2025-12-31T16:00"), 2) == vn("2026-01-06T16:00")
    # Fri 9/1 08:00: 7 h that day, then Saturday 10/1 is a working day: 1 h → 08:00 on the Saturday.
    assert CAL.due_at(vn("2026-01-09T08:00"), 1) == vn("2026-01-10T08:00")
    # The make-up Saturday of 2025 too.
    assert CAL.due_at(vn("2025-04-25T08:00"), 1) == vn("2025-04-26T08:00")


def test_received_after_closing_counts_from_the_next_working_morning():
    assert CAL.due_at(vn("2026-11-23T17:05"), 1) == vn("2026-11-24T17:00")
    assert CAL.due_at(vn("2026-11-23T17:00"), 1) == vn("2026-11-24T17:00")  # closing time is the cut-off
    assert CAL.due_at(vn("2026-11-23T16:59"), 1) == vn("2026-11-24T16:59")


def test_a_cut_off_hour_moves_a_late_afternoon_receipt_to_the_next_morning():
    early_close = shipped_calendar(cutoff=time(15, 0))
    assert early_close.due_at(vn("2026-11-23T15:30"), 1) == vn("2026-11-24T17:00")
    # Before the cut-off the clock starts at once: 3 h on Monday, 5 h on Tuesday.
    assert early_close.due_at(vn("2026-11-23T14:00"), 1) == vn("2026-11-24T14:00")


def test_before_opening_and_at_lunch_the_clock_starts_at_the_next_period():
    assert CAL.due_at(vn("2026-11-23T06:10"), 1) == vn("2026-11-23T17:00")  # ends at closing, not next morning
    assert CAL.due_at(vn("2026-11-23T12:00"), Decimal("0.5")) == vn("2026-11-24T07:30")


def test_weekends_do_not_count():
    assert CAL.due_at(vn("2026-11-21T09:00"), 1) == vn("2026-11-23T17:00")  # received on Saturday
    assert CAL.due_at(vn("2026-11-27T16:00"), Decimal("1.5")) == vn("2026-12-01T10:00")  # Fri → Tue


def test_no_published_duration_means_no_appointment():
    assert CAL.due_at(vn("2026-11-23T09:00"), None) is None


def test_same_day_is_one_working_day_with_a_15_00_cut_off():
    """National procedure data (1.001193 birth registration: 1 working day) and Decree 23/2015 Art. 7
    (certification): received before 15:00 → returned the same day; after → the next working day
    (docs/domain.md "Corrections and additions", "Same-day procedures and the 15:00 rule")."""
    assert CAL.due_at(vn("2026-11-23T14:59"), 0) == vn("2026-11-23T17:00")
    assert CAL.due_at(vn("2026-11-23T15:40"), 0) == vn("2026-11-24T17:00")  # not 15:40 the same day
    assert CAL.due_at(vn("2026-11-21T09:00"), 0) == vn("2026-11-23T17:00")  # a Saturday
    # The cut-off belongs to the procedure: its own replaces the 15:00 default and the office's.
    assert CAL.due_at(vn("2026-11-23T15:40"), 0, cutoff=time(16, 0)) == vn("2026-11-23T17:00")
    assert CAL.due_at(vn("2026-11-23T15:40"), 1, cutoff=time(15, 0)) == vn("2026-11-24T17:00")


def test_processing_time_in_hours_and_in_days():
    """National procedure data: a processing time has its unit (working days, working hours, days)."""
    assert CAL.due_at(vn("2026-11-23T10:00"), 4, "hours") == vn("2026-11-23T16:00")
    # 15 days (calendar): the last day off → the end of the next working day (Civil Code 2015 Art. 148).
    assert CAL.due_at(vn("2026-11-18T09:00"), 4, "days") == vn("2026-11-23T17:00")  # Sunday 22 → Monday
    with pytest.raises(CalendarError):
        CAL.due_at(vn("2026-11-23T10:00"), 4, "weeks")


def test_a_supplement_pause_moves_the_appointment_by_the_working_time_waited():
    # Waited Mon 16:00 → Tue 09:00: 1 h + 2 h of working time.
    assert CAL.working_minutes_between(vn("2026-11-23T16:00"), vn("2026-11-24T09:00")) == 180
    assert CAL.resume(vn("2026-11-25T10:00"), vn("2026-11-23T16:00"), vn("2026-11-24T09:00")) == vn("2026-11-25T15:00")
    # A pause over a weekend and lunch costs only its working time.
    assert CAL.working_minutes_between(vn("2026-11-27T11:00"), vn("2026-11-30T14:00")) == 30 + 210 + 270 + 30
    # A pause over Tết 2026 costs nothing for the holidays.
    assert CAL.working_minutes_between(vn("2026-02-13T17:00"), vn("2026-02-23T07:00")) == 0
    assert CAL.resume(vn("2026-02-13T11:00"), vn("2026-02-13T17:00"), vn("2026-02-23T07:00")) == vn("2026-02-13T11:00")


def test_resuming_from_an_appointment_at_closing_continues_the_next_morning():
    assert CAL.resume(vn("2026-11-23T17:00"), vn("2026-11-23T08:00"), vn("2026-11-23T09:00")) == vn("2026-11-24T08:00")


def test_add_working_minutes_and_between_agree():
    start = vn("2026-02-12T09:17")
    for minutes in (0, 1, 59, 133, 480, 2000, 9000):
        end = CAL.add_working_minutes(start, minutes)
        assert CAL.working_minutes_between(start, end) == minutes


def test_timeliness_compares_calendar_dates_in_vietnam():
    due = vn("2026-11-25T10:00")
    assert timeliness(vn("2026-11-24T16:00"), due) == "early"
    assert timeliness(vn("2026-11-25T16:59"), due) == "on_time"  # later the same day is still on time
    assert timeliness(datetime(2026, 11, 24, 23, 30, tzinfo=timezone.utc), due) == "on_time"  # 06:30 on the 25th
    assert timeliness(vn("2026-11-26T07:00"), due) == "late"


def test_times_without_a_zone_and_bad_settings_are_refused():
    with pytest.raises(CalendarError):
        CAL.due_at(datetime(2026, 11, 23, 9, 0), 1)
    with pytest.raises(CalendarError):
        parse_hours("13:30-17:00,07:00-11:30")
    with pytest.raises(CalendarError):
        parse_hours("7h-11h30")
    assert parse_hours("07:30-11:30,13:00-17:00") == ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))


def test_other_working_hours_change_the_length_of_a_day():
    cal = WorkingCalendar(hours=parse_hours("08:00-12:00,13:00-17:00"))
    assert cal.day_seconds == 8 * 3600
    assert cal.due_at(vn("2026-11-23T12:30"), 1) == vn("2026-11-24T12:00")


def test_a_make_up_day_on_a_weekday_is_refused_in_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"days": [{"day": "2026-11-24", "kind": "makeup", "name": "x"}]}', encoding="utf-8")
    with pytest.raises(HolidaysError):
        read_holidays(bad)


def test_the_shipped_file_covers_2025_to_2027_with_five_tet_days_each():
    days = read_holidays(DEFAULT_HOLIDAYS)
    for year in (2025, 2026, 2027):
        in_year = [d for d, kind, name in days if d.year == year and kind == "holiday"]
        assert sum(1 for d, kind, name in days if d.year == year and "Nguyên đán" in name) == 5
        assert date(year, 4, 30) in in_year or date(year, 4, 30).weekday() >= 5
        assert any(d.month == 9 and d.day in (1, 2, 3) for d in in_year)


def test_the_calendar_round_trips_through_json():
    again = WorkingCalendar.from_json(CAL.to_json())
    assert (again.hours, again.holidays, again.makeup_days, again.effective_cutoff) == \
        (CAL.hours, CAL.holidays, CAL.makeup_days, CAL.effective_cutoff)
    received = vn("2026-02-13T10:00")
    assert again.due_at(received, 3) == CAL.due_at(received, 3)
    assert CAL.to_json()["working_hours"] == [["07:00", "11:30"], ["13:30", "17:00"]]
    assert CAL.to_json()["timezone"] == "+07:00"
    assert CAL.to_json()["cutoff"] == "17:00"
