"""The procedure catalog (danh mục thủ tục hành chính): importing it, versioning it, searching it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.catalog.fees import rule_problems
from server.catalog.forms import check_form_definition
from server.catalog.generic import GENERIC
from server.catalog.search import query_words, rank
from server.workflow.working_time import UNITS, WORKING_DAYS
from server.models import Procedure, ProcedureVersion
from server.vietnamese import fold, nfc
from server.resources import DATA_DIR

DEFAULT_CATALOG = DATA_DIR / "catalog" / "procedures.json"
LEVELS = ("commune", "district", "province")
ONLINE = ("full", "partial", "none", "unknown")  # unknown: a list row that does not say (docs/catalog.md)
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
    kept: list[str] = field(default_factory=list)  # a list row for a procedure the catalog already has in detail
    notes: list[str] = field(default_factory=list)  # what the reader could not map, per record (docs/catalog.md)


def load_catalog_file(path: Path) -> list[dict[str, Any]]:
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
        seen: set[tuple[Any, ...]] = set()
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
    # Optional: the unit of the processing time and the procedure's own cut-off hour (national data).
    if entry.get("processing_unit", WORKING_DAYS) not in UNITS:
        problems.append(f"processing_unit must be one of {', '.join(UNITS)}")
    if not isinstance(entry.get("on_the_spot", False), bool):
        problems.append("on_the_spot must be true or false")
    if entry.get("cutoff") is not None and not _is_hour(entry["cutoff"]):
        problems.append('cutoff must be an hour "HH:MM" (or null)')
    # Optional: who handles it when not the one-stop centre's own body: "police" → the police's forms CT04–CT06
    # are printed instead of forms 01–03 (Circular 66/2023/TT-BCA, docs/documents.md).
    # Optional: a province procedure received at the commune's one-stop centre (tiếp nhận tại cấp xã).
    if entry.get("received_at") not in (None, "commune"):
        problems.append('received_at must be "commune" (or absent)')
    if entry.get("handled_by") not in (None, "police"):
        problems.append('handled_by must be "police" (or absent)')
    try:
        date.fromisoformat(entry["effective_from"])
    except (TypeError, ValueError):
        problems.append("effective_from must be a date YYYY-MM-DD")
    if not isinstance(entry["documents"], list):
        problems.append("documents must be a list")
    # Optional: the declaration (tờ khai, đơn) that the procedure's own form fills in, so the app asks no photo of it
    # (docs/catalog.md "Documents"). Only a hand-written form is the declaration: the generic one is not.
    elif any(isinstance(d, dict) and d.get("declaration") not in (None, True, False) for d in entry["documents"]):
        problems.append("a document's declaration must be true or false")
    # Optional: a document shown at the desk (xuất trình: an identity card, the original of a copy), not attached, so
    # submit does not ask for its pages (server/workflow/policy.py missing_documents).
    elif any(isinstance(d, dict) and d.get("presented") not in (None, True, False) for d in entry["documents"]):
        problems.append("a document's presented must be true or false")
    elif entry.get("form_kind") == GENERIC and any(isinstance(d, dict) and d.get("declaration")
                                                     for d in entry["documents"]):
        problems.append("declaration needs the procedure's own form (the generic form does not fill the declaration)")
    problems += rule_problems(entry["fee"])  # fee rules per channel (server/catalog/fees.py)
    problems += [f"form: {p}" for p in check_form_definition(entry["form"])]
    return problems


def _is_hour(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 5:
        return False
    try:
        time.fromisoformat(value)
    except ValueError:
        return False
    return True


def content_hash(entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


FORMATS = ("motcua", "dvcqg", "list")


def read_entries(path: Path, fmt: str = "motcua", *,
                 effective_from: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The entries of a catalog file in one of FORMATS, checked, and what was reported while reading them."""
    if fmt == "dvcqg":
        from server.catalog.dvcqg import read_dvcqg
        entries, notes = read_dvcqg(path, effective_from=effective_from)
    elif fmt == "list":
        from server.catalog.lists import read_list
        entries, notes = read_list(path, effective_from=effective_from)
    elif fmt == "motcua":
        return load_catalog_file(path), []
    else:
        raise CatalogError([f"unknown format {fmt} (one of {', '.join(FORMATS)})"])
    problems = [f"{entry['code']}: {p}" for entry in entries for p in entry_problems(entry)]
    if problems:
        raise CatalogError(problems)
    return entries, notes


async def import_catalog(path: Path = DEFAULT_CATALOG, fmt: str = "motcua", *,
                         effective_from: str | None = None) -> ImportReport:
    """Load or update the catalog; a changed entry becomes a new version, dossiers keep theirs."""
    entries, notes = read_entries(path, fmt, effective_from=effective_from)
    report = await import_entries(entries)
    report.notes = notes
    return report


