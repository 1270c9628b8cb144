"""Deadlines in working time (thời hạn giải quyết tính theo ngày làm việc), docs/workflow.md "Deadlines".

The pure rules live in `WorkingCalendar` and need no database; pwa/static/js/working-time.js is their twin
in the browser (tests/test_working_time_js.py proves both agree). `load_calendar()` builds the calendar from
the Holiday table (kept a few minutes), because the government announces holidays and make-up days every year.

Rules (docs/domain.md "Deadlines"; Labour Code 2019 art. 112 for the holidays):
- a working day is Monday to Friday that is not a holiday, or a make-up day (ngày làm bù) whatever its weekday;
- a working day has working periods (default 07:00–11:30 and 13:30–17:00: 8 hours); a duration of N working
  days is N × the length of a working day;
- a dossier received before opening counts from opening, during the lunch break from the afternoon, at or
  after the cut-off (the procedure's own, else the office's: closing time by default) or on a day off from the
  next working morning;
- a processing time carries its unit (docs/domain.md "Corrections and additions", the national procedure data):
  working days (× the length of a working day), working hours, or days (calendar days: the appointment is the
  end of office hours on the day N days after the clock starts, or the next working day when that day is off;
  Civil Code 2015 Art. 147–148 *(verify)*);
- "same day" (processing time 0) is one working day with a cut-off, 15:00 unless the procedure sets its own
  (national data; Decree 23/2015 Art. 7 for certification): received before the cut-off on a working day →
  due at the end of office hours that day; at or after it, or on a day off → at the end of the next working day;
- the clock stops while a supplement or a financial obligation is awaited: the appointment moves later by
  the working time spent waiting;
- a dossier is early, on time or late by the calendar dates of the end of processing (result ready, `finish`)
  and of the original appointment (hạn gốc, kept when an apology extends it): Decree 61/2018 and docs/domain.md
  "Timeliness"; when the citizen collects the result does not count.
"""

from __future__ import annotations

import time as monotonic_clock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_CEILING, Decimal
from typing import Any, Iterable

# Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving time.
VIETNAM = timezone(timedelta(hours=7))
DEFAULT_HOURS: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
# A calendar covers years, not centuries: walking further than this means bad input, not a deadline.
MAX_DAYS_WALKED = 3 * 366
HOLIDAY, MAKEUP = "holiday", "makeup"
# Units of a processing time, as the national procedure data give them.
WORKING_DAYS, DAYS, HOURS = "working_days", "days", "hours"
UNITS = (WORKING_DAYS, DAYS, HOURS)
# "Same day" procedures: received at or after this hour → the next working day, unless the procedure sets its own.
SAME_DAY_CUTOFF = time(15, 0)


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
    def counting_start(self, received_at: datetime, cutoff: time | None = None) -> datetime:
        """When the clock starts for a dossier received at `received_at` (`cutoff`: the procedure's own)."""
        local = _local(received_at)
        day = local.date()
        if not self.is_working_day(day) or local.time() >= (cutoff or self.effective_cutoff):
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

    def due_at(self, received_at: datetime, processing_days: Decimal | float | int | None,
               unit: str = WORKING_DAYS, cutoff: time | None = None) -> datetime | None:
        """The appointment (ngày hẹn trả kết quả); None when the procedure publishes no duration.

        `processing_days` is the amount in `unit` (working days, days or hours); `cutoff` the procedure's own
        cut-off hour, if it has one."""
        if processing_days is None:
            return None
        amount = Decimal(str(processing_days))
        if amount < 0:
            raise CalendarError("a processing time cannot be negative")
        if unit not in UNITS:
            raise CalendarError(f"unknown unit of processing time: {unit!r}")
        if amount == 0:
            # Same day: one working day with a cut-off (national data; Decree 23/2015 Art. 7).
            start = self.counting_start(received_at, cutoff or SAME_DAY_CUTOFF)
            return self.closing(start.date())
        start = self.counting_start(received_at, cutoff)
        if unit == HOURS:
            return self.add_working_seconds(start, round(amount * 3600))
        if unit == DAYS:
            last = start.date() + timedelta(days=int(amount.to_integral_value(rounding=ROUND_CEILING)))
            return self.closing(last if self.is_working_day(last) else self.next_working_day(last))
        return self.add_working_seconds(start, self.duration_seconds(amount))

    def closing(self, day: date) -> datetime:
        """The end of office hours on `day`."""
        return datetime.combine(day, self.hours[-1][1], VIETNAM)

    def resume(self, due_at: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
        """The appointment after the clock stood still from `paused_at` to `resumed_at`."""
        waited = self.working_seconds_between(paused_at, resumed_at)
        if waited == 0:
            return _local(due_at)
        # Time added from the old appointment: if it ended a period (17:00), the wait continues next morning.
        return self.add_working_seconds(_local(due_at), waited)

    def to_json(self) -> dict[str, Any]:
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
    def from_json(cls, data: dict[str, Any]) -> "WorkingCalendar":
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


def timeliness(finished_at: datetime, due_at: datetime) -> str:
    """trước hạn / đúng hạn / quá hạn, by the calendar dates in Vietnam (docs/domain.md "Deadlines", "Timeliness"):
    `finished_at` is when processing ended (result ready), `due_at` the original appointment (hạn gốc)."""
    finished, due = vietnam_date(finished_at), vietnam_date(due_at)
    return "early" if finished < due else "on_time" if finished == due else "late"


# -- the calendar from the database ----------------------------------------------------------------
# Settings: MOTCUA_WORKING_HOURS ("07:00-11:30,13:30-17:00") and MOTCUA_DEADLINE_CUTOFF ("17:00" by default).
RELOAD_SECONDS = 300
_cache: dict[str, object] = {}


def configured_hours() -> tuple[tuple[time, time], ...]:
    """MOTCUA_WORKING_HOURS, read and checked with the other settings (server/config.py)."""
    from server import config

    return config.current().working_hours or DEFAULT_HOURS


def configured_cutoff() -> time | None:
    from server import config

    return config.current().deadline_cutoff


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
