"""The PWA benchmark (run on demand, never in the test suite): what the installable app (/app) costs a phone on
a slow link. Chromium at a phone's size, the link emulated through the DevTools protocol
(Network.emulateNetworkConditions), against a real motcua server on loopback whose catalog holds 1,000 procedures.

    PYTHONPATH=. .venv/bin/python bench/pwa/run.py [--runs 5] [--procedures 1000]

Writes bench/results/pwa.json. bench/pwa/README.md says what each figure means and how it is measured.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.pwa.catalog import make_catalog  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "pwa.json"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# The links, as Network.emulateNetworkConditions takes them: latency is the added round-trip time in ms,
# throughputs are bytes per second.
PROFILES = {
    "2g": {"offline": False, "latency": 300, "downloadThroughput": 250_000 / 8, "uploadThroughput": 50_000 / 8},
    "slow3g": {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8},
}
# The catalog is usable: its list is drawn from IndexedDB ("1000 thủ tục") with the first results under it.
CATALOG_READY = """() => {
  const count = document.getElementById('count');
  const ok = count && /^[1-9][0-9.]* thủ tục/.test(count.textContent) && document.querySelector('#results .card');
  return ok ? performance.now() : false;
}"""


# -- a motcua instance with a 1,000-procedure catalog ------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def motcua(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"motcua {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def prepare(workdir: Path, procedures: int) -> dict[str, str]:
    """A fresh SQLite instance: migrated, seeded (the shipped catalog: 260 procedures since the commune's list),
    then made up to `procedures`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STORAGE_URL", "SECRET_KEY", "MOTCUA_PWA_DIR")}
    env.update(PYTHONPATH=str(ROOT), MOTCUA_DATA_DIR=str(workdir / "data"),
               DATABASE_URL=f"sqlite://{workdir / 'motcua.sqlite3'}")
    from server.catalog.shipped import shipped_entries

    shipped = len({entry["code"] for entry in shipped_entries()})  # what `motcua seed` loads
    catalog = workdir / "catalog.json"
    catalog.write_text(json.dumps(make_catalog(procedures - shipped), ensure_ascii=False), encoding="utf-8")
    for step in (["migrate"], ["seed"], ["catalog", "import", str(catalog)]):
        motcua(step, env)
    return env


def serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)  # polling for the port
    raise SystemExit("the server did not start")


# -- what crossed the link: DevTools Network events of the page and of its service worker ------------------
class Traffic:
    """Encoded bytes per request (headers + body as received, Network.loadingFinished.encodedDataLength)."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.from_worker: set[str] = set()  # the page's requests answered by the service worker (not the network)
        self.bytes: dict[str, int] = {}

    def on_event(self, method: str, params: dict, prefix: str) -> None:
        key = prefix + params.get("requestId", "")
        if method == "Network.requestWillBeSent":
            self.urls[key] = params["request"]["url"]
        elif method == "Network.responseReceived":
            self.urls.setdefault(key, params["response"]["url"])  # attached after the request started
            if params["response"].get("fromServiceWorker"):
                self.from_worker.add(key)
        elif method == "Network.loadingFinished" and key not in self.from_worker:
            self.bytes[key] = self.bytes.get(key, 0) + int(params["encodedDataLength"])

    def by_kind(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for key, size in self.bytes.items():
            kind = kind_of(self.urls.get(key, ""))
            kinds[kind] = kinds.get(kind, 0) + size
        return kinds

    def listing(self) -> list[tuple[str, str, int]]:
        """(target, path, bytes) of every request that reached the network, in the order seen."""
        return [(key.split(":", 1)[0], urlsplit(self.urls.get(key, "")).path, size) for key, size in self.bytes.items()]

    def of(self, path_and_query: str) -> int:
        return sum(size for key, size in self.bytes.items()
                   if self.urls.get(key, "").split("://", 1)[-1].split("/", 1)[-1] == path_and_query.lstrip("/"))


def kind_of(url: str) -> str:
    path = urlsplit(url).path
    if path in ("/app", "/sw.js", "/manifest.webmanifest") or path.startswith("/static/"):
        return "shell"
    if path == "/api/procedures":
        return "catalog_index"
    if path.startswith("/api/procedures/"):
        return "catalog_details"  # /api/procedures/forms?codes=… (and /api/procedures/<code>)
    if path == "/api/units":
        return "units"
    return "other"  # /api/session, /api/sync


def watch(browser, context, page, profile: dict | None) -> Traffic:
    """Network events (and the link's emulation) for the page and for every service worker of the context."""
    traffic = Traffic()
    page_cdp = context.new_cdp_session(page)
    page_cdp.send("Network.enable")
    for method in ("Network.requestWillBeSent", "Network.responseReceived", "Network.loadingFinished"):
        page_cdp.on(method, lambda params, m=method: traffic.on_event(m, params, "page:"))
    if profile:
        page_cdp.send("Network.emulateNetworkConditions", profile)
    # A service worker is a target of its own: attach to it as soon as it exists, with the same emulation.
    browser_cdp = browser.new_browser_cdp_session()
    sessions: dict[str, str] = {}

    def to_worker(session: str, method: str, params: dict | None = None) -> None:
        message = {"id": len(sessions) * 100 + len(method), "method": method, "params": params or {}}
        browser_cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps(message)})

    def created(event: dict) -> None:
        info = event["targetInfo"]
        if info["type"] != "service_worker" or info["targetId"] in sessions:
            return
        session = browser_cdp.send("Target.attachToTarget", {"targetId": info["targetId"], "flatten": False})["sessionId"]
        sessions[info["targetId"]] = session
        to_worker(session, "Network.enable")
        if profile:
            to_worker(session, "Network.emulateNetworkConditions", profile)

    def received(event: dict) -> None:
        message = json.loads(event["message"])
        if "method" in message:
            traffic.on_event(message["method"], message.get("params", {}), f"worker:{event['sessionId']}:")

    browser_cdp.on("Target.targetCreated", created)
    browser_cdp.on("Target.receivedMessageFromTarget", received)
    browser_cdp.send("Target.setDiscoverTargets", {"discover": True})
    traffic.worker_sessions = sessions  # type: ignore[attr-defined]
    return traffic