async def import_entries(entries: list[dict[str, Any]]) -> ImportReport:
    """Import entries in a few statements whatever their number: the procedures and version hashes of their codes
    are read at once, the new procedures and versions written in batches (seeding a commune's ~260 procedures
    is part of many tests' setup: one query per entry made it seconds)."""
    report = ImportReport()
    entries = [_nfc_tree(entry) for entry in entries]
    codes = list(dict.fromkeys(entry["code"] for entry in entries))
    async with in_transaction():
        existing: dict[str, Procedure] = {}
        for chunk in _chunks(codes):
            existing.update((p.code, p) for p in await Procedure.filter(code__in=chunk))
        hashes: dict[str, set[str]] = {code: set() for code in codes}
        contents: dict[str, dict[str, Any]] = {}  # the version in force's content, per code
        by_id = {p.id: p for p in existing.values()}
        for chunk in _chunks(list(by_id)):
            # Every version of these procedures (a catalog's procedures have few): their hashes tell an unchanged
            # entry (any version, as one by one before), the one in force is what a new entry merges over.
            for version in await ProcedureVersion.filter(procedure_id__in=chunk):
                owner = by_id[version.procedure_id]
                hashes[owner.code].add(version.content_hash)
                if version.version == owner.current_version:
                    contents[owner.code] = version.content
        created: dict[str, Procedure] = {}
        versions: list[tuple[str, int, dict[str, Any], str]] = []  # code, number, content, hash
        changed: dict[str, Procedure] = {}
        for entry in entries:
            code = entry["code"]
            procedure = existing.get(code) or created.get(code)
            if procedure is not None:
                merged = _merged(entry, contents[code])
                if merged is None:
                    report.kept.append(code)
                    continue
                entry = merged
            digest = content_hash(entry)
            if procedure is None:
                created[code] = Procedure(code=code, current_version=1, **_summary(entry))
                report.created.append(code)
            elif digest in hashes[code]:
                report.unchanged.append(code)
                continue
            else:
                procedure.current_version += 1
                for key, value in _summary(entry).items():
                    setattr(procedure, key, value)
                if code in existing:
                    changed[code] = procedure
                report.new_versions.append(code)
            hashes[code].add(digest)
            contents[code] = entry
            versions.append((code, (existing.get(code) or created[code]).current_version, entry, digest))
        if created:
            await Procedure.bulk_create(list(created.values()), batch_size=200)
            for chunk in _chunks(list(created)):
                for procedure in await Procedure.filter(code__in=chunk):
                    created[procedure.code] = procedure
        for procedure in changed.values():
            await procedure.save()
        ids = {code: procedure.id for code, procedure in {**existing, **created}.items()}
        if versions:
            await ProcedureVersion.bulk_create([
                ProcedureVersion(procedure_id=ids[code], version=number, content=entry, content_hash=digest,
                                 effective_from=date.fromisoformat(entry["effective_from"]))
                for code, number, entry, digest in versions], batch_size=200)
    return report


def _chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _merged(entry: dict[str, Any], current: dict[str, Any]) -> dict[str, Any] | None:
    """An imported entry over the version in force: a list row does not replace details (None: keep the current
    version); a generated form does not replace a hand-written one; what only a list knew is carried over."""
    if entry.get("incomplete") and not current.get("incomplete"):
        return None
    if entry.get("form_kind") == GENERIC and current.get("form_kind") != GENERIC and current.get("form"):
        entry = {key: value for key, value in entry.items() if key != "form_kind"}
        entry["form"] = current["form"]
    for key in ("received_at", "handled_by"):
        if key in current and key not in entry:
            entry = {**entry, key: current[key]}
    return entry


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    # The columns are bounded (a published name can run to ~900 characters); the version keeps it whole.
    name = entry["name"] if len(entry["name"]) <= 500 else entry["name"][:499] + "…"
    return {
        "name": name,
        "name_folded": fold(name)[:500],
        "field": entry["field"][:200],
        "level": entry["level"],
        "processing_days": None if entry["processing_days"] is None else Decimal(str(entry["processing_days"])),
        "online": entry["online"],
        "processing_unit": entry.get("processing_unit", WORKING_DAYS),
        "cutoff": entry.get("cutoff"),
        "on_the_spot": bool(entry.get("on_the_spot", False)),  # "4 tại chỗ", designated by the province
    }


def _nfc_tree(value: Any) -> Any:
    """A JSON value with every string in NFC."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, list):
        return [_nfc_tree(item) for item in value]
    if isinstance(value, dict):
        return {key: _nfc_tree(item) for key, item in value.items()}
    return value


async def search_procedures(query: str = "", *, level: str | None = None, field: str | None = None,
                            limit: int = 50, offset: int = 0) -> tuple[list[Procedure], int]:
    """Every word of the query in the name (diacritics and case ignored), or the query is the code or its start;
    the best match first (server/catalog/search.py). level and field (lĩnh vực, exactly as listed) filter."""
    conditions = Q()
    if level:
        conditions &= Q(level=level)
    if field:
        conditions &= Q(field=field)
    folded = fold(query)
    words = query_words(folded).split()
    if not words:
        queryset = Procedure.filter(conditions)
        total = await queryset.count()
        return await queryset.order_by("name_folded", "code").offset(offset).limit(limit), total
    by_name = Q()
    for word in words:
        by_name &= Q(name_folded__contains=word)
    token = query.strip()
    by_code = Q(code__istartswith=token) if " " not in token else Q(code=token)
    found = await Procedure.filter(conditions & (by_name | by_code))
    ranked = sorted((key, procedure) for procedure in found
                    if (key := rank(folded, query, procedure.code, procedure.name_folded)) is not None)
    return [procedure for _, procedure in ranked[offset:offset + limit]], len(ranked)


async def current_version(procedure: Procedure) -> ProcedureVersion:
    return await ProcedureVersion.get(procedure=procedure, version=procedure.current_version)


async def procedure_version(procedure: Procedure, version: int) -> ProcedureVersion | None:
    return await ProcedureVersion.get_or_none(procedure=procedure, version=version)
