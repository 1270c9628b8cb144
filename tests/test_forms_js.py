"""The browser's validator (pwa/static/js/forms.js) says exactly what the server's (server/catalog/forms.py) says.

A citizen drafting offline must see the errors the server would send, word for word, next to the same
fields. Every case of tests/data/form_cases.json, and random data against the same forms, runs through
Python's validate() and through forms.js in a real headless Chromium; clean data and errors must be equal.
The expected results are never written down: Python computes them here, at test time.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.catalog import forms
from tests.browser import CHROMIUM, chromium, serve_static
from server.catalog.forms import check_form_definition, validate
from server.vietnamese import PROVINCE_CODES_BEFORE_2025, cccd_problems, fold, normalize_phone

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "data" / "form_cases.json").read_text(encoding="utf-8"))
# Every error code of docs/forms.md "Errors": the cases must make Python produce each one.
ERROR_CODES = {"required", "type", "too_short", "too_long", "pattern", "min", "max", "not_integer", "invalid_date",
               "not_an_option", "too_few", "too_many", "duplicate", "invalid_phone", "invalid_cccd", "cccd_mismatch",
               "invalid_email", "unknown_commune", "unknown_field"}

# Runs a batch in the page: cases arrive as ASCII JSON text (lone surrogates escaped), results leave as JSON text.
RUN_BATCH = """(text) => JSON.stringify(JSON.parse(text).map((c) => forms.validate(c.form, c.data, {
    today: c.today, communeExists: c.communes ? (code) => c.communes.includes(code) : null})))"""


@pytest.fixture(scope="module")
def page():
    with serve_static() as static_url, chromium() as browser:
        page = browser.new_page()
        page.goto(static_url + "/")
        page.evaluate("""async () => {
            window.forms = await import('/js/forms.js');
            window.vn = await import('/js/vietnamese.js');
        }""")
        yield page


def in_browser(page, script: str, argument) -> object:
    return json.loads(page.evaluate(script, json.dumps(argument)))


def python_result(case: dict) -> dict:
    communes = case.get("communes")
    clean, errors = validate(case["form"], case["data"], today=date.fromisoformat(case["today"]),
                             commune_exists=None if communes is None else set(communes).__contains__)
    return {"clean": clean, "errors": [error.to_json() for error in errors]}


def as_json(value):
    """JSON values as both sides mean them: 3 and 3.0 are one number, true is not 1, key order counts."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return [(key, as_json(v)) for key, v in value.items()]
    return value


@pytest.fixture(scope="module")
def js_results(page):
    return dict(zip((case["name"] for case in CASES), in_browser(page, RUN_BATCH, CASES)))


def test_chromium_is_installed():
    assert CHROMIUM.exists(), "Chromium is missing at /usr/bin/chromium: the browser tests cannot run"


def test_the_cases_are_valid_forms_and_cover_every_error_code():
    assert len(CASES) >= 60
    assert len({case["name"] for case in CASES}) == len(CASES), "case names are unique"
    for case in CASES:
        assert check_form_definition(case["form"]) == [], case["name"]
    codes = {error["code"] for case in CASES for error in python_result(case)["errors"]}
    assert codes == ERROR_CODES, f"missing: {ERROR_CODES - codes}"
    types = {field["type"] for case in CASES for field in _all_fields(case["form"]["fields"])}
    assert types == set(forms.FIELD_TYPES)


def _all_fields(fields: list[dict]):
    for field in fields:
        yield field
        yield from _all_fields(field.get("fields", []))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_browser_and_server_agree(case, js_results):
    expected = python_result(case)
    actual = js_results[case["name"]]
    assert as_json(actual) == as_json(expected), (
        f"\nPython: {json.dumps(expected, ensure_ascii=False, indent=1)}"
        f"\nforms.js: {json.dumps(actual, ensure_ascii=False, indent=1)}")


# -- which fields show (the renderer's question) ---------------------------------------------

