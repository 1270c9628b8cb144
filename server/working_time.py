"""Deadlines in working time (thời hạn giải quyết tính theo ngày làm việc), docs/workflow.md "Deadlines".

The pure rules live in `WorkingCalendar` and need no database; pwa/static/js/working-time.js is their twin
in the browser (tests/test_working_time_js.py proves both agree). `load_calendar()` builds the calendar from
the Holiday table (kept a few minutes), because the government announces holidays and make-up days every year.

Rules (DOMAIN.md "Deadlines"; Labour Code 2019 art. 112 for the holidays):
- a working day is Monday to Friday that is not a holiday, or a make-up day (ngày làm bù) whatever its weekday;
- a working day has working periods (default 07:00–11:30 and 13:30–17:00: 8 hours); a duration of N working
  days is N × the length of a working day;
- a dossier received before opening counts from opening, during the lunch break from the afternoon, at or
  after the cut-off (default: closing time) or on a day off from the next working morning;
- the clock stops while a supplement or a financial obligation is awaited: the appointment moves later by
  the working time spent waiting;
- a returned dossier is early, on time or late by the calendar dates of return and appointment.
"""

from __future__ import annotations

import os
import time as monotonic_clock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Iterable

# Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving time.
VIETNAM = timezone(timedelta(hours=7))
DEFAULT_HOURS: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
# A calendar covers years, not centuries: walking further than this means bad input, not a deadline.
MAX_DAYS_WALKED = 3 * 366
HOLIDAY, MAKEUP = "holiday", "makeup"


class CalendarError(ValueError):
    pass


