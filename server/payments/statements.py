"""Reading a unit's bank statement: the credit lines (money in), each with its date, amount, note and reference.

Two formats (docs/payments.md "Statements"):

- **CSV as Vietnamese banks export it**: UTF-8 (with or without BOM) or UTF-16 with BOM; comma, semicolon or tab;
  any rows of account details before the header row, which is found by its column names (Vietnamese or English,
  diacritics and case ignored; `COLUMNS`). Amounts as banks write them: "1.500.000", "1,500,000", "1500000",
  "1.500.000,00" (VND has no decimals: a non-zero fraction is refused). Dates dd/mm/yyyy (with an optional time) or
  yyyy-mm-dd. A line with no credit (a debit) is skipped.
- **ISO 20022 camt.053** (BankToCustomerStatement), any version: each `Ntry` with `CdtDbtInd` CRDT, its `Amt`
  (currency VND), `BookgDt`/`ValDt`, `AcctSvcrRef` or `NtryRef`, and the remittance text (`Ustrd`, else
  `AddtlNtryInf`). Parsed with defusedxml: a document type declaration or an entity (billion laughs, external
  entities) is refused, not expanded.

Anything malformed raises `StatementError` with a message saying what to fix; nothing is half-read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]  # no stubs published
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

from server.vietnamese import fold

MAX_BYTES = 5 * 1024 * 1024  # a month of a commune's statement is a few hundred lines
MAX_LINES = 20_000
MAX_NOTE = 500


class StatementError(ValueError):
    """A statement that cannot be read: `vi` and `en` say what to fix."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


@dataclass(frozen=True)
class Line:
    """A credit line: money received on the unit's account."""

    booked_on: date
    amount_vnd: int
    note: str
    reference: str

    def key(self, occurrence: int) -> str:
        """Who this line is across imports: the bank's reference, else its content and how many identical lines
        came before it in the file (two equal transfers on one day are two lines)."""
        if self.reference:
            return "ref:" + hashlib.sha256(self.reference.encode()).hexdigest()[:56]
        text = f"{self.booked_on.isoformat()}|{self.amount_vnd}|{self.note}|{occurrence}"
        return "sum:" + hashlib.sha256(text.encode()).hexdigest()[:56]


# Column → the header names accepted, folded (server/vietnamese.py fold: no diacritics, lower case).
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("ngay giao dich", "ngay gd", "ngay hieu luc", "ngay hach toan", "ngay", "transaction date",
             "posting date", "value date", "date"),
    "credit": ("so tien ghi co", "ghi co", "phat sinh co", "so tien co", "co", "credit", "credit amount"),
    "amount": ("so tien", "so tien giao dich", "amount"),
    "note": ("noi dung giao dich", "noi dung", "dien giai", "mo ta", "noi dung chi tiet", "description",
             "transaction details", "remark", "details"),
    "reference": ("so tham chieu", "ma giao dich", "so but toan", "ma gd", "so ct", "reference", "ref",
                  "transaction id", "reference number"),
}


def _text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError("Tệp sao kê phải là CSV mã UTF-8 (hoặc UTF-16). Hãy xuất lại từ ngân hàng dạng CSV "
                             "UTF-8.", "The statement must be a UTF-8 (or UTF-16) CSV file: export it again.") \
            from None


def amount_of(text: str) -> int | None:
    """"1.500.000", "1,500,000.00", "1500000 VND" → 1500000; "" → None; anything else raises StatementError."""
    cleaned = re.sub(r"(?i)\s|vnd|đ|₫", "", text)
    if cleaned in ("", "-", "0"):
        return None if cleaned != "0" else 0
    match = re.fullmatch(r"\+?(\d{1,3}(?:([.,])\d{3}(?:\2\d{3})*)?|\d+)(?:([.,])(\d{1,2}))?", cleaned)
    if not match or (match.group(2) and match.group(3) == match.group(2)):
        raise StatementError(f"Số tiền không đọc được: «{text[:40]}». Hãy ghi số tiền như 1.500.000.",
                             f"Unreadable amount: {text[:40]!r}. Write amounts like 1.500.000.")
    if match.group(4) and int(match.group(4)) != 0:
        raise StatementError(f"Số tiền có phần lẻ dưới một đồng: «{text[:40]}».",
                             f"Amount with a fraction of a đồng: {text[:40]!r}.")
    whole = re.sub(r"[.,]", "", match.group(1))
    if len(whole) > 13:
        raise StatementError(f"Số tiền quá lớn: «{text[:40]}».", f"Amount too large: {text[:40]!r}.")
    return int(whole)


def date_of(text: str) -> date:
    text = text.strip()
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d/%m/%y"):
        try:
            return datetime.strptime(text.split(" ")[0].split("T")[0], pattern).date()
        except ValueError:
            continue
    raise StatementError(f"Ngày giao dịch không đọc được: «{text[:40]}». Hãy ghi ngày dạng 25/11/2026.",
                         f"Unreadable date: {text[:40]!r}. Write dates as 25/11/2026.")


def _header(row: list[str]) -> dict[str, int] | None:
    folded = [fold(cell).strip(" :*") for cell in row]
    found: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for index, cell in enumerate(folded):
            if cell in names and index not in found.values():
                found[column] = index
                break
    if "date" in found and "note" in found and ("credit" in found or "amount" in found):
        return found
    return None