def python_visible_paths(fields: list[dict], data: object, prefix: str = "") -> list[str]:
    """The server's own answer, from the same internals validate() uses."""
    data = data if isinstance(data, dict) else {}
    context = forms._Context(None, date(2025, 3, 5))
    values = {f["name"]: forms._CHECKS[f["type"]](f, data.get(f["name"]), context, prefix + f["name"],
                                                  forms._label(f))[0] for f in fields}
    visible = forms._visibility(fields, values)
    paths = []
    for field in fields:
        if not visible[field["name"]]:
            continue
        paths.append(prefix + field["name"])
        raw = data.get(field["name"])
        if field["type"] == "group" and isinstance(raw, list):
            for index, entry in enumerate(raw):
                if isinstance(entry, dict):
                    paths += python_visible_paths(field["fields"], entry, f"{prefix}{field['name']}[{index}].")
    return paths


def test_visible_fields_follow_show_if_like_the_server(page):
    shown = in_browser(page, "(text) => JSON.stringify(JSON.parse(text).map((c) => forms.visibleFields(c.form, c.data)))",
                       CASES)
    for case, paths in zip(CASES, shown):
        assert paths == python_visible_paths(case["form"]["fields"], case["data"]), case["name"]
    married = next(c for c in CASES if c["name"] == "show_if equals: shown field is required")
    assert "spouse_name" in python_visible_paths(married["form"]["fields"], married["data"])


# -- random data against the same forms --------------------------------------------------------

FORMS = list({json.dumps(case["form"], sort_keys=True): case["form"] for case in CASES}.values())
NAMES = sorted({f["name"] for form in FORMS for f in _all_fields(form["fields"])} | {"commune_code", "detail"})
OPTIONS = sorted({o["value"] for form in FORMS for f in _all_fields(form["fields"]) for o in f.get("options", [])})
TRICKY = ["0912345678", "+84 912 345 678", "026301123456", "026 3 01 123456", "001190123456", "123456789",
          "2001-05-04", "1990-02-03", "2025-03-05", "2025-02-29", "12", "1.5", "-3", "3.0", "1.000", "08707", "99999",
          "an@example.vn", "AB123-45", "hai tu", "Nguye\u0302\u0303n", " ", "", "\ud800", "\x00", "a\nb", "a\u2028b",
          "\ufeffx", "x\x85", "\x1cx\x1f", "a\u00a0b", "😀", "Đặng Thị Ánh"]
