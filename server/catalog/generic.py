"""The generic form: any procedure can be filed before anyone writes its own form (docs/catalog.md).

It is an ordinary form definition (docs/forms.md), so the one validator and the app use it unchanged: the
applicant block. The pages are attached per document as for every procedure (the app lists `documents`), and
submit refuses a dossier with no page for a required document (server/workflow/policy.py missing_document).
"""

from __future__ import annotations

from typing import Any

GENERIC = "generic"  # the entry's "form_kind" when its form was made here, not written by hand


def applicant_fields() -> list[dict[str, Any]]:
    return [
        {"name": "applicant_name", "type": "text", "required": True, "min_length": 2, "max_length": 100,
         "label": {"vi": "Họ, chữ đệm và tên người nộp hồ sơ", "en": "Applicant's full name"}},
        {"name": "applicant_cccd", "type": "cccd", "required": True,
         "label": {"vi": "Số định danh cá nhân", "en": "Personal identification number"}},
        {"name": "applicant_phone", "type": "phone", "required": True,
         "label": {"vi": "Số điện thoại", "en": "Phone number"}},
        {"name": "applicant_address", "type": "address", "required": True,
         "label": {"vi": "Địa chỉ liên hệ", "en": "Contact address"}},
    ]


CASE_FIELD = "case"  # trường hợp: which of the procedure's sub-cases the dossier is (its processing time follows)


def timed_cases(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The national record's sub-cases that set their own processing time, once each by name (the portal often
    lists one twice). Worth asking only when there are two or more."""
    seen: dict[str, dict[str, Any]] = {}
    for case in entry.get("cases") or []:
        if isinstance(case, dict) and case.get("name") and case.get("processing_unit") \
                and case.get("processing_time") is not None:
            seen.setdefault(str(case["name"]), case)
    return list(seen.values()) if len(seen) > 1 else []


def case_value(index: int) -> str:
    return f"case-{index + 1}"


def generic_form(entry: dict[str, Any] | None = None) -> dict[str, Any]:
    """The applicant block, and which sub-case it is where the national record gives the sub-cases their own
    processing times (server/workflow/deadlines.py processing_time). The documents are not fields: submit counts
    the pages attached to each required one (server/workflow/policy.py missing_document)."""
    fields = applicant_fields()
    cases = timed_cases(entry or {})
    if cases:
        fields.append({"name": CASE_FIELD, "type": "choice", "required": True,
                       "label": {"vi": "Trường hợp của hồ sơ", "en": "Which case"},
                       "options": [{"value": case_value(i), "label": {"vi": c["name"], "en": c["name"]}}
                                   for i, c in enumerate(cases)]})
    return {"fields": fields}


def with_generic_form(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with the generic form, unless it carries a hand-written one."""
    if entry.get("form") is not None:
        return entry
    return {**entry, "form": generic_form(entry), "form_kind": GENERIC}
