"""Reading a province's decision annex list (danh mục TTHC kèm quyết định công bố): CSV or XLSX.

Columns: code, name, field, level, time (processing_time), fee, decision; optional decision_date, formality_id.
An entry known only from a list is published with what is known and marked `"incomplete": true`.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

from server.catalog.cleaning import EARLIEST, Problems, clean_code, clean_text, limited
from server.catalog.generic import with_generic_form
from server.workflow.working_time import DAYS, HOURS, WORKING_DAYS

MAX_FILE_BYTES = 20_000_000
MAX_ROWS = 20_000
COLUMNS = {"code": ("code", "mã", "mã số", "ma"), "name": ("name", "tên", "tên thủ tục", "ten"),
           "field": ("field", "lĩnh vực", "linhvuc"), "level": ("level", "cấp", "cấp thực hiện", "cap"),
           "time": ("processing_time", "time", "thời hạn", "thời hạn giải quyết"),
           "fee": ("fee", "phí", "lệ phí", "phí, lệ phí"), "decision": ("decision", "quyết định", "quyết định công bố"),
           "decision_date": ("decision_date", "ngày quyết định"), "formality_id": ("formality_id",),
           "status": ("status",), "source": ("source",)}
LEVELS = {"xã": ("commune", None), "xã / điểm tiếp nhận cấp xã": ("commune", None), "cấp xã": ("commune", None),
          "cấp tỉnh - tiếp nhận tại trung tâm pvhcc cấp xã": ("province", "commune"),
          "cấp tỉnh": ("province", None), "tỉnh": ("province", None)}
_TIME = re.compile(r"(\d+(?:[.,]\d+)?)\s*(ngày làm việc|ngày|giờ làm việc|giờ)", re.IGNORECASE)
_TIME_UNITS = {"ngày làm việc": WORKING_DAYS, "ngày": DAYS, "giờ làm việc": HOURS, "giờ": HOURS}


def read_list(path: Path, *, effective_from: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    from server.catalog.procedures import CatalogError

    rows = _rows(path)
    header = [clean_text(cell, "header", Problems(str(path)), one_line=True).lower() for cell in (rows[0] if rows else [])]
    columns: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for index, title in enumerate(header):
            if title in names and key not in columns:
                columns[key] = index
    missing = [key for key in ("code", "name") if key not in columns]
    if missing:
        raise CatalogError([f"{path}: header row lacks the column(s) {', '.join(missing)} (found {header[:12]})"])
    if len(rows) - 1 > MAX_ROWS:
        raise CatalogError([f"{path}: {len(rows) - 1} rows (at most {MAX_ROWS})"])
    known = set(columns.values())
    entries: list[dict[str, Any]] = []
    refused: list[str] = []
    notes: list[str] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(cell or "").strip() for cell in row):
            continue
        problems = Problems(f"{path.name} row {number} ({str(row[columns['code']] if len(row) > columns['code'] else '?')[:32]})")
        entry = _entry(row, columns, problems, effective_from)
        extra = [header[i] for i, cell in enumerate(row) if i not in known and i < len(header) and str(cell or "").strip()]
        if extra:
            problems.note("columns", f"not mapped: {', '.join(extra)}")
        refused += problems.refused
        notes += problems.notes
        if problems.refused:
            continue
        if entry["code"] in seen:
            refused.append(f"{path.name} row {number}: code {entry['code']} is also on row {seen[entry['code']]}")
            continue
        seen[entry["code"]] = number
        entries.append(entry)
    if refused:
        raise CatalogError(refused)
    return entries, notes


def _rows(path: Path) -> list[list[Any]]:
    from server.catalog.procedures import CatalogError

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogError([f"{path}: larger than {MAX_FILE_BYTES} bytes"])
        data = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError([f"{path}: no such file"]) from None
    if path.suffix.lower() == ".xlsx":
        return _xlsx_rows(path, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CatalogError([f"{path}: not UTF-8 (byte {error.start})"]) from None
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise CatalogError([f"{path}: not a CSV file ({error})"]) from None


def _xlsx_rows(path: Path, data: bytes) -> list[list[Any]]:
    from server.catalog.procedures import CatalogError

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError, ValueError… on a broken workbook
        raise CatalogError([f"{path}: not a readable .xlsx workbook ({type(error).__name__})"]) from None
    sheet = book.worksheets[0]
    rows = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    # A title row ("DANH SÁCH THỦ TỤC HÀNH CHÍNH") may come before the header: start at the row naming a code column.
    for index, row in enumerate(rows[:20]):
        if any(cell.strip().lower() in COLUMNS["code"] for cell in row):
            return rows[index:]
    return rows


def _cell(row: list[Any], columns: dict[str, int], key: str) -> Any:
    index = columns.get(key)
    return row[index] if index is not None and index < len(row) else ""


def _entry(row: list[Any], columns: dict[str, int], problems: Problems, effective_from: str | None) -> dict[str, Any]:
    def text(key: str, one_line: bool = True) -> str:
        return clean_text(_cell(row, columns, key), key, problems, one_line=one_line)

    code = clean_code(_cell(row, columns, "code"), "code", problems)
    name = limited(text("name"), 5000, "name", problems)
    if not name:
        problems.refuse("name", "missing")
    level_text = text("level")
    level, received_at = LEVELS.get(level_text.lower(), ("commune", None))
    if level_text.lower() not in LEVELS:
        problems.note("level", f"{level_text[:60]!r} not recognised: taken as commune" if level_text
                      else "empty: taken as commune")
    time_text = text("time")
    days: float | int | None = None
    unit = WORKING_DAYS
    match = _TIME.fullmatch(time_text) if time_text else None
    if match:
        number = float(match.group(1).replace(",", "."))
        days = int(number) if number.is_integer() else number
        unit = _TIME_UNITS[match.group(2).lower()]
    elif time_text:
        problems.note("processing_time", f"{time_text[:60]!r} kept as text only")
    fee_text = text("fee")
    status = text("status")
    if status and status.lower() != "active":
        problems.note("status", f"{status[:40]!r}: imported as in force")
    start = effective_from or _date(text("decision_date"), problems) or EARLIEST.isoformat()
    decisions = [d.strip() for d in text("decision").split(";") if d.strip()]
    entry: dict[str, Any] = {
        "code": code, "name": name, "field": limited(text("field") or "Khác", 1000, "field", problems),
        "level": level, "agency": "", "processing_days": days, "processing_unit": unit,
        "processing_note": time_text, "online": "unknown", "fee": {"amount_vnd": None, "note": fee_text},
        "documents": [], "legal_basis": [], "decision": "; ".join(decisions),
        "effective_from": start, "effective_to": None,
        "formality_id": text("formality_id") or None, "incomplete": True, "source_format": "list", "form": None,
    }
    if text("source"):
        entry["sources"] = [text("source")]
    if received_at:
        entry["received_at"] = received_at
    return with_generic_form(entry)


def _date(text: str, problems: Problems) -> str | None:
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        day = date(int(match.group(3)), int(match.group(2)), int(match.group(1))) if match else date.fromisoformat(text)
    except ValueError:
        problems.note("decision_date", f"{text[:40]!r} is not a date")
        return None
    return max(day, EARLIEST).isoformat()