def new_phone(browser):
    return browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                               has_touch=True, locale="vi-VN", service_workers="allow")


def ready_ms(page, timeout_ms: float) -> float:
    return float(page.wait_for_function(CATALOG_READY, polling=20, timeout=timeout_ms).json_value())


def one_run(browser, url: str, profile_name: str, timeout_ms: float) -> dict[str, Any]:
    """A first visit on the emulated link, then the app opened again with no network at all."""
    context = new_phone(browser)
    try:
        page = context.new_page()
        traffic = watch(browser, context, page, PROFILES[profile_name])
        page.goto(url + "/app", wait_until="commit", timeout=timeout_ms)
        first = ready_ms(page, timeout_ms)
        # Installed: the worker controls the page and has precached the shell.
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=timeout_ms)
        kinds = traffic.by_kind()
        # Every form on the phone (body[data-ready]): any procedure can now be drafted offline.
        forms_ms = float(page.wait_for_function(
            "() => document.body.dataset.ready ? performance.now() : false", polling=50, timeout=timeout_ms).json_value())
        forms_bytes = traffic.by_kind().get("catalog_details", 0)
        items = page.evaluate("""() => new Promise(ok => indexedDB.open('motcua').onsuccess = e =>
            e.target.result.transaction('procedures').objectStore('procedures').count().onsuccess = r => ok(r.target.result))""")
        figures = {"ready_ms": first, "bytes": kinds, "catalog_items": items, "forms_ready_ms": forms_ms,
                   "forms_bytes": forms_bytes,
                   "catalog_index_bytes": traffic.of("/api/procedures?limit=1000&view=packed"),
                   "worker_attached": bool(traffic.worker_sessions),  # type: ignore[attr-defined]
                   "requests": traffic.listing()}
        page.close()
        # Opened again on the same link: the shell from the worker's cache, the catalog from IndexedDB.
        again = context.new_page()
        watch(browser, context, again, PROFILES[profile_name])
        again.goto(url + "/app", wait_until="commit", timeout=timeout_ms)
        figures["repeat_online_ready_ms"] = ready_ms(again, timeout_ms)
        again.close()
        # And with no network at all.
        context.set_offline(True)
        offline = context.new_page()
        offline.goto(url + "/app", wait_until="commit", timeout=timeout_ms)
        figures["repeat_offline_ready_ms"] = ready_ms(offline, timeout_ms)
        return figures
    finally:
        context.close()


def wire_size(response: httpx.Response) -> int:
    """Status line, headers and body as HTTP/1.1 sends them (what encodedDataLength counts)."""
    head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n" + "".join(
        f"{k.decode()}: {v.decode()}\r\n" for k, v in response.headers.raw) + "\r\n"
    return len(head.encode()) + response.num_bytes_downloaded


FORMS_PER_REQUEST = 100  # as pwa/static/js/app.js asks for them


