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
    if not isinstance(procedures, list):
        raise CatalogError([f'{path}: expected an object with a "procedures" list'])
    problems = []
    seen: set[str] = set()
    for index, entry in enumerate(procedures):
        problems += [f"procedures[{index}] ({entry.get('code', '?') if isinstance(entry, dict) else '?'}): {p}"
                     for p in entry_problems(entry)]
        if isinstance(entry, dict) and entry.get("code") in seen:
            problems.append(f"procedures[{index}]: code {entry['code']} appears twice")
        if isinstance(entry, dict):
            seen.add(entry.get("code"))
    if problems:
        raise CatalogError(problems)
    return procedures


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
    if not isinstance(entry["processing_days"], (int, float)) or entry["processing_days"] < 0:
        problems.append("processing_days must be a number of working days ≥ 0")
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
            latest = await ProcedureVersion.get(procedure=procedure, version=procedure.current_version)
            if latest.content_hash == digest:
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
        "processing_days": Decimal(str(entry["processing_days"])),
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
