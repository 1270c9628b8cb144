"""Reading the national procedure database's detail records (CSDL quốc gia về TTHC, dichvucong.gov.vn).

One record → one catalog entry in the shape the importer versions (server/data/README.md, docs/catalog.md).
A record that is not the expected shape refuses its whole file set (record and field named); what a sound
record holds but the entry has no place for is reported per record, never dropped silently.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from server.catalog.cleaning import EARLIEST, Problems, clean_code, clean_text, limited
from server.catalog.generic import with_generic_form
from server.workflow.working_time import DAYS, HOURS, WORKING_DAYS

MAX_FILE_BYTES = 5_000_000
PORTAL = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/"
VIETNAM = timezone(timedelta(hours=7))
CHANNELS = {"DIRECT": "direct", "ONLINE": "online", "POSTAL": "postal"}
TIME_UNITS = {"WORKING_DAY": WORKING_DAYS, "DAY": DAYS, "WORKING_HOUR": HOURS, "HOUR": HOURS}
MAX_TIME = 9999

# Keys mapped into the entry (docs/catalog.md has the table).
MAPPED = {
    "id", "code", "codeNotation", "name", "description", "requirementsAndConditions", "note", "state",
    "isWard", "isProvince", "isMinistry", "isFullProcess", "isOfflineOnly", "executionSteps", "executionMethods",
    "executionCases", "cases", "departmentsExecuting", "departmentsAuthority", "departmentsAuthorized",
    "departmentsCoordinating", "unitGroupsExecuting", "unitGroupsAuthority", "unitGroupsAuthorized",
    "unitGroupsCoordinating", "executingAgencies", "authorizedAgencies", "delegatedAgencies", "coordinatingAgencies",
    "dossierReceivingAddresses", "categoriesDetails", "category", "subjectTypesDetails", "legalBasisesDetails",
    "resultsDetails", "procedureProposal", "returningMethods", "departmentPromulgateName", "departmentPromulgateCode",
}
# Keys left out on purpose: internal ids (the *Details lists carry the same), timestamps of the portal's own
# records, and constants. Any other key with a value is reported as unmapped.
IGNORED = {
    "categoryIds", "legalBasisIds", "resultIds", "subjectTypeIds", "serviceGroupIds", "departmentExecutingIds",
    "departmentAuthorityIds", "departmentAuthorizedIds", "departmentCoordinatingIds", "unitGroupExecutingIds",
    "unitGroupAuthorityIds", "unitGroupAuthorizedIds", "unitGroupCoordinatingIds", "departmentPromulgateId",
    "createdAt", "updatedAt", "type", "formalityType", "isInternal", "isOtherAgency", "isUndetermined", "isVertical",
    "isSharedService", "isNonTerritorial",
}


def read_dvcqg(path: Path, *, effective_from: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The entries of a record file or a folder of them, and the per-record notes; CatalogError when malformed."""
    from server.catalog.procedures import CatalogError

    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise CatalogError([f"{path}: no .json record in this folder"])
    entries: list[dict[str, Any]] = []
    refused: list[str] = []
    notes: list[str] = []
    codes: dict[str, str] = {}
    for file in files:
        for where, record in _records(file, refused):
            problems = Problems(where)
            entry = map_record(record, problems, effective_from=effective_from)
            refused += problems.refused
            notes += problems.notes
            if entry is None or problems.refused:
                continue
            if entry["code"] in codes:
                refused.append(f"{where}: code: {entry['code']} is also in {codes[entry['code']]}")
                continue
            codes[entry["code"]] = where
            entries.append(entry)
    if refused:
        raise CatalogError(refused)
    return entries, notes


