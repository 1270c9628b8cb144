"""The holiday table (ngày nghỉ lễ, ngày làm bù): loading the shipped file or an announced year's file.

The government announces each year's holidays and swaps, so they are data: `motcua holidays import FILE`
adds or corrects days (matched by date); `motcua seed` loads server/data/holidays.json into an empty table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tortoise.transactions import in_transaction

from server.models import Holiday
from server.workflow.working_time import HOLIDAY, MAKEUP, forget_calendar
from server.resources import DATA_DIR

DEFAULT_HOLIDAYS = DATA_DIR / "holidays.json"


class HolidaysError(ValueError):
    pass


@dataclass(frozen=True)
class HolidaysReport:
    file: str
    added: int
    changed: int
    unchanged: int


def read_holidays(path: Path) -> list[tuple[date, str, str]]:
    """The days of a file: `{"days": [{"day": "2026-02-16", "kind": "holiday"|"makeup", "name": "…"}]}`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise HolidaysError(f"{path}: not a readable JSON file ({error})") from None
    entries = document.get("days") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise HolidaysError(f'{path}: expected an object with a "days" list')
    days: dict[date, tuple[date, str, str]] = {}
    for number, entry in enumerate(entries, 1):
        try:
            day = date.fromisoformat(entry["day"])
            kind, name = entry["kind"], str(entry.get("name", ""))[:200]
        except (TypeError, KeyError, ValueError):
            raise HolidaysError(f"{path}: entry {number} needs a day (YYYY-MM-DD) and a kind") from None
        if kind not in (HOLIDAY, MAKEUP):
            raise HolidaysError(f'{path}: entry {number} ({day}): kind must be "holiday" or "makeup", not {kind!r}')
        if day in days:
            raise HolidaysError(f"{path}: {day} is listed twice")
        if kind == MAKEUP and day.weekday() < 5:
            raise HolidaysError(f"{path}: {day} is a make-up day but falls on a weekday")
        days[day] = (day, kind, name)
    return sorted(days.values())


async def import_holidays(path: Path = DEFAULT_HOLIDAYS) -> HolidaysReport:
    days = read_holidays(path)
    added = changed = unchanged = 0
    async with in_transaction():
        existing = {row.day: row for row in await Holiday.filter(day__in=[day for day, _, _ in days])}
        for day, kind, name in days:
            row = existing.get(day)
            if row is None:
                await Holiday.create(day=day, kind=kind, name=name)
                added += 1
            elif (row.kind, row.name) != (kind, name):
                await Holiday.filter(id=row.id).update(kind=kind, name=name)
                changed += 1
            else:
                unchanged += 1
    forget_calendar()
    return HolidaysReport(str(path), added, changed, unchanged)


async def load_shipped_holidays_if_empty() -> int:
    """Called by `motcua seed`: a new installation starts with the shipped 2025–2027 days."""
    if await Holiday.all().exists():
        return 0
    return (await import_holidays(DEFAULT_HOLIDAYS)).added
