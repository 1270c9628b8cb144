"""Administrative units (đơn vị hành chính) as dated data: the number of levels is data, not code."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.models import AdministrativeUnit, UnitSuccessor
from server.vietnamese import fold, nfc
from server.resources import DATA_DIR

UNITS_DIR = DATA_DIR / "units"
# Loaded by `motcua seed` in this order: the older structure, the current one, then the mapping.
DEFAULT_FILES = ("vinhphuc-2008.json", "phutho-2025.json", "mapping-vinhphuc-2025.json")


# The electronic identifier code of an agency (mã định danh điện tử, Decision 20/2020/QĐ-TTg), which the dossier
# code starts with: four groups separated by dots, from the lowest level to the highest, "000.00.12.H56": 3 digits
# (level 4), 2 digits (level 3), 2 digits (level 2), then a capital letter and 2 digits (level 1, the ministry or
# province); zeros where a level is not used. Only this shape is checked: docs/workflow.md "Dossier codes".
AGENCY_CODE_PATTERN = re.compile(r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$")


def normalise_agency_code(value: object) -> str | None:
    """An identifier code as typed (spaces around it, a lower-case letter) in its stored form; None if the text is
    not one."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    return text if AGENCY_CODE_PATTERN.match(text) else None


class UnitsError(Exception):
    pass


@dataclass
class UnitsReport:
    file: str
    units: int = 0
    links: int = 0


def _read(path: Path) -> Any:
    """The file's JSON value; its shape is checked by the caller."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnitsError(f"{path}: no such file") from None
    except json.JSONDecodeError as error:
        raise UnitsError(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from None


async def import_units_file(path: Path) -> UnitsReport:
    document = _read(path)
    if "communes" in document and "from" in document:
        return await _import_mapping(path, document)
    if not isinstance(document.get("units"), list) or "valid_from" not in document:
        raise UnitsError(f'{path}: expected "valid_from" and a "units" list (see server/data/README.md)')
    valid_from = date.fromisoformat(document["valid_from"])
    valid_to = date.fromisoformat(document["valid_to"]) if document.get("valid_to") else None
    report = UnitsReport(file=path.name)
    by_code: dict[str, AdministrativeUnit] = {}
    async with in_transaction():
        for entry in document["units"]:
            parent = by_code.get(entry["parent"]) if entry.get("parent") else None
            if entry.get("parent") and parent is None:
                parent = await AdministrativeUnit.get_or_none(code=entry["parent"], valid_from=valid_from)
                if parent is None:
                    raise UnitsError(f"{path}: unit {entry['code']} names parent {entry['parent']}, "
                                     "which is not listed before it")
            values = {"name": nfc(entry["name"]), "name_folded": fold(entry["name"]), "kind": entry.get("kind", ""),
                      "level": entry["level"], "parent": parent, "valid_to": valid_to,
                      "agency_code": _agency_code(path, entry)}
            unit, _ = await AdministrativeUnit.update_or_create(values, code=entry["code"], valid_from=valid_from)
            by_code[entry["code"]] = unit
            report.units += 1
    return report


def _agency_code(path: Path, entry: dict[str, Any]) -> str | None:
    """The optional "agency_code" of a unit (mã định danh điện tử, Decision 20/2020/QĐ-TTg), e.g. "000.00.12.H56"."""
    raw = entry.get("agency_code")
    if raw is None or raw == "":
        return None
    code = normalise_agency_code(raw)
    if code is None:
        raise UnitsError(f"{path}: unit {entry['code']}: agency_code {raw!r} is not an identifier code like "
                         "000.00.12.H56 (Decision 20/2020/QĐ-TTg: 3 digits, 2 digits, 2 digits, a letter and 2 digits)")
    return code


async def _import_mapping(path: Path, document: dict[str, Any]) -> UnitsReport:
    old_from = date.fromisoformat(_read(path.parent / f"{document['from']}.json")["valid_from"])
    new_from = date.fromisoformat(_read(path.parent / f"{document['to']}.json")["valid_from"])
    report = UnitsReport(file=path.name)
    async with in_transaction():
        for old_code, new_code in document["communes"].items():
            old = await AdministrativeUnit.get_or_none(code=old_code, valid_from=old_from)
            new = await AdministrativeUnit.get_or_none(code=new_code, valid_from=new_from)
            if old is None or new is None:
                raise UnitsError(f"{path}: {old_code} → {new_code}: import both unit files first")
            await UnitSuccessor.get_or_create(old_unit=old, new_unit=new)
            report.links += 1
    return report


async def units_in_force(on: date, level: str | None = None) -> list[AdministrativeUnit]:
    query = AdministrativeUnit.filter(Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)))
    if level:
        query = query.filter(level=level)
    return await query.order_by("code")


async def commune_exists(code: str, on: date | None = None) -> bool:
    """A commune-level unit with this code, in force today or on `on` (old codes stay valid on old records)."""
    query = AdministrativeUnit.filter(code=code, level="commune")
    if on is not None:
        query = query.filter(Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)))
    return await query.exists()