def _records(file: Path, refused: list[str]) -> list[tuple[str, Any]]:
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            refused.append(f"{file}: larger than {MAX_FILE_BYTES} bytes")
            return []
        document = json.loads(file.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        refused.append(f"{file}: no such file")
        return []
    except UnicodeDecodeError as error:
        refused.append(f"{file}: not UTF-8 (byte {error.start})")
        return []
    except json.JSONDecodeError as error:
        refused.append(f"{file}: not valid JSON (line {error.lineno}: {error.msg})")
        return []
    except RecursionError:
        refused.append(f"{file}: JSON nested too deeply")
        return []
    items = document if isinstance(document, list) else [document]
    out = []
    for index, item in enumerate(items):
        # The portal's answer wraps the record: {"code": "OK", "data": {…}, "message": "OK"}.
        if isinstance(item, dict) and isinstance(item.get("data"), dict) and "executionMethods" not in item:
            item = item["data"]
        code = item.get("code") if isinstance(item, dict) else None
        label = f"{file.name}" + (f"[{index}]" if isinstance(document, list) else "")
        out.append((f"{label} ({code if isinstance(code, str) and len(code) <= 32 else '?'})", item))
    return out


def _list(record: dict[str, Any], key: str, problems: Problems) -> list[dict[str, Any]]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        problems.refuse(key, "expected a list of objects")
        return []
    return value


def _number(value: Any, field: str, problems: Problems, *, nullable: bool = False) -> float | int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
            or value > 1e13:
        problems.refuse(field, f"expected a number ≥ 0, found {str(value)[:40]!r}")
        return None
    number: float | int = value
    return number


def _names(items: list[dict[str, Any]], field: str, problems: Problems) -> list[str]:
    names = [clean_text(item.get("name"), f"{field}.name", problems, one_line=True) for item in items]
    return [name for name in names if name]


def _time(qty: Any, unit: Any, field: str, problems: Problems) -> tuple[int | float | None, str | None]:
    number = _number(qty, f"{field}.processingTime", problems)
    if number is not None and number > MAX_TIME:
        problems.refuse(f"{field}.processingTime", f"{number} is more than {MAX_TIME}")
    if not isinstance(unit, str):
        problems.refuse(f"{field}.processingTimeUnit", "expected text")
        return None, None
    mapped = TIME_UNITS.get(unit)
    if mapped is None:
        problems.note(f"{field}.processingTimeUnit", f"{unit[:40]}: the time is only in the text")
        return None, None
    return number, mapped


def _date(millis: Any, field: str, problems: Problems) -> str | None:
    if millis is None:
        return None
    number = _number(millis, field, problems)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, VIETNAM).date().isoformat()
    except (OverflowError, OSError, ValueError):
        problems.refuse(field, "not a date")
        return None


