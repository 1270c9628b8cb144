"""Dossier codes (mã hồ sơ): `{receiving agency's identifier code}-{yyMMdd}-{NNNN}`, docs/workflow.md.

NNNN is a daily sequence per agency, taken from one counter row per agency and day with one atomic
`INSERT … ON CONFLICT DO UPDATE … RETURNING` (SQLite ≥ 3.35 and PostgreSQL alike), so two writers never get
the same number. Field devices reserve blocks of numbers from the same counter while online; a receipt issued
offline then already carries its final code. A device without a free number issues a provisional code
(`TAM-…`), which the server replaces by a final code when the dossier syncs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from server.db.sql import placeholders
from server.models import AdministrativeUnit, CodeBlock, Device, Dossier
from server.workflow.working_time import WorkingCalendar

# Provisional codes are clearly marked: "TAM" (tạm, provisional) and never in the official format.
PROVISIONAL_PREFIX = "TAM-"
PROVISIONAL_PATTERN = re.compile(r"^TAM-[A-Za-z0-9.]{1,40}(-[A-Za-z0-9.]{1,40}){0,3}$")
# Numbers per block and how many working days ahead a device holds blocks for (today included).
BLOCK_SIZE = 20
BLOCK_DAYS = 4
# A block is topped up when fewer numbers than this are left for a day.
TOP_UP_BELOW = BLOCK_SIZE // 2


def agency_code(unit: AdministrativeUnit) -> str:
    """The agency's electronic identifier code (Decision 20/2020/QĐ-TTg), e.g. 000.00.01.H57. A unit without
    one gets "MC.{administrative code}": clearly not an official code, and never containing "-"."""
    return unit.agency_code or f"MC.{unit.code}"


def format_code(agency: str, day: date, number: int) -> str:
    return f"{agency}-{day:%y%m%d}-{number:04d}"


@dataclass(frozen=True)
class ParsedCode:
    agency: str
    day: date
    number: int


CODE_PATTERN = re.compile(r"^(?P<agency>[^-\s]{1,32})-(?P<day>[0-9]{6})-(?P<number>[0-9]{4,6})$")


def parse_code(code: object) -> ParsedCode | None:
    match = CODE_PATTERN.match(code) if isinstance(code, str) else None
    if match is None:
        return None
    text = match["day"]
    try:
        day = date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return None
    number = int(match["number"])
    if number < 1 or format_code(match["agency"], day, number) != code:
        return None
    return ParsedCode(match["agency"], day, number)


def is_provisional(code: object) -> bool:
    return isinstance(code, str) and bool(PROVISIONAL_PATTERN.match(code))


async def take_numbers(agency: str, day: date, count: int = 1) -> int:
    """Advance the agency's counter for `day` by `count`; returns the last number taken. One statement, so
    concurrent callers are serialised by the row lock the database takes for the update."""
    connection = get_connection("default")
    sql = (f'INSERT INTO dossier_code_counters ("key", last_number) VALUES ({placeholders(2, conn=connection)}) '
           'ON CONFLICT ("key") DO UPDATE SET last_number = dossier_code_counters.last_number + excluded.last_number '
           "RETURNING last_number")
    rows = await connection.execute_query_dict(sql, [f"{agency}-{day:%y%m%d}", count])
    return int(rows[0]["last_number"])


async def next_code(agency: str, day: date) -> str:
    return format_code(agency, day, await take_numbers(agency, day))


async def used_numbers(agency: str, day: date) -> set[int]:
    prefix = f"{agency}-{day:%y%m%d}-"
    codes = await Dossier.filter(code__startswith=prefix).values_list("code", flat=True)
    return {parsed.number for parsed in map(parse_code, codes) if parsed is not None}


def working_days_ahead(calendar: WorkingCalendar, today: date, count: int) -> list[date]:
    """Today (a field trip may happen on a day off too) and the next working days, `count` days in all."""
    days = [today]
    while len(days) < count:
        days.append(calendar.next_working_day(days[-1]))
    return days


async def reserve_blocks(device_id: str, agency: str, today: date, calendar: WorkingCalendar,
                         *, size: int = BLOCK_SIZE, days: int = BLOCK_DAYS) -> list[dict[str, Any]]:
    """Top up the device's blocks for today and the next working days; return every block of the device for
    this agency from today on, with the numbers already used. Must be called with the device checked."""
    async with in_transaction():
        # One reservation per device at a time: two tabs of one phone never both top up the same day.
        await Device.select_for_update().get(id=device_id)
        for day in working_days_ahead(calendar, today, days):
            blocks = await CodeBlock.filter(device_id=device_id, agency_code=agency, day=day)
            used = await used_numbers(agency, day) if blocks else set()
            free = sum(1 for block in blocks for n in range(block.first_number, block.last_number + 1)
                       if n not in used)
            if free < TOP_UP_BELOW:
                last = await take_numbers(agency, day, size)
                await CodeBlock.create(device_id=device_id, agency_code=agency, day=day,
                                       first_number=last - size + 1, last_number=last)
        blocks = await CodeBlock.filter(device_id=device_id, agency_code=agency, day__gte=today).order_by("day", "id")
        used_by_day = {day: await used_numbers(agency, day) for day in {block.day for block in blocks}}
    answer: list[dict[str, Any]] = []
    for block in blocks:
        taken = sorted(n for n in used_by_day[block.day] if block.first_number <= n <= block.last_number)
        if len(taken) < block.last_number - block.first_number + 1:
            answer.append({"agency_code": block.agency_code, "day": block.day.isoformat(),
                           "first": block.first_number, "last": block.last_number, "used": taken})
    return answer


async def code_problem(device_id: str | None, agency: str, received_day: date, code: str) -> tuple[str, str, str] | None:
    """Why a final code sent by a device cannot be accepted, as (code, Vietnamese, English); None if it can."""
    parsed = parse_code(code)
    reserved = parsed is not None and parsed.day == received_day and device_id is not None and await CodeBlock.filter(
        device_id=device_id, agency_code=parsed.agency, day=parsed.day,
        first_number__lte=parsed.number, last_number__gte=parsed.number).exists()
    # A block reserved before the administrator set the unit's identifier code keeps the agency it was issued with:
    # the citizen's receipt already carries that code.
    if parsed is None or parsed.day != received_day or (parsed.agency != agency and not reserved):
        return ("invalid_code",
                f"Mã hồ sơ {code} không đúng mẫu {agency}-{received_day:%y%m%d}-NNNN của cơ quan và ngày tiếp nhận.",
                f"The dossier code {code} does not match {agency}-{received_day:%y%m%d}-NNNN for this office and day.")
    if not reserved:
        return ("code_not_reserved",
                f"Số {parsed.number:04d} không thuộc dãy số đã cấp cho thiết bị này; hãy dùng mã tạm để máy chủ cấp mã.",
                f"Number {parsed.number:04d} was not reserved for this device; use a provisional code instead.")
    if await Dossier.filter(code=code).exists():
        return ("code_used", f"Mã hồ sơ {code} đã được dùng cho một hồ sơ khác.",
                f"The dossier code {code} is already used by another dossier.")
    return None
