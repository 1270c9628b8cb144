"""The catalog benchmark (run on demand, never in the test suite): importing national records, what the catalog
index weighs on the wire, a citizen's first visit with the shipped catalog, and the search's latency.

    PYTHONPATH=. .venv/bin/python bench/catalog/run.py [--records 2000] [--repeats 3]

Writes bench/results/catalog.json. bench/catalog/README.md says what each figure means and how it is measured.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.pwa.run import CHROMIUM, FLAGS, PROFILES, new_phone, ready_ms, serve, watch, wire_size  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "catalog.json"
SOURCES = ROOT / "tests" / "data" / "catalog"
COMMUNE_LIST = SOURCES / "vinhbao-commune-catalog.csv"


def hand_made_rows() -> list[dict[str, str]]:
    return [{"code": p["code"], "name": p["name"]} for p in json.loads(
        (ROOT / "server" / "data" / "catalog" / "procedures.json").read_text(encoding="utf-8"))["procedures"]]


def commune_names() -> list[dict[str, str]]:
    with COMMUNE_LIST.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def real_records() -> list[dict[str, Any]]:
    """The 10 national procedure-detail records of tests/data/catalog/dvcqg, without the portal's envelope."""
    records = []
    for path in sorted((SOURCES / "dvcqg").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        records.append(document["data"] if isinstance(document, dict) and "message" in document else document)
    return records


def make_records(count: int, folder: Path) -> None:
    """`count` records, one file each: the real records in turn, each with a code of its own (national format,
    1.xxxxxx–3.xxxxxx) and a real commune-list name (the list's 254 in turn), so names and codes vary."""
    templates = real_records()
    names = [row["name"] for row in commune_names()]
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        record = copy.deepcopy(templates[index % len(templates)])
        record["code"] = f"{1 + index % 3}.{(100_000 + index * 7919) % 900_000 + 100_000:06d}"
        record["name"] = names[index % len(names)]
        (folder / f"{record['code']}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STORAGE_URL", "SECRET_KEY", "MOTCUA_PWA_DIR")}
    env.update(PYTHONPATH=str(ROOT), MOTCUA_DATA_DIR=str(workdir / "data"),
               DATABASE_URL=f"sqlite://{workdir / 'motcua.sqlite3'}")
    return env


