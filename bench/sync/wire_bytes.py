"""Bytes of the app's own sync rounds as the network carries them, behind the production proxy (run on demand).

    PYTHONPATH=. .venv/bin/python bench/sync/wire_bytes.py [--repeats 3]

Needs Debian's nginx (`apt-get install nginx-light libnginx-mod-http-brotli-filter`) and /usr/bin/chromium.

`browser_bytes.py` adds up what Chromium reports of one request over HTTP/1.1. A phone of a province talks to the
nginx of infra/ instead: TLS and HTTP/2, where HPACK sends repeated headers (cookies, user agent) as a byte or two.
Here every byte is counted on the wire: a relay on loopback stands between Chromium and the server and counts the
TCP payload in each direction (TLS records, HTTP/2 frames, every request the page and its service worker make in
that window: nothing is left out because it is "not the sync request").

Two paths, one run, the same app and rounds as browser_bytes.py (draft a 20-field dossier, then a no-op round and a
one-field edit, through the app's own outbox.js/sync.js):

- `direct`: Chromium → relay → uvicorn, plain HTTP/1.1 (the embedded default on one machine);
- `nginx`: Chromium → relay → nginx (TLS 1.3, HTTP/2, the site configuration of infra/nginx/ included as is,
  Brotli when the module is there) → uvicorn.

A round's figure is the bytes that crossed the relay from just before `requestSync()` to 300 ms after it returned,
both directions added. Results go to bench/results/sync.json under "wire" (the other keys are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/sync/run.py: prepare, serve, stop, the 20 fields)
from browser_bytes import CHROMIUM, DEMO_PASSWORD, DEMO_PHONE, DRIVE, FLAGS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")
STEPS = (("create", None), ("noop", None), ("edit", {"note": "Đã bổ sung bản sao"}))


class Relay:
    """A TCP relay on loopback that counts the payload bytes in each direction, over all its connections."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = 0  # phone → server
        self.down = 0  # server → phone
        self.port = run.free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upward: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if upward:
                        self.up += len(data)
                    else:
                        self.down += len(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
            try:
                server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                client_writer.close()
                return
            await asyncio.gather(pipe(client_reader, server_writer, True), pipe(server_reader, client_writer, False))

        async def start() -> None:
            await asyncio.start_server(handle, "127.0.0.1", self.port)
            ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def total(self) -> tuple[int, int]:
        return self.up, self.down


def start_nginx(workdir: Path, app_port: int) -> tuple[subprocess.Popen, int]:
    """nginx with the site configuration of infra/nginx/ as production includes it, TLS with a throwaway cert."""
    port = run.free_port()
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    brotli = BROTLI_MODULE.exists()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / sub).mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
{'load_module ' + str(BROTLI_MODULE) + ';' if brotli else ''}
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body; proxy_temp_path {workdir}/proxy; fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi; scgi_temp_path {workdir}/scgi;
    upstream motcua_app {{ server 127.0.0.1:{app_port}; keepalive 8; }}
    server_tokens off;
    {'include ' + str(ROOT / 'infra/nginx/brotli.conf') + ';' if brotli else ''}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:motcua_tls:1m;
        include {ROOT / 'infra/nginx/motcua-site.conf'};
    }}
}}
""")
    process = subprocess.Popen(["nginx", "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log")],
                               start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with __import__("socket").create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nginx did not start: {(workdir / 'error.log').read_text()}")


def measure_once(base_url: str, relay: Relay, tls: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=FLAGS + (["--ignore-certificate-errors"] if tls else []))
        context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="vi-VN", service_workers="allow", base_url=base_url,
                                      ignore_https_errors=tls)
        context.set_default_timeout(60_000)
        csrf = context.request.get("/api/session").json()["csrf_token"]
        signed = context.request.post("/api/session", data={"phone": DEMO_PHONE, "password": DEMO_PASSWORD},
                                      headers={"X-CSRF-Token": csrf})
        assert signed.ok, signed.text()
        page = context.new_page()
        protocols: list[str] = []
        page.on("response", lambda response: protocols.append(response.request.url)
                if response.url.endswith("/api/sync") else None)
        page.goto("/app")
        page.wait_for_function("() => performance.getEntriesByType('resource')"
                               ".some((e) => e.name.endsWith('/api/sync'))")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        fields = run.twenty_fields(1)
        figures: dict[str, Any] = {}
        for step, change in STEPS:
            values = None if step == "noop" else {**fields, **(change or {})}
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)
            up, down = relay.total()
            outcome = page.evaluate(DRIVE, [step, values])
            assert outcome in ("ok", "done"), outcome
            page.wait_for_timeout(300)
            after_up, after_down = relay.total()
            figures[step] = {"up": after_up - up, "down": after_down - down,
                             "total": after_up - up + after_down - down}
        figures["protocol"] = page.evaluate("performance.getEntriesByType('resource')"
                                            ".filter((e) => e.name.endsWith('/api/sync')).pop().nextHopProtocol")
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    report: dict[str, Any] = {"command": "PYTHONPATH=. .venv/bin/python bench/sync/wire_bytes.py "
                              + " ".join(sys.argv[1:]),
                              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "brotli_module": BROTLI_MODULE.exists()}
    with tempfile.TemporaryDirectory(prefix="motcua-wire-") as tmp:
        instance = run.prepare("sqlite", Path(tmp), "")
        app_port_holder: dict[str, Any] = {}
        nginx = None
        try:
            for path in ("direct", "nginx"):
                # The app's address is the one the phone opens (cookies, Origin check): set before it starts.
                if path == "direct":
                    run.serve(instance)
                    app_port = int(instance.url.rsplit(":", 1)[1])
                    relay = Relay(app_port)
                    base = f"http://localhost:{relay.port}"
                else:
                    nginx, nginx_port = start_nginx(Path(tmp), app_port_holder["port"])
                    relay = Relay(nginx_port)
                    base = f"https://localhost:{relay.port}"
                app_port_holder.setdefault("port", app_port)
                runs = [measure_once(base, relay, tls=path == "nginx") for _ in range(args.repeats)]
                report[path] = {"protocol": runs[0]["protocol"]}
                for step, name in (("noop", "noop_round"), ("edit", "one_field_edit")):
                    totals = [one[step]["total"] for one in runs]
                    report[path][name + "_bytes"] = statistics.median(totals)
                    report[path][name] = {"up": runs[0][step]["up"], "down": runs[0][step]["down"],
                                          "totals": totals}
        finally:
            if nginx is not None and nginx.poll() is None:
                os.killpg(nginx.pid, signal.SIGTERM)
                nginx.wait(timeout=10)
            run.stop(instance)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    results = json.loads(run.RESULTS.read_text()) if run.RESULTS.exists() else {}
    results["wire"] = report
    run.RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
