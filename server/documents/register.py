"""The dossier register (sổ theo dõi hồ sơ, form 07 of Circular 03/2025/TT-VPCP): a unit's dossiers received in a
period, in the order of their register numbers (số thứ tự: one book per unit and year, gapless, given by the server
when the reception is written: server/workflow/register_numbers.py, docs/workflow.md "Register numbers")."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone

from server.accounts import access
from server.documents.context import VIETNAM, applicant_of, commune_places, short_date, vi_date
from server.dossiers.records import STATUS_NAMES
from server.web.errors import ApiError
from server.models import AdministrativeUnit, Dossier

MAX_DAYS = 366  # one register is at most a year: a bigger one is a statistics question, not a printout
MAX_ROWS = 20_000


@dataclass
class RegisterRow:
    number: str  # số thứ tự in the unit's book of that year; empty for a dossier another unit received and forwarded
    code: str
    procedure: str
    applicant: str
    contact: str
    received: str
    due: str
    returned: str
    status: str


def parse_period(raw_from: str | None, raw_to: str | None, today: date) -> tuple[date, date]:
    """?from=&to= as YYYY-MM-DD (both included); by default the current month up to today."""
    try:
        start = date.fromisoformat(raw_from) if raw_from else today.replace(day=1)
        end = date.fromisoformat(raw_to) if raw_to else today
    except ValueError:
        raise ApiError(400, "invalid_date", "Ngày không hợp lệ: hãy nhập theo dạng năm-tháng-ngày, ví dụ 2026-11-25.",
                       "Invalid date: use year-month-day, e.g. 2026-11-25.") from None
    if end < start:
        raise ApiError(400, "invalid_period", "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu.",
                       "The end date must not be before the start date.")
    if (end - start).days >= MAX_DAYS:
        raise ApiError(400, "period_too_long", "Mỗi lần in sổ tối đa 366 ngày. Hãy chọn khoảng ngắn hơn.",
                       "A register covers at most 366 days. Choose a shorter period.")
    return start, end


async def register_rows(unit: AdministrativeUnit, start: date, end: date) -> list[RegisterRow]:
    """Dossiers received by the unit, or handled by it after a transfer, between two dates in Vietnam time."""
    # In UTC: SQLite compares the stored text, which is UTC, so the bounds must be written the same way.
    since = datetime.combine(start, time.min, VIETNAM).astimezone(timezone.utc)
    until = datetime.combine(end + timedelta(days=1), time.min, VIETNAM).astimezone(timezone.utc)
    dossiers = await (Dossier.filter(access.unit_dossiers(unit.id),
                                     received_at__gte=since, received_at__lt=until)
                      .select_related("procedure_version__procedure", "owner")
                      .order_by("received_at", "code").limit(MAX_ROWS))
    rows = []
    # The book's own lines in their order, then the dossiers other units forwarded here (liên thông), by reception.
    own = sorted((d for d in dossiers if d.unit_id == unit.id and d.register_number is not None),
                 key=lambda d: (d.register_year or 0, d.register_number or 0))
    others = [d for d in dossiers if not (d.unit_id == unit.id and d.register_number is not None)]
    places = await commune_places(own + others)
    for dossier in own + others:
        person = applicant_of(dossier, places)
        own_line = dossier.unit_id == unit.id and dossier.register_number is not None
        rows.append(RegisterRow(
            number=str(dossier.register_number) if own_line else "",
            code=dossier.code or "", procedure=str(dossier.procedure_version.content.get("name")
                                                   or dossier.procedure_version.procedure.name),
            applicant=person.name, contact=", ".join(part for part in (person.address, person.phone) if part),
            received=short_date(dossier.received_at), due=short_date(dossier.due_at),
            returned=short_date(dossier.returned_at), status=STATUS_NAMES[dossier.status][0]))
    return rows


def period_text(start: date, end: date) -> tuple[str, str]:
    return vi_date(start), vi_date(end)


CSV_HEADER = ["Số thứ tự", "Mã hồ sơ", "Tên thủ tục hành chính", "Tên cá nhân, tổ chức", "Địa chỉ, số điện thoại",
              "Nhận hồ sơ", "Hẹn trả kết quả", "Trả kết quả", "Trạng thái"]


def register_csv(rows: list[RegisterRow]) -> str:
    """UTF-8 with a byte-order mark, so that Excel on an office PC opens the Vietnamese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([_cell(value) for value in asdict(row).values()])
    return "\ufeff" + buffer.getvalue()


def _cell(value: str) -> str:
    """A cell starting with = + - @ would run as a formula in a spreadsheet: quote it."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
