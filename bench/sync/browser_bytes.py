"""Bytes of the app's own sync rounds as Chromium sends them (run on demand, never in the test suite).

    PYTHONPATH=. .venv/bin/python bench/sync/browser_bytes.py [--repeats 3]

A fresh SQLite motcua (`run.prepare`: migrate, seed, the 20-field procedure BENCH.0020) served on loopback over
HTTP/1.1; headless Chromium (/usr/bin/chromium) as a phone (360x740, mobile, vi-VN, service worker allowed) signs in
as the seeded demo citizen and opens /app. Then, through the app's own modules (outbox.js, sync.js: the same
`requestSync()` the app calls), it drafts a 20-field dossier of BENCH.0020 and syncs it, then measures:

- `noop_round`: a sync run with nothing to send or fetch;
- `one_field_edit`: a run sending one changed field of that dossier (saveDraft, as the form screen does).

Each figure is one `POST /api/sync` as Playwright's `request.sizes()` reports it (request headers as Chromium
sent them, cookies included, request body as sent, response headers and body as received: compressed), so what a
phone pays over HTTP/1.1. HTTP/2 (behind the nginx of infra/, HPACK) sends repeated headers as a few bytes each;
not measured here. Results go to bench/results/sync.json under "browser" (the other keys are kept).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/sync/run.py: prepare, serve, stop, the 20 fields)

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
DEMO_PHONE, DEMO_PASSWORD = "0912345678", "congdan123"

# Runs in the app's page: its own modules (the URLs the app loaded, hashed), so the same module instances.
DRIVE = """async ([step, fields]) => {
  const url = (name) => performance.getEntriesByType("resource").map((e) => e.name)
    .find((n) => new URL(n).pathname.match(new RegExp("/static/js/" + name + "(\\\\.[0-9a-f]+)?\\\\.js$")));
  const outbox = await import(url("outbox")), sync = await import(url("sync"));
  if (step === "create") {
    window.__benchId = await outbox.startDraft({ code: "BENCH.0020", name: "Đo hiệu năng" });
    await outbox.saveDraft(window.__benchId, fields, fields);
  } else if (step === "edit") {
    await outbox.saveDraft(window.__benchId, fields, fields);
  }
  return await sync.requestSync();
}"""


def sizes_of(request: Any) -> dict[str, int]:
    found = request.sizes()
    figures = {"request_headers": found["requestHeadersSize"], "request_body": found["requestBodySize"],
               "response_headers": found["responseHeadersSize"], "response_body": found["responseBodySize"]}
    figures["total"] = sum(figures.values())
    return figures


def measure_once(url: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="vi-VN", service_workers="allow", base_url=url)
        context.set_default_timeout(60_000)
        csrf = context.request.get("/api/session").json()["csrf_token"]
        signed = context.request.post("/api/session", data={"phone": DEMO_PHONE, "password": DEMO_PASSWORD},
                                      headers={"X-CSRF-Token": csrf})
        assert signed.ok, signed.text()
        page = context.new_page()
        seen: list[Any] = []
        page.on("requestfinished", lambda request: seen.append(request)
                if request.url.endswith("/api/sync") else None)
        page.goto("/app")
        page.wait_for_function("() => performance.getEntriesByType('resource')"
                               ".some((e) => e.name.endsWith('/api/sync'))")
        page.wait_for_load_state("networkidle")
        fields = run.twenty_fields(1)
        figures: dict[str, Any] = {}
        for step, values in (("create", fields), ("noop", None), ("edit", {**fields, "note": "Đã bổ sung bản sao"})):
            page.wait_for_load_state("networkidle")
            before = len(seen)
            outcome = page.evaluate(DRIVE, [step, values])
            assert outcome in ("ok", "done"), outcome
            deadline = time.monotonic() + 30
            while len(seen) <= before and time.monotonic() < deadline:
                page.wait_for_timeout(50)  # polling for the requestfinished event
            request = seen[before]
            body = request.post_data_buffer or b""
            figures[step] = sizes_of(request)
            figures[step]["request_header_names"] = sorted(request.all_headers())
            figures[step]["response_header_names"] = sorted(request.response().all_headers())
            figures[step]["sent_gzip"] = body[:2] == b"\x1f\x8b"
        figures["user_agent"] = page.evaluate("navigator.userAgent")
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="motcua-bytes-") as tmp:
        instance = run.prepare("sqlite", Path(tmp), "")
        run.serve(instance)
        try:
            runs = [measure_once(instance.url) for _ in range(args.repeats)]
        finally:
            run.stop(instance)
    report = {"command": "PYTHONPATH=. .venv/bin/python bench/sync/browser_bytes.py " + " ".join(sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "chromium": runs[0]["user_agent"],
              "http": "HTTP/1.1, loopback"}
    for step, name in (("noop", "noop_round"), ("edit", "one_field_edit")):
        totals = [one[step]["total"] for one in runs]
        report[name + "_bytes"] = statistics.median(totals)
        report[name] = {**runs[0][step], "totals": totals}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    results = json.loads(run.RESULTS.read_text()) if run.RESULTS.exists() else {}
    results["browser"] = report
    run.RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