def map_record(record: Any, problems: Problems, *, effective_from: str | None = None) -> dict[str, Any] | None:
    if not isinstance(record, dict):
        problems.refuse("record", "expected an object")
        return None
    code = clean_code(record.get("code"), "code", problems)
    name = limited(clean_text(record.get("name"), "name", problems, one_line=True), 5000, "name", problems)
    if not name:
        problems.refuse("name", "missing")
    flags = {key: record.get(key) for key in ("isWard", "isProvince", "isMinistry", "isFullProcess", "isOfflineOnly")}
    for key, value in flags.items():
        if value is not None and not isinstance(value, bool):
            problems.refuse(key, "expected true or false")
    if flags["isWard"] is True:
        level = "commune"
    elif flags["isProvince"] is True:
        level = "province"
    elif flags["isMinistry"] is True:
        problems.note("isMinistry", "a ministry-level procedure is not handled at a one-stop centre: not imported")
        return None
    else:
        problems.refuse("isWard/isProvince", "no level: neither isWard nor isProvince is true")
        level = "commune"
    for key, value in record.items():
        if key not in MAPPED and key not in IGNORED and value not in (None, "", [], {}, False):
            problems.note(key, f"unmapped value {json.dumps(value, ensure_ascii=False)[:80]}")

    channels: list[dict[str, Any]] = []
    for index, method in enumerate(_list(record, "executionMethods", problems)):
        where = f"executionMethods[{index}]"
        kind = CHANNELS.get(str(method.get("submissionMethod")))
        if kind is None:
            problems.note(f"{where}.submissionMethod", f"unknown channel {str(method.get('submissionMethod'))[:40]}")
            continue
        qty, unit = _time(method.get("processingTime"), method.get("processingTimeUnit"), where, problems)
        fees: list[dict[str, Any]] = []
        for fee_index, fee in enumerate(_list(method, "fees", problems)):
            at = f"{where}.fees[{fee_index}]"
            fees.append({"type": clean_text(fee.get("type"), f"{at}.type", problems, one_line=True),
                         "amount": _number(fee.get("value"), f"{at}.value", problems, nullable=True),
                         "currency": clean_text(fee.get("currencyName"), f"{at}.currencyName", problems,
                                                one_line=True) or "Việt Nam Đồng",
                         "text": clean_text(fee.get("description"), f"{at}.description", problems)})
        channels.append({"channel": kind, "processing_time": qty, "processing_unit": unit,
                         "time_text": clean_text(method.get("description"), f"{where}.description", problems),
                         "fees": fees})
    if not channels:
        problems.refuse("executionMethods", "no submission channel (DIRECT, ONLINE or POSTAL)")
    default = next((c for c in channels if c["channel"] == "direct"), channels[0] if channels else None)

    cases: list[dict[str, Any]] = []
    for index, case in enumerate(_list(record, "cases", problems)):
        day = case.get("processingDay") or {}
        if not isinstance(day, dict):
            problems.refuse(f"cases[{index}].processingDay", "expected an object")
            day = {}
        qty, unit = _time(day.get("qty"), day.get("type"), f"cases[{index}].processingDay", problems)
        cases.append({"code": clean_text(case.get("code"), f"cases[{index}].code", problems, one_line=True),
                      "name": clean_text(case.get("name"), f"cases[{index}].name", problems),
                      "processing_time": qty, "processing_unit": unit})

    documents: list[dict[str, Any]] = []
    document_cases: list[dict[str, Any]] = []
    for index, case in enumerate(_list(record, "executionCases", problems)):
        case_name = clean_text(case.get("name"), f"executionCases[{index}].name", problems)
        components = _list(case, "profileComponents", problems)
        document_cases.append({"name": case_name, "documents": len(components)})
        for component_index, component in enumerate(components):
            at = f"executionCases[{index}].profileComponents[{component_index}]"
            originals = _number(component.get("originalQty", 0), f"{at}.originalQty", problems) or 0
            copies = _number(component.get("copyQty", 0), f"{at}.copyQty", problems) or 0
            required = component.get("required", False)
            if not isinstance(required, bool):
                problems.refuse(f"{at}.required", "expected true or false")
            templates = [{"file_name": clean_text(a.get("fileName"), f"{at}.attachments.fileName", problems,
                                                  one_line=True),
                          "path": clean_text(a.get("filePath"), f"{at}.attachments.filePath", problems, one_line=True)}
                         for a in _list(component, "attachments", problems)]
            document: dict[str, Any] = {
                "name": limited(clean_text(component.get("name"), f"{at}.name", problems), 2000, f"{at}.name", problems),
                "code": clean_text(component.get("code"), f"{at}.code", problems, one_line=True),
                "copies": int(originals or copies or 1), "original": originals > 0,
                "original_count": originals, "copy_count": copies, "required": required is True,
                "templates": templates}
            if case_name:
                document["case"] = case_name
            documents.append(document)
    if documents and not any(d["required"] for d in documents):
        problems.note("executionCases", f"none of the {len(documents)} documents is marked required")

    def agencies(key: str) -> list[str]:
        return _names(_list(record, key, problems), key, problems)

    executing = agencies("departmentsExecuting") + agencies("unitGroupsExecuting")
    authority = agencies("departmentsAuthority") + agencies("unitGroupsAuthority")
    categories = _list(record, "categoriesDetails", problems)
    category = record.get("category")
    if not categories and isinstance(category, dict):
        categories = [category]
    field = limited(next(iter(_names(categories, "categoriesDetails", problems)), ""), 1000, "categoriesDetails",
                    problems)
    if not field:
        problems.note("categoriesDetails", "no field (lĩnh vực): filed under “Khác”")
    seen: set[str] = set()
    legal: list[dict[str, str]] = []
    for index, item in enumerate(_list(record, "legalBasisesDetails", problems)):
        key = str(item.get("id") or index)
        if key in seen:
            problems.note(f"legalBasisesDetails[{index}]", "the same legal basis listed twice: kept once")
            continue
        seen.add(key)
        legal.append({"code": clean_text(item.get("code"), f"legalBasisesDetails[{index}].code", problems, one_line=True),
                      "name": clean_text(item.get("name"), f"legalBasisesDetails[{index}].name", problems)})
    proposal = record.get("procedureProposal") or {}
    if not isinstance(proposal, dict):
        problems.refuse("procedureProposal", "expected an object")
        proposal = {}
    decision_date = _date(proposal.get("decisionDate"), "procedureProposal.decisionDate", problems)
    start = effective_from or decision_date
    if start is None or start < EARLIEST.isoformat():
        start = max(start or "", EARLIEST.isoformat())
        problems.note("procedureProposal.decisionDate", f"effective_from set to {start}")
    returning: list[dict[str, Any]] = []
    for index, item in enumerate(_list(record, "returningMethods", problems)):
        values = item.get("value") or []
        if not isinstance(values, list):
            problems.refuse(f"returningMethods[{index}].value", "expected a list")
            values = []
        returning.append({"type": clean_text(item.get("type"), f"returningMethods[{index}].type", problems, one_line=True),
                          "places": [clean_text(v, f"returningMethods[{index}].value", problems, one_line=True)
                                     for v in values]})
    formality_id = clean_text(record.get("id"), "id", problems, one_line=True)
    limited(formality_id, 64, "id", problems)
    has_online = any(c["channel"] == "online" for c in channels) and flags["isOfflineOnly"] is not True
    amounts = [fee["amount"] for fee in (default["fees"] if default else [])]
    fee_texts = [(f"{fee['amount']:,}".replace(",", ".") + " "
                  + ("đ" if fee["currency"] == "Việt Nam Đồng" else fee["currency"]) + fee["text"]
                  if fee["amount"] else fee["text"]) for fee in (default["fees"] if default else [])]
    only = amounts[0] if len(amounts) == 1 and default and not default["fees"][0]["text"] else None
    unit = default["processing_unit"] if default else None
    days = default["processing_time"] if default and unit else None
    if default and not unit:
        timed = next((case for case in cases if case["processing_unit"]), None)
        if timed is not None:
            days, unit = timed["processing_time"], timed["processing_unit"]
            problems.note("executionMethods", f"the time is only in the text; the case list's {days} {unit} is used")
    entry: dict[str, Any] = {
        "code": code, "name": name, "field": field or "Khác", "level": level,
        "agency": "; ".join(authority or executing),
        "processing_days": days,
        "processing_unit": unit or WORKING_DAYS,
        "processing_note": (default["time_text"] if default else ""),
        "online": ("full" if flags["isFullProcess"] else "partial") if has_online else "none",
        "fee": {"amount_vnd": only if only else None, "note": "; ".join(t for t in fee_texts if t)},
        "channels": channels, "cases": cases, "document_cases": document_cases, "documents": documents,
        "results": [{"code": clean_text(r.get("code"), "resultsDetails.code", problems, one_line=True),
                     "name": clean_text(r.get("name"), "resultsDetails.name", problems)}
                    for r in _list(record, "resultsDetails", problems)],
        "legal_basis": [item["name"] or item["code"] for item in legal], "legal_bases": legal,
        "steps": [{"name": clean_text(s.get("name"), "executionSteps.name", problems),
                   "description": clean_text(s.get("description"), "executionSteps.description", problems)}
                  for s in _list(record, "executionSteps", problems)],
        "agencies": {"executing": executing, "authority": authority,
                     "authorized": agencies("departmentsAuthorized") + agencies("unitGroupsAuthorized"),
                     "coordinating": agencies("departmentsCoordinating") + agencies("unitGroupsCoordinating"),
                     "receiving": clean_text(record.get("dossierReceivingAddresses"), "dossierReceivingAddresses",
                                             problems),
                     **{key: text for key in ("executingAgencies", "authorizedAgencies", "delegatedAgencies",
                                              "coordinatingAgencies")
                        if (text := clean_text(record.get(key), key, problems))}},
        "conditions": clean_text(record.get("requirementsAndConditions") or record.get("description"),
                                 "requirementsAndConditions", problems),
        "subjects": _names(_list(record, "subjectTypesDetails", problems), "subjectTypesDetails", problems),
        "returning": returning,
        "decision": clean_text(proposal.get("proposalNumber"), "procedureProposal.proposalNumber", problems,
                               one_line=True),
        "decision_date": decision_date,
        "issued_by": clean_text(record.get("departmentPromulgateName"), "departmentPromulgateName", problems,
                                one_line=True),
        "state": clean_text(record.get("state"), "state", problems, one_line=True),
        "effective_from": start, "effective_to": None,
        "formality_id": formality_id,
        "sources": [f"CSDL quốc gia về TTHC (dichvucong.gov.vn), formality {formality_id}"],
        "verify_url": PORTAL + formality_id if formality_id else None,
        "notes": clean_text(record.get("note"), "note", problems),
        "source_format": "dvcqg", "form": None,
    }
    if default and not unit:
        entry["processing_note"] = entry["processing_note"] or "Thời hạn: xem văn bản công bố"
    return with_generic_form(entry)