def _header_at(text: str) -> tuple[str, int, dict[str, int]] | None:
    """The separator, row number and columns of the header: the first of the first 40 rows that names a date, a
    note and a credit (or amount) column, trying each separator (the account details above it often have another
    number of cells, which defeats guessing the separator from the whole)."""
    for delimiter in (",", ";", "\t"):
        rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        for number, row in enumerate(rows, start=1):
            columns = _header(row)
            if columns is not None:
                return delimiter, number, columns
            if number >= 40:
                break
    return None


def read_csv(data: bytes) -> list[Line]:
    text = _text(data)
    if "\x00" in text:
        raise StatementError("Tệp sao kê có ký tự không hợp lệ.", "The statement holds invalid characters.")
    try:
        found = _header_at(text)
        if found is None:
            raise StatementError("Không tìm thấy dòng tiêu đề cột (Ngày giao dịch, Số tiền ghi có, Nội dung giao "
                                 "dịch…). Hãy xuất sao kê dạng CSV có dòng tiêu đề.",
                                 "No header row found (transaction date, credit, description…): export the "
                                 "statement as CSV with its header row.")
        delimiter, header_row, columns = found
        lines: list[Line] = []
        for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
            if number <= header_row or not any(cell.strip() for cell in row):
                continue
            lines.append(_csv_line(row, columns, number))
            if len(lines) > MAX_LINES:
                raise StatementError(f"Sao kê dài quá {MAX_LINES} dòng; hãy chia theo tháng.",
                                     f"More than {MAX_LINES} lines: split the statement by month.")
    except csv.Error as error:
        raise StatementError("Tệp CSV không đúng định dạng.", f"Malformed CSV: {error}.") from None
    return [line for line in lines if line.amount_vnd > 0]


def _csv_line(row: list[str], columns: dict[str, int], number: int) -> Line:
    def cell(name: str) -> str:
        index = columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    try:
        if "credit" in columns:
            amount = amount_of(cell("credit")) or 0
        else:
            raw = cell("amount")
            amount = 0 if raw.strip().startswith("-") else (amount_of(raw) or 0)
        return Line(date_of(cell("date")), amount, cell("note")[:MAX_NOTE], cell("reference")[:128])
    except StatementError as error:
        raise StatementError(f"Dòng {number}: {error.vi}", f"Row {number}: {error.en}") from None


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _find(element: Element, *path: str) -> Element | None:
    current: Element | None = element
    for name in path:
        current = next((child for child in current if _local(child) == name), None) if current is not None else None
    return current


def _all(element: Element, name: str) -> list[Element]:
    return [node for node in element.iter() if _local(node) == name]


def read_camt053(data: bytes) -> list[Line]:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as error:
        raise StatementError("Tệp XML không đọc được (sai định dạng hoặc có khai báo DTD, thực thể không được "
                             "phép). Hãy xuất lại sao kê camt.053 từ ngân hàng.",
                             f"Unreadable XML (malformed, or a forbidden DTD or entity): {error}.") from None
    if _local(root) != "Document" or not _all(root, "BkToCstmrStmt"):
        raise StatementError("Tệp XML không phải sao kê tài khoản dạng camt.053; hãy xuất lại sao kê từ ngân hàng.",
                             "The XML is not an ISO 20022 camt.053 statement (BkToCstmrStmt).")
    lines: list[Line] = []
    for entry in _all(root, "Ntry"):
        indicator = _find(entry, "CdtDbtInd")
        if indicator is None or (indicator.text or "").strip() != "CRDT":
            continue
        status = _find(entry, "Sts")
        if status is not None and ((status.text or "").strip() or _text_of(_find(status, "Cd"))) not in ("BOOK", ""):
            continue  # pending or informational entries are not money received yet
        amount = _find(entry, "Amt")
        if amount is None or (amount.get("Ccy") or "VND") != "VND":
            raise StatementError("Giao dịch trong sao kê không phải bằng đồng Việt Nam (VND).",
                                 "A statement entry is not in VND.")
        # Elements without children are falsy: look for the first one present, not the first truthy one.
        booked = next((found for found in (_find(entry, "BookgDt", "Dt"), _find(entry, "BookgDt", "DtTm"),
                                           _find(entry, "ValDt", "Dt")) if found is not None), None)
        if booked is None:
            raise StatementError("Giao dịch trong sao kê thiếu ngày ghi sổ (BookgDt).",
                                 "A statement entry has no booking date (BookgDt).")
        notes = [_text_of(node) for node in _all(entry, "Ustrd")] or [_text_of(_find(entry, "AddtlNtryInf"))]
        reference = _text_of(_find(entry, "AcctSvcrRef")) or _text_of(_find(entry, "NtryRef"))
        value = amount_of(amount.text or "")
        lines.append(Line(date_of(booked.text or ""), value or 0, " ".join(notes).strip()[:MAX_NOTE],
                          reference[:128]))
        if len(lines) > MAX_LINES:
            raise StatementError(f"Sao kê dài quá {MAX_LINES} dòng; hãy chia theo tháng.",
                                 f"More than {MAX_LINES} lines: split the statement by month.")
    return [line for line in lines if line.amount_vnd > 0]


def _text_of(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def read_statement(data: bytes) -> list[Line]:
    """The credit lines of a statement, CSV or camt.053 XML (told apart by the content, not the file name)."""
    if len(data) > MAX_BYTES:
        raise StatementError("Tệp sao kê lớn quá 5 MB; hãy chia theo tháng.",
                             "The statement is larger than 5 MB: split it by month.")
    if not data.strip():
        raise StatementError("Tệp sao kê trống.", "The statement is empty.")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5]
    return read_camt053(data) if head.startswith(b"<") else read_csv(data)
