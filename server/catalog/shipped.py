"""The shipped catalog (what `motcua seed` loads): a real commune's whole list, with the national details merged
in where a record exists and the hand-made procedures (their forms) kept as overrides (docs/catalog.md
"The shipped catalog").

Built from three sources under server/data/catalog/, every time, in memory, then imported in one batch:
- `procedures.json`: the hand-made procedures, written for motcua (forms, fee rules, documents shown or attached);
- `commune/vinhbao-commune-catalog.csv`: Vĩnh Bảo commune's (Hải Phòng) public list, 254 procedures (`list`);
- `commune/dvcqg/*.json`: the national procedure-detail records of the list's codes that we have (`dvcqg`).

A hand-made procedure wins over the list and the national record (its form, fee, documents are what a citizen
files with); the national record only adds what the hand-made one does not say (agencies, cases, results, steps).
A list row with a national record takes the record (and the list's reception place). Hand-made procedures absent
from the list stay. The result does not depend on what the database holds, so seeding twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from server.catalog.procedures import DEFAULT_CATALOG, ImportReport, import_entries, load_catalog_file, read_entries
from server.resources import DATA_DIR

COMMUNE_DIR = DATA_DIR / "catalog" / "commune"
COMMUNE_LIST = COMMUNE_DIR / "vinhbao-commune-catalog.csv"
NATIONAL_DIR = COMMUNE_DIR / "dvcqg"

# What a hand-made entry decides alone: the national record's version of these is not merged into it (its
# per-channel fees would be computed before the hand-made amount, its documents would not match the form).
HAND_MADE_OWNS = {"channels", "online", "documents", "document_cases", "form", "form_kind", "fee", "incomplete",
                  "processing_days", "processing_unit", "processing_note", "effective_from", "source_format"}
CARRIED_FROM_LIST = ("received_at", "handled_by")


def shipped_entries(*, commune: bool = True) -> list[dict[str, Any]]:
    """The entries of the shipped catalog, in import order (older versions of a code before its version in force).
    commune=False: the hand-made procedures only (tests that need a small catalog, MOTCUA_CATALOG=hand-made)."""
    hand = load_catalog_file(DEFAULT_CATALOG)
    if not commune:
        return hand
    in_force = {entry["code"]: entry for entry in hand}  # the last of a code is its version in force
    older = [entry for entry in hand if entry is not in_force[entry["code"]]]
    hand_fields = {entry["field"].lower(): entry["field"] for entry in hand}
    listed, _ = read_entries(COMMUNE_LIST, "list")
    national = {entry["code"]: entry for entry in read_entries(NATIONAL_DIR, "dvcqg")[0]}
    entries: list[dict[str, Any]] = []
    for row in listed:
        code = row["code"]
        record = national.get(code)
        if code in in_force:
            entry = dict(in_force.pop(code))
            for key, value in (record or {}).items():
                if key not in HAND_MADE_OWNS:
                    entry.setdefault(key, value)
        elif record is not None:
            entry = dict(record)
            for key in CARRIED_FROM_LIST:
                if key in row and key not in entry:
                    entry[key] = row[key]
        else:
            entry = row
        if entry["field"].isupper():
            entry = {**entry, "field": field_name(entry["field"], hand_fields)}
        entries.append(entry)
    return older + entries + list(in_force.values())


def field_name(upper: str, known: dict[str, str]) -> str:
    """The commune list writes its fields in capitals ("HỘ TỊCH"), the hand-made procedures and the national
    records as a sentence ("Hộ tịch"): one field would show twice in the app's filter. The shipped catalog writes
    the list's as the hand-made one when they are the same words, else as a sentence ("VĂN HÓA" → "Văn hóa")."""
    lowered = upper.lower()
    return known.get(lowered) or lowered[:1].upper() + lowered[1:]


async def import_shipped_catalog(*, commune: bool = True) -> ImportReport:
    return await import_entries(shipped_entries(commune=commune))
