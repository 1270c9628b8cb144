"""Integrity of the shipped data: procedure catalog and administrative units.

These tests read only the JSON files (no loader, no database), so they keep the data
honest whatever code later imports it. The form-definition checks follow docs/forms.md.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "server" / "data"
UNITS = DATA / "units"
CATALOG = DATA / "catalog" / "procedures.json"
UNIT_FILES = ["vinhphuc-2008.json", "phutho-2025.json", "provinces-2025.json", "provinces-1997-2025.json"]

# ---------------------------------------------------------------- helpers


def load(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def is_date(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# ------------------------------------------------ form definitions (docs/forms.md)

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FIELD_TYPES = {"text", "textarea", "number", "date", "choice", "multichoice", "phone", "cccd", "email", "address", "group"}
FIELD_KEYS = {"name", "type", "label", "help", "required", "show_if", "min_length", "max_length", "pattern",
              "pattern_message", "min", "max", "integer", "options", "min_items", "max_items", "fields", "checks", "allow_cmnd"}
TEXT_TYPES = {"text", "textarea"}


def _bad_label(label: Any) -> bool:
    return not (isinstance(label, dict) and isinstance(label.get("vi"), str) and label["vi"].strip()
                and set(label) <= {"vi", "en"} and all(isinstance(v, str) for v in label.values()))


def _bound_ok(value: Any, type_: str) -> bool:
    if type_ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_ == "date":
        return value == "today" or is_date(value)
    return False


def form_problems(fields: Any, path: str = "") -> list[str]:
    """Every way a list of field definitions breaks docs/forms.md; [] when it is valid."""
    if not isinstance(fields, list) or not fields:
        return [f"{path or 'form'}: fields must be a non-empty list"]
    problems: list[str] = []
    by_name = {f.get("name"): f for f in fields if isinstance(f, dict)}
    for name, count in Counter(f.get("name") for f in fields if isinstance(f, dict)).items():
        if count > 1:
            problems.append(f"{path}{name}: duplicate field name")
    for field in fields:
        if not isinstance(field, dict):
            problems.append(f"{path}: a field must be an object")
            continue
        name, type_ = field.get("name"), field.get("type")
        where = f"{path}{name}"
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            problems.append(f"{where}: invalid field name")
        if type_ not in FIELD_TYPES:
            problems.append(f"{where}: unknown type {type_!r}")
        if set(field) - FIELD_KEYS:
            problems.append(f"{where}: unknown keys {sorted(set(field) - FIELD_KEYS)}")
        if _bad_label(field.get("label")):
            problems.append(f"{where}: label needs a non-empty 'vi' (and optional 'en')")
        for key in ("help", "pattern_message"):
            if key in field and _bad_label(field[key]):
                problems.append(f"{where}: {key} must be {{vi, en}}")
        if "required" in field and not isinstance(field["required"], bool):
            problems.append(f"{where}: required must be a boolean")
        for key in ("min_length", "max_length"):
            if key in field and (type_ not in TEXT_TYPES or not isinstance(field[key], int) or field[key] < 0):
                problems.append(f"{where}: {key} only on text fields, as a non-negative integer")
        if "pattern" in field:
            try:
                re.compile(field["pattern"])
            except (re.error, TypeError):
                problems.append(f"{where}: pattern does not compile")
            if isinstance(field["pattern"], str) and ("(?<" in field["pattern"] or "(?P" in field["pattern"]):
                problems.append(f"{where}: pattern uses look-behind or named groups")
        for key in ("min", "max"):
            if key in field and (type_ not in {"number", "date"} or not _bound_ok(field[key], type_)):
                problems.append(f"{where}: {key} is not a valid bound for a {type_} field")
        if "integer" in field and (type_ != "number" or not isinstance(field["integer"], bool)):
            problems.append(f"{where}: integer only on number fields")
        if type_ in {"choice", "multichoice"}:
            options = field.get("options")
            if not isinstance(options, list) or not options:
                problems.append(f"{where}: a {type_} field needs options")
            else:
                values = [o.get("value") if isinstance(o, dict) else None for o in options]
                if any(not isinstance(v, str) or not v for v in values) or len(set(values)) != len(values):
                    problems.append(f"{where}: option values must be unique non-empty strings")
                if any(not isinstance(o, dict) or _bad_label(o.get("label")) for o in options):
                    problems.append(f"{where}: every option needs a label with 'vi'")
        elif "options" in field:
            problems.append(f"{where}: options only on choice/multichoice")
        for key in ("min_items", "max_items"):
            if key in field and (type_ not in {"multichoice", "group"} or not isinstance(field[key], int) or field[key] < 0):
                problems.append(f"{where}: {key} only on multichoice/group, as a non-negative integer")
        if type_ == "group":
            problems += form_problems(field.get("fields"), f"{where}.")
        elif "fields" in field:
            problems.append(f"{where}: fields only on group")
        if "show_if" in field:
            cond = field["show_if"]
            tests = {"equals", "in", "not_empty"} & set(cond) if isinstance(cond, dict) else set()
            if not isinstance(cond, dict) or len(tests) != 1 or set(cond) != {"field"} | tests:
                problems.append(f"{where}: show_if needs 'field' and exactly one of equals/in/not_empty")
            elif cond["field"] not in by_name or cond["field"] == name:
                problems.append(f"{where}: show_if names no sibling field {cond['field']!r}")
            else:
                target = by_name[cond["field"]]
                allowed = {o["value"] for o in target.get("options", []) if isinstance(o, dict)}
                tested = [cond["equals"]] if "equals" in cond else cond.get("in", [])
                if "in" in cond and (not isinstance(cond["in"], list) or not cond["in"]):
                    problems.append(f"{where}: show_if 'in' needs a non-empty list")
                if target.get("type") == "choice" and any(v not in allowed for v in tested):
                    problems.append(f"{where}: show_if tests a value that {cond['field']} cannot take")
        if "checks" in field:
            checks = field["checks"]
            if type_ != "cccd" or not isinstance(checks, dict) or not checks or set(checks) - {"birth_date", "sex"}:
                problems.append(f"{where}: checks only on cccd fields, with keys birth_date/sex")
            else:
                bd, sex = by_name.get(checks.get("birth_date")), by_name.get(checks.get("sex"))
                if "birth_date" in checks and (bd is None or bd.get("type") != "date"):
                    problems.append(f"{where}: checks.birth_date must name a sibling date field")
                if "sex" in checks and (sex is None or sex.get("type") != "choice"
                                        or {o.get("value") for o in sex.get("options", [])} != {"male", "female"}):
                    problems.append(f"{where}: checks.sex must name a sibling choice field with values male/female")
        if "allow_cmnd" in field and (type_ != "cccd" or not isinstance(field["allow_cmnd"], bool)):
            problems.append(f"{where}: allow_cmnd only on cccd fields")
    return problems


class TestFormChecker:
    """The checker itself must catch what docs/forms.md forbids, or the catalog test proves nothing."""

    GOOD = [
        {"name": "full_name", "type": "text", "label": {"vi": "Họ tên"}, "required": True},
        {"name": "birth_date", "type": "date", "label": {"vi": "Ngày sinh"}, "max": "today"},
        {"name": "sex", "type": "choice", "label": {"vi": "Giới tính"},
         "options": [{"value": "male", "label": {"vi": "Nam"}}, {"value": "female", "label": {"vi": "Nữ"}}]},
        {"name": "cccd", "type": "cccd", "label": {"vi": "Số định danh"}, "checks": {"birth_date": "birth_date", "sex": "sex"}},
        {"name": "note", "type": "textarea", "label": {"vi": "Ghi chú"}, "show_if": {"field": "sex", "equals": "female"}},
    ]

    def test_a_valid_form_has_no_problem(self) -> None:
        assert form_problems(self.GOOD) == []

    @pytest.mark.parametrize("breakage, expected", [
        (lambda f: f[4].update(show_if={"field": "gender", "equals": "female"}), "show_if names no sibling"),
        (lambda f: f[4].update(show_if={"field": "sex", "equals": "other"}), "cannot take"),
        (lambda f: f[1].update(name="full_name"), "duplicate field name"),
        (lambda f: f[2].pop("options"), "needs options"),
        (lambda f: f[3].update(checks={"birth_date": "full_name"}), "sibling date field"),
        (lambda f: f[0].update(name="FullName"), "invalid field name"),
        (lambda f: f[0].update(type="string"), "unknown type"),
        (lambda f: f[0].update(label={"en": "Name"}), "label needs"),
        (lambda f: f[1].update(max="tomorrow"), "not a valid bound"),
    ])
    def test_a_broken_form_is_reported(self, breakage, expected: str) -> None:
        fields = json.loads(json.dumps(self.GOOD))
        breakage(fields)
        assert any(expected in p for p in form_problems(fields)), form_problems(fields)


# ---------------------------------------------------------------- the catalog

CATALOG_DATA = load(CATALOG)
PROCEDURES = CATALOG_DATA["procedures"]          # one version in force per code
SUPERSEDED = CATALOG_DATA.get("superseded", [])  # versions no longer in force (e.g. the district tier)
ALL_ENTRIES = PROCEDURES + SUPERSEDED
REQUIRED_KEYS = {"code", "name", "field", "level", "agency", "processing_days", "online", "fee", "documents",
                 "legal_basis", "effective_from", "effective_to", "code_confidence", "sources", "notes", "form"}


def proc_id(p: dict) -> str:
    return f"{p.get('code')}@{p.get('level')}@{p.get('effective_from')}"


def test_catalog_header() -> None:
    assert is_date(CATALOG_DATA["catalog_version"])
    assert CATALOG_DATA["source_note"].strip()


def test_at_least_thirty_procedures_across_all_levels() -> None:
    assert len(PROCEDURES) >= 30
    assert {"commune", "district", "province"} <= {p["level"] for p in ALL_ENTRIES}


def test_one_version_in_force_per_code() -> None:
    # the importer versions a procedure by its code, so the in-force list must not repeat one
    assert [c for c, n in Counter(p["code"] for p in PROCEDURES).items() if n > 1] == []
    assert all(p["effective_to"] is None for p in PROCEDURES)
    keys = Counter((p["code"], p["effective_from"]) for p in ALL_ENTRIES)
    assert [k for k, n in keys.items() if n > 1] == []


def test_no_district_tier_in_force_after_the_reform() -> None:
    assert CATALOG_DATA["catalog_version"] >= "2025-07-01"
    assert "district" not in {p["level"] for p in PROCEDURES}


@pytest.mark.parametrize("old", SUPERSEDED, ids=proc_id)
def test_a_superseded_version_ended_before_its_successor(old: dict) -> None:
    successor = next((p for p in PROCEDURES if p["code"] == old["code"]), None)
    assert successor is not None, "a superseded version needs the version that replaced it"
    assert old["effective_to"] is not None and old["effective_to"] < successor["effective_from"]


def test_the_common_commune_procedures_are_present() -> None:
    codes = {p["code"] for p in PROCEDURES if p["level"] == "commune"}
    # khai sinh, khai tử, kết hôn, thường trú, tạm trú, chứng thực bản sao, chữ ký, hộ kinh doanh, trợ cấp xã hội, đất đai
    assert {"1.001193", "1.000656", "1.000894", "1.004222", "1.004194", "2.000815", "2.000884",
            "1.001612", "1.001776", "1.013978"} <= codes


@pytest.mark.parametrize("p", ALL_ENTRIES, ids=proc_id)
def test_procedure_entry(p: dict) -> None:
    assert REQUIRED_KEYS <= set(p), REQUIRED_KEYS - set(p)
    assert re.fullmatch(r"\d\.\d{6}", p["code"])
    assert p["name"].strip() and p["field"].strip() and p["agency"].strip()
    assert p["level"] in {"commune", "district", "province"}
    assert p["online"] in {"full", "partial", "none"}
    assert p["code_confidence"] in {"high", "medium", "low"}
    if p["code_confidence"] == "low":  # a doubtful code must say so to the reader, not only in a flag
        assert "chưa" in p["notes"].lower() or "cần" in p["notes"].lower()
    days = p["processing_days"]
    if days is None:  # an unconfirmed figure is left out and said so, never guessed
        assert "chưa" in p["notes"] and "processing_days" in p["notes"]
    else:
        assert isinstance(days, (int, float)) and days >= 0 and days * 2 == int(days * 2)
    fee = p["fee"]
    assert fee["note"].strip()
    assert fee["amount_vnd"] is None or (isinstance(fee["amount_vnd"], int) and fee["amount_vnd"] >= 0)
    assert fee.get("online_amount_vnd") is None or fee["online_amount_vnd"] <= (fee["amount_vnd"] or 0)
    assert p["documents"], "a procedure needs its thành phần hồ sơ"
    for doc in p["documents"]:
        assert doc["name"].strip() and isinstance(doc["copies"], int) and doc["copies"] >= 1
        assert isinstance(doc["original"], bool) and isinstance(doc["required"], bool)
        assert doc.get("declaration", False) in (True, False)
    # At most one document is the declaration the form fills in (docs/catalog.md "Documents").
    assert sum(bool(doc.get("declaration")) for doc in p["documents"]) <= 1
    assert p["legal_basis"] and all(isinstance(x, str) and x.strip() for x in p["legal_basis"])
    assert p["sources"] and all(isinstance(x, str) and x.strip() for x in p["sources"])
    assert is_date(p["effective_from"])
    if p.get("effective_to") is not None:
        assert is_date(p["effective_to"]) and p["effective_to"] >= p["effective_from"]


@pytest.mark.parametrize("p", [p for p in ALL_ENTRIES if p["level"] == "district"], ids=proc_id)
def test_district_level_ended_with_the_two_tier_reform(p: dict) -> None:
    # No district tier since 2025-07-01: a district version must have ended by then.
    assert p["effective_to"] is not None and p["effective_to"] <= "2025-06-30"


@pytest.mark.parametrize("p", ALL_ENTRIES, ids=proc_id)
def test_procedure_form_follows_docs_forms(p: dict) -> None:
    fields = p["form"]["fields"]
    assert set(p["form"]) == {"fields"}
    assert 5 <= len(fields) <= 25
    assert form_problems(fields) == []


# ---------------------------------------------------------------- administrative units

CODE_LENGTH = {"province": 2, "district": 3, "commune": 5}


@pytest.mark.parametrize("filename", UNIT_FILES)
def test_unit_file_integrity(filename: str) -> None:
    data = load(UNITS / filename)
    assert {"name", "valid_from", "valid_to", "levels", "source", "units"} <= set(data)
    assert is_date(data["valid_from"])
    assert data["valid_to"] is None or (is_date(data["valid_to"]) and data["valid_to"] > data["valid_from"])
    levels = data["levels"]
    assert levels and set(levels) <= set(CODE_LENGTH) and len(set(levels)) == len(levels)
    codes = [u["code"] for u in data["units"]]
    assert [c for c, n in Counter(codes).items() if n > 1] == [], "codes must be unique within a file"
    by_code = {u["code"]: u for u in data["units"]}
    for u in data["units"]:
        assert {"code", "name", "kind", "level", "parent"} <= set(u)
        assert u["level"] in levels
        assert re.fullmatch(rf"\d{{{CODE_LENGTH[u['level']]}}}", u["code"]), u
        assert u["name"].startswith(u["kind"] + " ") and u["name"].strip() == u["name"]
        depth = levels.index(u["level"])
        if depth == 0 or u["parent"] is None:
            # a top-level unit of this file (province lists have no parents at all)
            assert depth == 0 and u["parent"] is None, u
        else:
            parent = by_code.get(u["parent"])
            assert parent is not None, f"{u['code']}: parent {u['parent']} missing"
            assert parent["level"] == levels[depth - 1], u


def _counts(filename: str) -> dict[str, int]:
    data = load(UNITS / filename)
    return dict(Counter(u["level"] for u in data["units"]))


def test_vinhphuc_before_the_2025_arrangement() -> None:
    data = load(UNITS / "vinhphuc-2008.json")
    assert _counts("vinhphuc-2008.json") == {"province": 1, "district": 9, "commune": 136}
    kinds = Counter(u["kind"] for u in data["units"] if u["level"] == "commune")
    assert kinds == {"Xã": 102, "Phường": 16, "Thị trấn": 18}
    # Consistent with the next structure: from 2025-01-01 the province had 88 xã, 15 phường, 18 thị trấn
    # (Dân trí 30/11/2024), i.e. 14 xã and 1 phường fewer (Trưng Trắc + Trưng Nhị → Hai Bà Trưng).
    assert {u["code"] for u in data["units"] if u["level"] == "province"} == {"26"}


def test_phutho_since_july_2025_matches_resolution_1676() -> None:
    data = load(UNITS / "phutho-2025.json")
    communes = [u for u in data["units"] if u["level"] == "commune"]
    # NQ 1676/NQ-UBTVQH15 Điều 1 khoản 147: 148 đơn vị cấp xã gồm 133 xã và 15 phường
    assert len(communes) == 148
    assert Counter(u["kind"] for u in communes) == {"Xã": 133, "Phường": 15}
    assert data["valid_from"] == "2025-07-01" and data["valid_to"] is None


def test_province_lists() -> None:
    new = {u["code"]: u["name"] for u in load(UNITS / "provinces-2025.json")["units"]}
    old_units = load(UNITS / "provinces-1997-2025.json")["units"]
    old = {u["code"]: u["name"] for u in old_units}
    assert len(new) == 34 and len(old) == 63
    assert set(new) <= set(old), "every 2025 province code is one of the old codes"
    assert new["25"] == "Tỉnh Phú Thọ" and "26" not in new and "17" not in new
    for u in old_units:
        assert u["cccd_code"] == u["code"].zfill(3)
    cccd = {u["cccd_code"]: u["name"] for u in old_units}
    assert cccd["001"] == "Thành phố Hà Nội" and cccd["025"] == "Tỉnh Phú Thọ"
    assert cccd["026"] == "Tỉnh Vĩnh Phúc" and cccd["079"] == "Thành phố Hồ Chí Minh"


MAPPING = load(UNITS / "mapping-vinhphuc-2025.json")


def _unit_codes(filename: str, level: str) -> set[str]:
    return {u["code"] for u in load(UNITS / f"{filename}.json")["units"] if u["level"] == level}


def test_mapping_sources_and_targets_exist() -> None:
    old = _unit_codes(MAPPING["from"], "commune")
    new = _unit_codes(MAPPING["to"], "commune")
    assert set(MAPPING["communes"]) <= old and set(MAPPING["communes"].values()) <= new
    assert set(MAPPING["inferred"]) <= old and {v["to"] for v in MAPPING["inferred"].values()} <= new
    assert set(MAPPING["unresolved"]) <= old
    for entry in MAPPING["unresolved"].values():
        assert entry["candidates"] and set(entry["candidates"]) <= new and entry["reason"].strip()
    assert set(MAPPING["evidence"]) == set(MAPPING["communes"])


def test_every_old_commune_is_accounted_for_exactly_once() -> None:
    old = _unit_codes(MAPPING["from"], "commune")
    sections = [set(MAPPING["communes"]), set(MAPPING["inferred"]), set(MAPPING["unresolved"])]
    assert sum(len(s) for s in sections) == len(old)
    assert set.union(*sections) == old


def test_a_reused_code_maps_to_its_successor() -> None:
    # GSO gives a new commune the code of one of the communes it absorbs; that commune must map to it.
    new = _unit_codes(MAPPING["to"], "commune")
    mapped = dict(MAPPING["communes"]) | {k: v["to"] for k, v in MAPPING["inferred"].items()}
    reused = new & _unit_codes(MAPPING["from"], "commune")
    assert reused, "expected some reused codes"
    assert {c: mapped.get(c) for c in reused if mapped.get(c) != c} == {}


def test_province_mapping() -> None:
    old = {u["code"] for u in load(UNITS / "provinces-1997-2025.json")["units"]}
    new = {u["code"] for u in load(UNITS / "provinces-2025.json")["units"]}
    assert MAPPING["provinces"] == {"26": "25", "17": "25", "25": "25"}
    assert set(MAPPING["provinces"]) <= old and set(MAPPING["provinces"].values()) <= new


# ---------------------------------------------------------------- README claims

def _readme_counts() -> dict[str, dict[str, int]]:
    """Rows of the table between <!-- counts --> markers: | file | province | district | commune |."""
    text = (DATA / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- counts -->")[1].split("<!-- /counts -->")[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].endswith(".json"):
            rows[cells[0]] = {lvl: int(n) for lvl, n in zip(("province", "district", "commune"), cells[1:]) if n != "–"}
    return rows


def test_readme_counts_match_the_files() -> None:
    claimed = _readme_counts()
    assert set(claimed) == set(UNIT_FILES)
    for filename, counts in claimed.items():
        assert _counts(filename) == counts, filename


def test_readme_mapping_and_catalog_claims_match() -> None:
    text = (DATA / "README.md").read_text(encoding="utf-8")
    m = re.search(r"mapping: (\d+) resolved, (\d+) inferred, (\d+) unresolved", text)
    assert m, "README must state the mapping coverage"
    assert tuple(map(int, m.groups())) == (len(MAPPING["communes"]), len(MAPPING["inferred"]), len(MAPPING["unresolved"]))
    c = re.search(r"catalog: (\d+) procedures in force, (\d+) superseded versions", text)
    assert c and (int(c.group(1)), int(c.group(2))) == (len(PROCEDURES), len(SUPERSEDED))
    conf = re.search(r"code confidence: (\d+) high, (\d+) medium, (\d+) low", text)
    counts = Counter(p["code_confidence"] for p in PROCEDURES)
    assert conf and tuple(map(int, conf.groups())) == (counts["high"], counts["medium"], counts["low"])