def direct_sizes(url: str) -> dict[str, Any]:
    from server.catalog.packed import unpack_index

    """Fetched directly (no browser): the worker script and the manifest, which the browser fetches outside the
    page's and the worker's own Network events; what the catalog would weigh gzip-compressed; all the forms, in
    batches as the app downloads them and, for comparison, one request per procedure."""
    with httpx.Client(base_url=url, timeout=60, headers={"accept-encoding": "gzip, deflate, br"}) as http:
        index = http.get("/api/procedures?limit=1000&view=packed")  # as the app asks for it (catalog.js)
        codes = [p["code"] for p in unpack_index(index.content)]  # server/catalog/packed.py
        details_wire = details_gzip = 0
        for code in codes:
            response = http.get(f"/api/procedures/{code}")
            details_wire += wire_size(response)
            details_gzip += len(gzip.compress(response.content, 6))
        bulk_wire = bulk_requests = 0
        for start in range(0, len(codes), FORMS_PER_REQUEST):
            response = http.get("/api/procedures/forms", params={"codes": ",".join(codes[start:start + FORMS_PER_REQUEST])})
            assert len(response.json()["items"]) == len(codes[start:start + FORMS_PER_REQUEST])
            bulk_wire += wire_size(response)
            bulk_requests += 1
        return {"forms_bulk_bytes_all": bulk_wire, "forms_bulk_requests": bulk_requests,"sw_js_bytes": wire_size(http.get("/sw.js")),
                "manifest_bytes": wire_size(http.get("/manifest.webmanifest")),
                "catalog_index_content_encoding": index.headers.get("content-encoding"),
                "catalog_index_plain_body_bytes": len(index.content),
                "catalog_index_gzip_body_bytes": len(gzip.compress(index.content, 6)),
                "details_count": len(codes), "details_bytes_all": details_wire,
                "details_gzip_body_bytes_all": details_gzip}


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = sorted({kind for run in runs for kind in run["bytes"]})
    return {"first_visit_ready_ms": median([r["ready_ms"] for r in runs]),
            "repeat_online_ready_ms": median([r["repeat_online_ready_ms"] for r in runs]),
            "repeat_offline_ready_ms": median([r["repeat_offline_ready_ms"] for r in runs]),
            "first_visit_bytes_by_kind": {kind: median([r["bytes"].get(kind, 0) for r in runs]) for kind in kinds},
            "forms_ready_ms": median([r["forms_ready_ms"] for r in runs]),
            "forms_bytes": median([r["forms_bytes"] for r in runs]),
            "catalog_index_bytes": median([r["catalog_index_bytes"] for r in runs]),
            "catalog_items": runs[0]["catalog_items"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="first visits per link profile (medians are reported)")
    parser.add_argument("--procedures", type=int, default=1000, help="procedures in the bench's catalog")
    parser.add_argument("--profiles", default="slow3g,2g")
    parser.add_argument("--timeout-s", type=float, default=180)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                              "profiles": PROFILES, "runs_per_profile": args.runs}
    with tempfile.TemporaryDirectory(prefix="motcua-bench-pwa-") as tmp:
        started = time.monotonic()
        env = prepare(Path(tmp), args.procedures)
        print(f"instance with {args.procedures} procedures ready ({time.monotonic() - started:.0f} s)", flush=True)
        process, url = serve(env)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
                report["chromium"] = browser.version
                for name in args.profiles.split(","):
                    runs = [one_run(browser, url, name, args.timeout_s * 1000) for _ in range(args.runs)]
                    report[name] = {**summary(runs), "runs": runs}
                    print(name, json.dumps(summary(runs), ensure_ascii=False), flush=True)
                browser.close()
            direct = direct_sizes(url)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    main_profile = report["slow3g"] if "slow3g" in report else report[args.profiles.split(",")[0]]
    kinds = main_profile["first_visit_bytes_by_kind"]
    unseen = direct["sw_js_bytes"] + direct["manifest_bytes"]  # fetched by the browser itself, outside both targets
    per_1000 = 1000 / main_profile["catalog_items"]
    report.update({
        "first_visit_bytes": round(sum(kinds.values()) + unseen),
        "first_visit_shell_bytes": round(kinds.get("shell", 0) + unseen),
        "catalog_index_bytes_per_1000": round(main_profile["catalog_index_bytes"] * per_1000),
        "catalog_index_gzip_bytes_per_1000": round(direct["catalog_index_gzip_body_bytes"] * per_1000),
        "catalog_forms_bytes_per_1000": round(direct["forms_bulk_bytes_all"] * 1000 / direct["details_count"]),
        "catalog_forms_requests_per_1000": round(direct["forms_bulk_requests"] * 1000 / direct["details_count"]),
        "catalog_details_bytes_per_1000": round(direct["details_bytes_all"] * 1000 / direct["details_count"]),
        "catalog_details_gzip_bytes_per_1000": round(direct["details_gzip_body_bytes_all"] * 1000 / direct["details_count"]),
        "first_visit_ready_ms_slow3g": report.get("slow3g", {}).get("first_visit_ready_ms"),
        "first_visit_ready_ms_2g": report.get("2g", {}).get("first_visit_ready_ms"),
        "repeat_online_ready_ms_slow3g": report.get("slow3g", {}).get("repeat_online_ready_ms"),
        "forms_ready_ms_slow3g": report.get("slow3g", {}).get("forms_ready_ms"),
        "forms_ready_ms_2g": report.get("2g", {}).get("forms_ready_ms"),
        "repeat_offline_ready_ms": main_profile["repeat_offline_ready_ms"],
        "direct": direct,
    })
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    headline = {k: v for k, v in report.items() if k.endswith(("_bytes", "_ms", "_per_1000", "_slow3g", "_2g"))}
    print(json.dumps(headline, ensure_ascii=False, indent=1))
    print(f"wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