def parse_hours(text: str) -> tuple[tuple[time, time], ...]:
    """"07:00-11:30,13:30-17:00" → periods; they must be increasing and not overlap."""
    periods: list[tuple[time, time]] = []
    for part in text.split(","):
        try:
            start, end = (time.fromisoformat(piece.strip()) for piece in part.split("-"))
        except ValueError:
            raise CalendarError(f"working hours must look like 07:00-11:30,13:30-17:00, not {text!r}") from None
        if not start < end or (periods and start < periods[-1][1]):
            raise CalendarError(f"working periods must be increasing and not overlap: {text!r}")
        periods.append((start, end))
    return tuple(periods)


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class WorkingCalendar:
    hours: tuple[tuple[time, time], ...] = DEFAULT_HOURS
    holidays: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()
    # Received at or after the cut-off: counted from the next working morning. None: the closing time.
    cutoff: time | None = None
    names: dict[date, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.hours:
            raise CalendarError("a working day needs at least one working period")

    # -- days ------------------------------------------------------------------------------------
    @property
    def day_seconds(self) -> int:
        """The length of one working day (8 hours by default)."""
        return sum(_seconds(end) - _seconds(start) for start, end in self.hours)

    @property
    def effective_cutoff(self) -> time:
        return self.cutoff or self.hours[-1][1]

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        for _ in range(MAX_DAYS_WALKED):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise CalendarError("no working day within three years")

    def _periods(self, day: date) -> Iterable[tuple[datetime, datetime]]:
        for start, end in self.hours:
            yield datetime.combine(day, start, VIETNAM), datetime.combine(day, end, VIETNAM)

    # -- instants --------------------------------------------------------------------------------
    def counting_start(self, received_at: datetime) -> datetime:
        """When the clock starts for a dossier received at `received_at`."""
        local = _local(received_at)
        day = local.date()
        if not self.is_working_day(day) or local.time() >= self.effective_cutoff:
            day = self.next_working_day(day)
            return datetime.combine(day, self.hours[0][0], VIETNAM)
        for start, end in self._periods(day):
            if local < end:
                return max(local, start)
        return datetime.combine(self.next_working_day(day), self.hours[0][0], VIETNAM)

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """The instant `seconds` of working time after `start`. Ending exactly at a period's end gives that end
        (an appointment at 17:00, not at 07:00 the next morning)."""
        if seconds < 0:
            raise CalendarError("cannot add negative working time")
        local = _local(start)
        day = local.date()
        remaining = seconds
        for _ in range(MAX_DAYS_WALKED):
            if self.is_working_day(day):
                for period_start, period_end in self._periods(day):
                    begin = max(local, period_start)
                    if begin >= period_end:
                        continue
                    available = int((period_end - begin).total_seconds())
                    if remaining <= available:
                        return begin + timedelta(seconds=remaining)
                    remaining -= available
            day += timedelta(days=1)
        raise CalendarError("the deadline is more than three years away")

    def add_working_minutes(self, start: datetime, minutes: float | Decimal) -> datetime:
        return self.add_working_seconds(start, round(Decimal(str(minutes)) * 60))

    def working_seconds_between(self, a: datetime, b: datetime) -> int:
        """Working time in [a, b): 0 when b is not after a."""
        a, b = _local(a), _local(b)
        if b <= a:
            return 0
        if (b.date() - a.date()).days > MAX_DAYS_WALKED:
            raise CalendarError("the interval is longer than three years")
        total = 0
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                for period_start, period_end in self._periods(day):
                    overlap = (min(b, period_end) - max(a, period_start)).total_seconds()
                    total += max(0, int(overlap))
            day += timedelta(days=1)
        return total

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        return self.working_seconds_between(a, b) / 60

    def duration_seconds(self, processing_days: Decimal | float | int) -> int:
        return round(Decimal(str(processing_days)) * self.day_seconds)

    def due_at(self, received_at: datetime, processing_days: Decimal | float | int | None) -> datetime | None:
        """The appointment (ngày hẹn trả kết quả); None when the procedure publishes no duration."""
        if processing_days is None:
            return None
        if Decimal(str(processing_days)) < 0:
            raise CalendarError("a processing time cannot be negative")
        return self.add_working_seconds(self.counting_start(received_at), self.duration_seconds(processing_days))

    def resume(self, due_at: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
        """The appointment after the clock stood still from `paused_at` to `resumed_at`."""
        waited = self.working_seconds_between(paused_at, resumed_at)
        if waited == 0:
            return _local(due_at)
        # Time added from the old appointment: if it ended a period (17:00), the wait continues next morning.
        return self.add_working_seconds(_local(due_at), waited)

    def to_json(self) -> dict:
        """What GET /api/calendar serves and working-time.js reads."""
        days = [{"day": day.isoformat(), "kind": HOLIDAY, "name": self.names.get(day, "")} for day in self.holidays]
        days += [{"day": day.isoformat(), "kind": MAKEUP, "name": self.names.get(day, "")} for day in self.makeup_days]
        return {
            "working_hours": [[start.strftime("%H:%M"), end.strftime("%H:%M")] for start, end in self.hours],
            "cutoff": self.effective_cutoff.strftime("%H:%M"),
            "timezone": "+07:00",
            "days": sorted(days, key=lambda entry: entry["day"]),
        }

    @classmethod
    def from_json(cls, data: dict) -> "WorkingCalendar":
        hours = parse_hours(",".join(f"{start}-{end}" for start, end in data["working_hours"]))
        holidays = {date.fromisoformat(d["day"]) for d in data.get("days", []) if d["kind"] == HOLIDAY}
        makeup = {date.fromisoformat(d["day"]) for d in data.get("days", []) if d["kind"] == MAKEUP}
        cutoff = time.fromisoformat(data["cutoff"]) if data.get("cutoff") else None
        return cls(hours, frozenset(holidays), frozenset(makeup), cutoff)


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise CalendarError("times must carry their time zone")
    return moment.astimezone(VIETNAM)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def vietnam_date(moment: datetime) -> date:
    return _local(moment).date()


def timeliness(returned_at: datetime, due_at: datetime) -> str:
    """trước hạn / đúng hạn / quá hạn, by the calendar dates in Vietnam (DOMAIN.md "Deadlines")."""
    returned, due = vietnam_date(returned_at), vietnam_date(due_at)
    return "early" if returned < due else "on_time" if returned == due else "late"


# -- the calendar from the database ----------------------------------------------------------------
# Settings: MOTCUA_WORKING_HOURS ("07:00-11:30,13:30-17:00") and MOTCUA_DEADLINE_CUTOFF ("17:00" by default).
RELOAD_SECONDS = 300
_cache: dict[str, object] = {}


def configured_hours() -> tuple[tuple[time, time], ...]:
    from server.config import ConfigError

    text = os.environ.get("MOTCUA_WORKING_HOURS", "").strip()
    try:
        return parse_hours(text) if text else DEFAULT_HOURS
    except CalendarError as error:
        raise ConfigError(f"MOTCUA_WORKING_HOURS: {error}") from None


def configured_cutoff() -> time | None:
    from server.config import ConfigError

    text = os.environ.get("MOTCUA_DEADLINE_CUTOFF", "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"MOTCUA_DEADLINE_CUTOFF must be a time like 15:00, not {text!r}") from None


def check_settings() -> None:
    """At start-up: a malformed working-hours setting stops the server with one line, not a request later."""
    configured_hours()
    configured_cutoff()


async def load_calendar(*, force: bool = False) -> WorkingCalendar:
    """The calendar of the Holiday table. The table is small (a few dozen days a year), so each app instance
    simply reads it again every RELOAD_SECONDS; the process that imports a file forgets its copy at once."""
    from server.models import Holiday

    now = monotonic_clock.monotonic()
    cached = _cache.get("calendar")
    if cached is not None and not force and now - float(_cache["loaded"]) < RELOAD_SECONDS:  # type: ignore[arg-type]
        return cached  # type: ignore[return-value]
    rows = await Holiday.all()
    calendar = WorkingCalendar(
        hours=configured_hours(),
        holidays=frozenset(row.day for row in rows if row.kind == HOLIDAY),
        makeup_days=frozenset(row.day for row in rows if row.kind == MAKEUP),
        cutoff=configured_cutoff(),
        names={row.day: row.name for row in rows},
    )
    _cache.update(calendar=calendar, loaded=now)
    return calendar


def forget_calendar() -> None:
    """After this process changed the Holiday table."""
    _cache.clear()
