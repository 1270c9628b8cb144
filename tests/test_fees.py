"""Fees as rules (server/catalog/fees.py) and the app's copy (pwa/static/js/fees.js) give the same amounts.

The certified-copy schedule: 2,000 đ a page, 1,000 đ a page from the third, at most 200,000 đ a copy (Circular
226/2016/TT-BTC on certification fees, docs/domain.md "Corrections and additions"). Every case of
tests/data/fee_cases.json runs through Python and through fees.js in a real headless Chromium.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.catalog.fees import fee_for, fee_text, rule_problems
from server.catalog.procedures import load_catalog_file, DEFAULT_CATALOG
from tests.browser import chromium, serve_static

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "data" / "fee_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_python_rules(case):
    assert fee_for(case["entry"], case["channel"], case["data"], case["pages"])["amount_vnd"] == case["amount_vnd"]


def test_the_browser_computes_the_same():
    with serve_static() as static_url, chromium() as browser:
        page = browser.new_page()
        page.goto(static_url + "/")
        got = json.loads(page.evaluate("""async (text) => {
            const fees = await import('/js/fees.js');
            return JSON.stringify(JSON.parse(text).map((c) => {
                const quote = fees.feeFor(c.entry, c.channel, c.data, c.pages);
                return [quote.amount_vnd, fees.feeText(quote)];
            }));
        }""", json.dumps(CASES)))
    want = [[case["amount_vnd"], fee_text(fee_for(case["entry"], case["channel"], case["data"], case["pages"]))]
            for case in CASES]
    assert got == want


def test_texts():
    assert fee_text({"amount_vnd": 36000}) == "36.000 đ"
    assert fee_text({"amount_vnd": 0}) == "Không thu phí, lệ phí"
    assert fee_text({"amount_vnd": None, "note": "Do HĐND tỉnh quy định"}) == "Do HĐND tỉnh quy định"
    assert fee_text({"amount_vnd": 50000, "exemptions": ["Hộ nghèo"]}) == "50.000 đ (miễn, giảm: Hộ nghèo)"


def test_the_shipped_certified_copy_entry_follows_the_schedule():
    entry = [e for e in load_catalog_file(DEFAULT_CATALOG) if e["code"] == "2.000815"][-1]  # the version in force
    assert fee_for(entry, "direct", {"pages": 3, "copies": 2})["amount_vnd"] == 10000
    assert fee_for(entry, "online", {"pages": 400, "copies": 1})["amount_vnd"] == 200000


def test_rule_problems():
    assert rule_problems({"amount_vnd": 1, "rules": [{"kind": "per_page", "amount_vnd": 2000, "cap_vnd": 200000,
                                                       "pages": {"field": "pages"}}]}) == []
    assert rule_problems({"rules": [{"kind": "per_line"}]}) == ["fee.rules[0].kind must be one of fixed, per_page, per_copy"]
    assert rule_problems({"rules": [{"channels": ["fax"], "amount_vnd": -1}]}) == [
        "fee.rules[0].channels must be among direct, online, postal",
        "fee.rules[0].amount_vnd must be a whole number of đồng ≥ 0"]
    assert rule_problems({"rules": [{"pages": "all"}]}) == [
        'fee.rules[0].pages must be {"field": name} or {"document": name}']
