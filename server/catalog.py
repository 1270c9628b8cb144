"""The procedure catalog (danh mục thủ tục hành chính): importing it, versioning it, searching it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.forms import check_form_definition
from server.models import Procedure, ProcedureVersion
from server.vietnamese import fold, nfc

DEFAULT_CATALOG = Path(__file__).parent / "data" / "catalog" / "procedures.json"
LEVELS = ("commune", "district", "province")
ONLINE = ("full", "partial", "none")
REQUIRED_KEYS = ("code", "name", "field", "level", "processing_days", "online", "fee", "documents",
                 "effective_from", "form")


class CatalogError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def load_catalog_file(path: Path) -> list[dict]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError([f"{path}: no such file"]) from None
    except json.JSONDecodeError as error:
        raise CatalogError([f"{path}: not valid JSON (line {error.lineno}: {error.msg})"]) from None
    procedures = document.get("procedures") if isinstance(document, dict) else None
    superseded = document.get("superseded", []) if isinstance(document, dict) else None
    if not isinstance(procedures, list) or not isinstance(superseded, list):
        raise CatalogError([f'{path}: expected an object with a "procedures" list (and optionally a "superseded" list)'])
    problems = []
    for key, entries in (("procedures", procedures), ("superseded", superseded)):
        seen: set[tuple] = set()
        for index, entry in enumerate(entries):
            problems += [f"{key}[{index}] ({entry.get('code', '?') if isinstance(entry, dict) else '?'}): {p}"
                         for p in entry_problems(entry)]
            if isinstance(entry, dict):
                # One version in force per code; superseded versions are told apart by their start date.
                identity = (entry.get("code"),) if key == "procedures" else (entry.get("code"), entry.get("effective_from"))
                if identity in seen:
                    problems.append(f"{key}[{index}]: code {entry.get('code')} appears twice")
                seen.add(identity)
    if problems:
        raise CatalogError(problems)
    # Older versions first, so that the version in force is always the latest one.
    return sorted(superseded, key=lambda entry: entry["effective_from"]) + procedures


def entry_problems(entry: object) -> list[str]:
    if not isinstance(entry, dict):
        return ["not an object"]
    problems = [f"missing {key}" for key in REQUIRED_KEYS if key not in entry]
    if problems:
        return problems
    if entry["level"] not in LEVELS:
        problems.append(f"level must be one of {', '.join(LEVELS)}")
    if entry["online"] not in ONLINE:
        problems.append(f"online must be one of {', '.join(ONLINE)}")
    days = entry["processing_days"]
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, float)) or days < 0):
        problems.append("processing_days must be a number of working days ≥ 0 (or null when not published)")
    try:
        date.fromisoformat(entry["effective_from"])
    except (TypeError, ValueError):
        problems.append("effective_from must be a date YYYY-MM-DD")
    if not isinstance(entry["documents"], list):
        problems.append("documents must be a list")
    problems += [f"form: {p}" for p in check_form_definition(entry["form"])]
    return problems


def content_hash(entry: dict) -> str:
    canonical = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def import_catalog(path: Path = DEFAULT_CATALOG) -> ImportReport:
    """Load or update the catalog; a changed entry becomes a new version, dossiers keep theirs."""
    entries = load_catalog_file(path)
    report = ImportReport()
    async with in_transaction():
        for entry in entries:
            entry = _nfc_tree(entry)
            digest = content_hash(entry)
            procedure = await Procedure.get_or_none(code=entry["code"])
            if procedure is None:
                procedure = await Procedure.create(code=entry["code"], current_version=1, **_summary(entry))
                await ProcedureVersion.create(procedure=procedure, version=1, content=entry, content_hash=digest,
                                              effective_from=date.fromisoformat(entry["effective_from"]))
                report.created.append(entry["code"])
                continue
            if await ProcedureVersion.filter(procedure=procedure, content_hash=digest).exists():
                report.unchanged.append(entry["code"])
                continue
            procedure.current_version += 1
            await ProcedureVersion.create(procedure=procedure, version=procedure.current_version, content=entry,
                                          content_hash=digest,
                                          effective_from=date.fromisoformat(entry["effective_from"]))
            for key, value in _summary(entry).items():
                setattr(procedure, key, value)
            await procedure.save()
            report.new_versions.append(entry["code"])
    return report


def _summary(entry: dict) -> dict:
    return {
        "name": entry["name"],
        "name_folded": fold(entry["name"]),
        "field": entry["field"],
        "level": entry["level"],
        "processing_days": None if entry["processing_days"] is None else Decimal(str(entry["processing_days"])),
        "online": entry["online"],
    }


def _nfc_tree(value):
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, list):
        return [_nfc_tree(item) for item in value]
    if isinstance(value, dict):
        return {key: _nfc_tree(item) for key, item in value.items()}
    return value


async def search_procedures(query: str = "", *, level: str | None = None, limit: int = 50,
                            offset: int = 0) -> tuple[list[Procedure], int]:
    """Every word of the query must appear in the name (diacritics and case ignored), or the code matches."""
    conditions = Q()
    words = fold(query).split()
    if words:
        by_name = Q()
        for word in words:
            by_name &= Q(name_folded__contains=word)
        conditions &= by_name | Q(code=query.strip())
    if level:
        conditions &= Q(level=level)
    queryset = Procedure.filter(conditions)
    total = await queryset.count()
    return await queryset.order_by("name_folded", "code").offset(offset).limit(limit), total


async def current_version(procedure: Procedure) -> ProcedureVersion:
    return await ProcedureVersion.get(procedure=procedure, version=procedure.current_version)


async def procedure_version(procedure: Procedure, version: int) -> ProcedureVersion | None:
    return await ProcedureVersion.get_or_none(procedure=procedure, version=version)