def motcua(args: list[str], env: dict[str, str]) -> float:
    """Runs `motcua …` as a person would; the wall time in seconds (Python's start-up included)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"motcua {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.monotonic() - started


# -- 1. importing 2,000 national records ---------------------------------------------------------------------
def import_times(records: Path, repeats: int) -> dict[str, Any]:
    first, again = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="motcua-bench-catalog-") as tmp:
            env = environment(Path(tmp))
            motcua(["migrate"], env)
            first.append(motcua(["catalog", "import", "--format", "dvcqg", str(records)], env))
            again.append(motcua(["catalog", "import", "--format", "dvcqg", str(records)], env))  # all unchanged
    return {"import_s": first, "reimport_unchanged_s": again,
            "import_s_median": round(statistics.median(first), 2),
            "reimport_unchanged_s_median": round(statistics.median(again), 2)}


# -- 2–4. an instance: the index on the wire, a first visit, the search ----------------------------------------
def index_figures(url: str) -> dict[str, Any]:
    """The index as the app downloads it (?view=packed, server/catalog/packed.py), on the wire; per 1,000 procedures
    two ways: the whole answer scaled (headers and the field list scaled with it: pessimistic for a small catalog),
    and its fixed part (headers, field list) once plus 1,000 times the cost of one more procedure, measured between
    the first half of the catalog and the whole of it (the index of the first N procedures by name)."""
    from server.catalog.packed import unpack_index

    with httpx.Client(base_url=url, timeout=60, headers={"accept-encoding": "gzip, deflate, br"}) as http:
        index = http.get("/api/procedures?limit=1000&view=packed")  # what the app downloads (catalog.js)
        items = len(unpack_index(index.content))
        half = http.get(f"/api/procedures?limit={items // 2}&view=packed")
        marginal = (wire_size(index) - wire_size(half)) / (items - items // 2)
        fixed = wire_size(index) - marginal * items
        json_index = http.get("/api/procedures?limit=1000&view=index")  # the JSON index it replaced
        full = http.get("/api/procedures?limit=1000")  # the full items, for comparison
        return {"items": items, "index_wire_bytes": wire_size(index), "index_plain_body_bytes": len(index.content),
                "index_content_encoding": index.headers.get("content-encoding"),
                "index_wire_bytes_per_1000": round(wire_size(index) * 1000 / items),
                "index_marginal_bytes_per_procedure": round(marginal, 2), "index_fixed_bytes": round(fixed),
                "index_wire_bytes_for_1000_fixed_plus_marginal": round(fixed + 1000 * marginal),
                "json_index_wire_bytes_per_1000": round(wire_size(json_index) * 1000 / items),
                "full_items_wire_bytes_per_1000": round(wire_size(full) * 1000 / items),
                "index_headers_bytes": wire_size(index) - index.num_bytes_downloaded,
                "sw_js_bytes": wire_size(http.get("/sw.js")),
                "manifest_bytes": wire_size(http.get("/manifest.webmanifest"))}


def first_visit(browser, url: str, unseen: int, timeout_ms: float) -> dict[str, Any]:
    """A citizen's first visit on slow 3G until body[data-ready] (index, units, the forms this phone fetches: none
    for a citizen) and the worker has precached the shell; then one procedure opened (its form on demand)."""
    context = new_phone(browser)
    try:
        page = context.new_page()
        traffic = watch(browser, context, page, PROFILES["slow3g"])
        page.goto(url + "/app", wait_until="commit", timeout=timeout_ms)
        usable = ready_ms(page, timeout_ms)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=timeout_ms)
        page.locator("body[data-ready]").wait_for(state="attached", timeout=timeout_ms)
        page.wait_for_timeout(500)  # the worker's last precache answers
        kinds = traffic.by_kind()
        total = sum(kinds.values()) + unseen
        code = page.evaluate("() => document.querySelector('#results .card a').getAttribute('href').slice(4)")
        before = kinds.get("catalog_details", 0)
        page.locator("#results .card a").first.click()
        page.locator("#start").wait_for(timeout=timeout_ms)
        page.wait_for_timeout(300)
        opened = traffic.by_kind().get("catalog_details", 0) - before
        return {"usable_ms": usable, "bytes_by_kind": {**kinds, "sw_js_and_manifest": unseen}, "total_bytes": total,
                "first_procedure": code, "one_form_on_demand_bytes": opened, "requests": traffic.listing()}
    finally:
        context.close()


# A phone the browser says is on Wi-Fi (navigator.connection; Chromium on Linux reports no type, so it is stubbed as
# tests/test_pwa.py does): catalog.js prefetchesAllForms downloads every form after the index.
WIFI = """Object.defineProperty(Navigator.prototype, "connection", {configurable: true, get: () => ({
    type: "wifi", effectiveType: "4g", saveData: false, addEventListener() {}, removeEventListener() {}})});"""
# A home Wi-Fi link: 10 Mbit/s down, 2 up, 20 ms added round-trip time.
WIFI_LINK = {"offline": False, "latency": 20, "downloadThroughput": 10_000_000 / 8, "uploadThroughput": 2_000_000 / 8}
STORED = """() => new Promise(ok => indexedDB.open('motcua').onsuccess = e => {
    const t = e.target.result.transaction(['details', 'procedures']);
    t.objectStore('details').count().onsuccess = d => t.objectStore('procedures').count().onsuccess = p =>
        ok([d.target.result, p.target.result]); })"""


def wifi_visit(browser, url: str, timeout_ms: float) -> dict[str, Any]:
    """A first visit on Wi-Fi until every procedure's form is on the phone (any of them can then be filed offline):
    what the prefetch costs on the wire, in how many requests, and when it is done."""
    context = new_phone(browser)
    context.add_init_script(WIFI)
    try:
        page = context.new_page()
        traffic = watch(browser, context, page, WIFI_LINK)
        started = time.monotonic()
        page.goto(url + "/app", wait_until="commit", timeout=timeout_ms)
        # body[data-ready] is set once the forms are stored (app.js awaits catalog.js refreshCatalog).
        page.locator("body[data-ready]").wait_for(state="attached", timeout=timeout_ms)
        done_ms = round((time.monotonic() - started) * 1000)
        page.wait_for_timeout(500)
        stored = page.evaluate(STORED)
        forms = [path for _, path, _ in traffic.listing() if path.startswith("/api/procedures/")]
        kinds = traffic.by_kind()
        return {"forms_stored": stored[0], "procedures": stored[1], "all_forms_ms": done_ms,
                "forms_wire_bytes": kinds.get("catalog_details", 0), "forms_requests": len(forms),
                "forms_wire_bytes_per_procedure": round(kinds.get("catalog_details", 0) / max(stored[1], 1), 1),
                "total_bytes": sum(kinds.values()), "bytes_by_kind": kinds}
    finally:
        context.close()


def made_queries(rows: list[dict[str, str]], count: int = 200) -> list[str]:
    """Starts and middles of real names, with and without diacritics, codes and their starts (fixed seed)."""
    from server.vietnamese import fold

    rng = random.Random(20261206)
    queries = []
    for _ in range(count):
        row = rng.choice(rows)
        words = row["name"].split()
        start = rng.randrange(min(3, len(words)))
        text = " ".join(words[start:start + rng.randint(2, 4)])
        kind = rng.random()
        queries.append(row["code"] if kind < 0.1 else row["code"][:5] if kind < 0.2 else fold(text) if kind < 0.6 else text)
    return queries


def search_times(url: str, queries: list[str], rounds: int = 3) -> dict[str, Any]:
    """GET /api/procedures?q=… as the server-rendered catalog and the app online ask it (limit 50), on loopback."""
    times = []
    with httpx.Client(base_url=url, timeout=60, headers={"accept-encoding": "gzip"}) as http:
        for query in queries[:10]:
            http.get("/api/procedures", params={"q": query})  # warm-up
        for _ in range(rounds):
            for query in queries:
                started = time.perf_counter()
                response = http.get("/api/procedures", params={"q": query})
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
    times.sort()
    return {"requests": len(times), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(len(times) * 0.95)], 2), "max_ms": round(times[-1], 2)}


OFFLINE_SEARCH = """async (queries) => {
    const url = performance.getEntriesByType('resource').map((e) => e.name).find((n) => /\\/js\\/search\\.[0-9a-f]+\\.js$/.test(n));
    const { search } = await import(url);
    const procedures = await new Promise((ok) => indexedDB.open('motcua').onsuccess = (e) =>
        e.target.result.transaction('procedures').objectStore('procedures').getAll().onsuccess = (r) => ok(r.target.result));
    const times = [];
    for (let round = 0; round < 3; round++) for (const q of queries) {
        const started = performance.now();
        search(procedures, q);
        times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return { searches: times.length, p50_ms: times[Math.floor(times.length / 2)], p95_ms: times[Math.floor(times.length * 0.95)] };
}"""


def offline_search_times(browser, url: str, queries: list[str], timeout_ms: float) -> dict[str, Any]:
    """search.js over the phone's IndexedDB copy of the index, in the page (no network), desktop CPU."""
    context = new_phone(browser)
    try:
        page = context.new_page()
        page.goto(url + "/app", timeout=timeout_ms)
        page.locator("body[data-ready]").wait_for(state="attached", timeout=timeout_ms)
        return page.evaluate(OFFLINE_SEARCH, queries)
    finally:
        context.close()


def instance(name: str, workdir: Path, steps: list[list[str]], rows: list[dict[str, str]], browser,
             repeats: int, timeout_ms: float) -> dict[str, Any]:
    env = environment(workdir)
    for step in [["migrate"], ["seed"], *steps]:
        motcua(step, env)
    process, url = serve(env)
    try:
        figures = index_figures(url)
        unseen = figures["sw_js_bytes"] + figures["manifest_bytes"]  # the browser's own fetches, outside both targets
        visits = [first_visit(browser, url, unseen, timeout_ms) for _ in range(repeats)]
        queries = made_queries(rows)
        figures.update({
            "first_visit_total_bytes_median": statistics.median(v["total_bytes"] for v in visits),
            "first_visit_usable_ms_median": round(statistics.median(v["usable_ms"] for v in visits)),
            "first_visit_bytes_by_kind_median": {k: statistics.median(v["bytes_by_kind"].get(k, 0) for v in visits)
                                                 for k in sorted({k for v in visits for k in v["bytes_by_kind"]})},
            "one_form_on_demand_bytes_median": statistics.median(v["one_form_on_demand_bytes"] for v in visits),
            "wifi_first_visit": wifi_visit(browser, url, timeout_ms),
            "search_http": search_times(url, queries),
            "search_offline_js": offline_search_times(browser, url, queries, timeout_ms),
            "visits": visits,
        })
        print(name, json.dumps({k: v for k, v in figures.items() if k != "visits"}, ensure_ascii=False), flush=True)
        return figures
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2000, help="national records to import")
    parser.add_argument("--repeats", type=int, default=3, help="imports and first visits per figure (medians)")
    parser.add_argument("--timeout-s", type=float, default=180)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = commune_names()
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                              "records": args.records, "repeats": args.repeats}
    with tempfile.TemporaryDirectory(prefix="motcua-bench-catalog-") as tmp:
        records = Path(tmp) / "records"
        make_records(args.records, records)
        report["import"] = import_times(records, args.repeats)
        print("import", json.dumps(report["import"]), flush=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            report["chromium"] = browser.version
            # What `motcua seed` ships: the hand-made procedures and a real commune's whole list (254), the
            # national details merged in where a record exists (server/catalog/shipped.py): 260 procedures.
            report["shipped"] = instance("shipped", Path(tmp) / "shipped", [], rows + hand_made_rows(), browser,
                                         args.repeats, args.timeout_s * 1000)
            # The 2,000 imported records: the index's first 1,000 (the app's limit).
            report["imported_2000"] = instance(
                "imported_2000", Path(tmp) / "imported",
                [["catalog", "import", "--format", "dvcqg", str(records)]], rows, browser, 1, args.timeout_s * 1000)
            browser.close()
    commune = report["shipped"]
    report["headline"] = {
        "import_2000_records_s": report["import"]["import_s_median"],
        "catalog_index_bytes_per_1000_commune": commune["index_wire_bytes_per_1000"],
        "catalog_index_bytes_per_1000_imported": report["imported_2000"]["index_wire_bytes_per_1000"],
        "first_visit_bytes_commune": commune["first_visit_total_bytes_median"],
        "search_p50_ms_http_commune": commune["search_http"]["p50_ms"],
        "search_p50_ms_http_imported": report["imported_2000"]["search_http"]["p50_ms"],
        "search_p50_ms_offline_commune": commune["search_offline_js"]["p50_ms"],
        "wifi_all_forms_bytes_commune": commune["wifi_first_visit"]["forms_wire_bytes"],
        "wifi_all_forms_bytes_imported_1000": report["imported_2000"]["wifi_first_visit"]["forms_wire_bytes"],
        "catalog_index_bytes_for_1000_fixed_plus_marginal": commune["index_wire_bytes_for_1000_fixed_plus_marginal"],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    print(json.dumps(report["headline"], ensure_ascii=False, indent=1))
    print(f"wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