CHARACTERS = st.characters(exclude_categories=("Cn", "Cs")) | st.sampled_from(
    list(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000\ufeff\u0300\u0301\u0302\u0303\u0309\u0323ăâđêôơưĐ0123456789-."))
TEXTS = st.text(CHARACTERS, max_size=12) | st.sampled_from(TRICKY + OPTIONS)
# JavaScript orders keys like "1" or "42" before the others; Python keeps them where they came.
# Field names never look like that; unknown keys that do would only reorder unknown_field errors.
ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")
KEYS = st.sampled_from(NAMES) | st.text(CHARACTERS, min_size=1, max_size=8).filter(lambda k: not ARRAY_INDEX.fullmatch(k))
# Integers beyond 2**53 and numbers beyond float range are not the same number in JavaScript.
SCALARS = (st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.sampled_from([0, 1, 2, 3, 12, 13, -4])
           | st.floats(allow_nan=False, allow_infinity=False) | TEXTS)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
                      max_leaves=12)


def value_for(field: dict) -> st.SearchStrategy:
    """Mostly values of the field's own kind (so that random data reaches every rule), sometimes anything."""
    options = [o["value"] for o in field.get("options", [])]
    kind = field["type"]
    if kind in ("text", "textarea", "email"):
        typed = TEXTS | st.emails().map(lambda e: f" {e} ")
    elif kind == "number":
        typed = (st.integers(-20, 2_000_000) | st.floats(-10, 1e17) | st.sampled_from(
            ["12", "1.5", "-3", "3.0", "1.000", "1,5", " 7 ", "1e3", "0.00001", "10000000000000002"]))
    elif kind == "date":
        typed = st.dates().map(date.isoformat) | st.sampled_from(["2025-02-29", "2025-03-05", "2025-03-06", "05/03/2025"])
    elif kind == "choice":
        typed = st.sampled_from(options)
    elif kind == "multichoice":
        typed = st.lists(st.sampled_from(options), max_size=len(options) + 1)
    elif kind == "phone":
        typed = st.from_regex(r"(\+84|84|0)[0-9][0-9 .-]{8,11}", fullmatch=True)
    elif kind == "cccd":
        typed = st.builds(lambda province, g, yy, rest, space: f"{province}{space}{g}{yy:02d}{space}{rest:06d}",
                          st.sampled_from(["001", "026", "079", "003"]), st.integers(0, 9), st.integers(0, 99),
                          st.integers(0, 999_999), st.sampled_from(["", " "])) | st.from_regex(r"[0-9]{9}", fullmatch=True)
    elif kind == "address":
        typed = st.fixed_dictionaries({}, optional={
            "commune_code": st.sampled_from(["08707", "07900", "99999", "1234", " 08707 "]) | TEXTS, "detail": TEXTS})
    else:
        typed = st.lists(data_for(field["fields"]), max_size=5)
    return typed | typed | VALUES


def data_for(fields: list[dict]) -> st.SearchStrategy:
    declared = st.fixed_dictionaries({}, optional={f["name"]: value_for(f) for f in fields})
    return declared | st.builds(lambda extra, known: {**extra, **known}, st.dictionaries(KEYS, VALUES, max_size=3), declared)


RANDOM_CASES = st.sampled_from(FORMS).flatmap(lambda form: st.builds(
    lambda data, communes: {"form": form, "data": data, "today": "2025-03-05", "communes": communes},
    data_for(form["fields"]) | VALUES, st.sampled_from([None, ["08707", "07900"]])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(RANDOM_CASES, min_size=1, max_size=40))
def test_random_data_gets_the_same_answer_in_the_browser(page, batch):
    actual = in_browser(page, RUN_BATCH, batch)
    for case, result in zip(batch, actual):
        assert as_json(result) == as_json(python_result(case)), json.dumps(case, ensure_ascii=False)


# -- vietnamese.js ---------------------------------------------------------------------------

def test_province_codes_are_the_63_of_the_server(page):
    table = json.loads(page.evaluate("() => JSON.stringify(Object.entries(vn.PROVINCE_CODES_BEFORE_2025))"))
    assert table == [list(item) for item in PROVINCE_CODES_BEFORE_2025.items()]
    assert len(table) == 63


def test_fold_agrees_with_the_server_on_every_assigned_character(page):
    characters = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    folded = in_browser(page, "(text) => JSON.stringify(JSON.parse(text).map((c) => vn.fold(c)))", characters)
    wrong = [(f"U+{ord(c):04X}", fold(c), js) for c, js in zip(characters, folded) if js != fold(c)]
    assert wrong == []


VIETNAMESE_HELPERS = """(text) => JSON.stringify(JSON.parse(text).map(([s, birth, sex]) => [
    vn.fold(s), vn.normalizePhone(s), vn.nfc(s), vn.cccdProblems(s, birth, sex)]))"""


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(st.tuples(TEXTS | st.text(st.sampled_from("0123456789 +.-"), max_size=16),
                                st.sampled_from([None, "1999-12-31", "2001-05-04", "0999-01-01", "2100-01-01"]),
                                st.sampled_from([None, "male", "female"])), min_size=1, max_size=50))
def test_vietnamese_helpers_agree_with_the_server(page, batch):
    actual = in_browser(page, VIETNAMESE_HELPERS, batch)
    for (text, birth, sex), result in zip(batch, actual):
        expected = [fold(text), normalize_phone(text), unicodedata.normalize("NFC", text),
                    cccd_problems(text, date.fromisoformat(birth) if birth else None, sex)]
        assert result == expected, (text, birth, sex)


def test_vietnamese_helpers_on_known_values(page):
    samples = [["  Đăng KÝ   khai sinh ", None, None], ["+84 912.345-678", None, None], ["026301123456", "2001-05-04", "female"],
               ["026301123456", "2003-05-04", "male"], ["003301123456", None, None], ["02630112345a", None, None]]
    results = in_browser(page, VIETNAMESE_HELPERS, samples)
    assert results[0][0] == "dang ky khai sinh"
    assert results[1][1] == "0912345678"
    assert [r[3] for r in results[2:]] == [[], ["year_mismatch", "sex_mismatch"], ["unknown_province"], ["not_digits"]]
