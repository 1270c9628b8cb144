"""Catalog search finds the right one first, online and offline alike: server/catalog/search.py (behind
GET /api/procedures?q=) and pwa/static/js/search.js (the app, offline) order the real commune list the same way.

tests/data/search_cases.json names what must come first; both implementations run every case, and a few hundred
queries made from the list's own names and codes, in a real headless Chromium; the orders must be identical.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from server.catalog.search import rank
from server.vietnamese import fold
from tests.browser import chromium, serve_static

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "data" / "search_cases.json").read_text(encoding="utf-8"))["cases"]
with (ROOT / "tests" / "data" / "catalog" / "vinhbao-commune-catalog.csv").open(encoding="utf-8") as file:
    CATALOG = [{"code": row["code"], "name": row["name"], "field": row["field"]} for row in csv.DictReader(file)]


def python_search(query: str, field: str = "") -> list[str]:
    folded = fold(query)
    found = []
    for procedure in CATALOG:
        if field and procedure["field"] != field:
            continue
        key = rank(folded, query, procedure["code"], fold(procedure["name"]))
        if key is not None:
            found.append((key, procedure["code"]))
    return [code for _, code in sorted(found)]


def made_queries(count: int = 300) -> list[dict]:
    """Starts, middles and words of real names, with and without diacritics, and starts of codes."""
    rng = random.Random(20261206)
    queries = []
    for _ in range(count):
        procedure = rng.choice(CATALOG)
        words = procedure["name"].split()
        start = rng.randrange(len(words))
        text = " ".join(words[start:start + rng.randint(1, 4)])
        kind = rng.random()
        if kind < 0.2:
            text = procedure["code"][: rng.randint(1, len(procedure["code"]))]
        elif kind < 0.5:
            text = fold(text)
        elif kind < 0.6:
            text = "Thủ tục " + text.lower()
        queries.append({"query": text, "field": procedure["field"] if rng.random() < 0.2 else ""})
    return queries


RUN = """async (text) => {
    const { search } = await import('/js/search.js');
    const input = JSON.parse(text);
    return JSON.stringify(input.queries.map((q) => search(input.catalog, q.query, { field: q.field || "" }).map((p) => p.code)));
}"""


@pytest.fixture(scope="module")
def js_results():
    queries = [{"query": c["query"], "field": c.get("field", "")} for c in CASES] + made_queries()
    with serve_static() as static_url, chromium() as browser:
        page = browser.new_page()
        page.goto(static_url + "/")
        result = json.loads(page.evaluate(RUN, json.dumps({"catalog": CATALOG, "queries": queries})))
    return queries, result


def test_the_named_cases_come_first_in_python():
    for case in CASES:
        found = python_search(case["query"], case.get("field", ""))
        assert found[: len(case.get("first", []))] == case.get("first", []), case["name"]
        if "total" in case:
            assert len(found) == case["total"], case["name"]
    assert python_search("")[:3] == [p["code"] for p in sorted(CATALOG, key=lambda p: (fold(p["name"]), p["code"]))][:3]


def test_the_app_orders_every_query_as_the_server_does(js_results):
    queries, result = js_results
    assert len(result) == len(queries) > 300
    mismatches = [(q, want[:5], got[:5]) for q, got in zip(queries, result)
                  if (want := python_search(q["query"], q["field"])) != got]
    assert not mismatches, mismatches[:5]
    # The made queries find something (they come from the names and codes): the comparison is not of empty lists.
    assert sum(1 for found in result if found) > 250
