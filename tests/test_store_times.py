"""Times a record carries are stored in UTC, whatever offset the phone wrote them with.

SQLite keeps times as text and compares them as text: a walk-in received at 17:45 Vietnam time, stored as
"…17:45:33+07:00", sorted after the register's upper bound "…17:00:00+00:00" (midnight in Vietnam) and fell out of
that day's register (tests/test_agency_codes_register.py failed every evening after 17:00)."""

from datetime import datetime, timezone

from server.dossiers.store import _parse_time


def test_a_phones_vietnam_time_is_stored_as_the_same_moment_in_utc():
    stored = _parse_time("2026-12-06T17:45:33+07:00")
    assert stored == datetime(2026, 12, 6, 10, 45, 33, tzinfo=timezone.utc)
    assert stored.utcoffset().total_seconds() == 0
    assert str(stored) < "2026-12-06 17:00:00+00:00"  # inside the day, as text too


def test_a_time_without_offset_is_taken_as_utc_and_nothing_else_is_a_time():
    assert _parse_time("2026-12-06T10:45:33") == datetime(2026, 12, 6, 10, 45, 33, tzinfo=timezone.utc)
    assert _parse_time(None) is None and _parse_time(1234) is None
