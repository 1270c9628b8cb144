"""The statistics benchmark (run on demand, never in the test suite): `motcua demo` loads a year of dossiers
(87,000 by default, the seed province's 2020 figure) into a fresh SQLite file and a fresh PostgreSQL database,
then the leaders' dashboard is timed over HTTP against a real `motcua serve` process.

    PYTHONPATH=. /tmp/venv0/bin/python bench/workflow/run.py [--databases sqlite,postgres] [--dossiers 87000]
        [--rounds 20] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Timed requests, one after another (a leader opening the dashboard, not a load test): the province (the demo
administrator) and one ward (the demo leader), each for the year and for one month, each as JSON
(GET /api/statistics) and as the page with its SVG charts (GET /statistics). Writes bench/results/workflow.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "workflow.json"
ADMIN, LEADER = ("0987000004", "quantri123"), ("0987000003", "lanhdao123")  # `motcua seed`'s demo accounts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def motcua(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"motcua {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def sign_in(url: str, account: tuple[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    token = client.get("/api/session").json()["csrf_token"]
    response = client.post("/api/session", json={"phone": account[0], "password": account[1]},
                           headers={"X-CSRF-Token": token})
    response.raise_for_status()
    return client


def run_backend(kind: str, dossiers: int, rounds: int, pg_admin_url: str) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"motcua-bench-workflow-{kind}-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STORAGE_URL", "SECRET_KEY")}
    env.update(PYTHONPATH=str(ROOT), MOTCUA_DATA_DIR=str(workdir / "data"))
    pg_name = None
    if kind == "sqlite":
        env["DATABASE_URL"] = f"sqlite://{workdir / 'motcua.sqlite3'}"
    else:
        pg_name = f"motcua_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(pg_admin_url, f'CREATE DATABASE "{pg_name}"'))
        parts = urlsplit(pg_admin_url)
        env["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{pg_name}", parts.query, ""))
    process = None
    try:
        motcua(["migrate"], env)
        motcua(["seed"], env)
        started = time.monotonic()
        summary = motcua(["demo", "--dossiers", str(dossiers), "--seed", "2020"], env).strip().splitlines()[-1]
        load_seconds = time.monotonic() - started
        print(f"[{kind}] {summary}", flush=True)

        port = free_port()
        process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
                                    "--port", str(port)], env=env, cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)  # polling for the port
        admin, leader = sign_in(url, ADMIN), sign_in(url, LEADER)
        now = datetime.now(timezone(timedelta(hours=7)))
        month = max(now.month - 1, 1)
        requests = {
            "province_year_json": (admin, f"/api/statistics?year={now.year}"),
            "province_month_json": (admin, f"/api/statistics?year={now.year}&month={month}"),
            "unit_year_json": (leader, f"/api/statistics?year={now.year}"),
            "unit_month_json": (leader, f"/api/statistics?year={now.year}&month={month}"),
            "province_year_page": (admin, f"/statistics?year={now.year}"),
            "province_month_page": (admin, f"/statistics?year={now.year}&month={month}"),
            "unit_year_page": (leader, f"/statistics?year={now.year}"),
            "unit_month_page": (leader, f"/statistics?year={now.year}&month={month}"),
        }
        received = admin.get(f"/api/statistics?year={now.year}").json()["received"]  # also warms the caches
        timings: dict[str, list[float]] = {name: [] for name in requests}
        for _ in range(rounds):
            for name, (client, path) in requests.items():
                begin = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - begin) * 1000
                response.raise_for_status()
                timings[name].append(elapsed)
        every = [value for values in timings.values() for value in values]
        return {
            "demo_dossiers": dossiers,
            "demo_dossiers_received_this_year": received,
            "demo_load_seconds": round(load_seconds, 1),
            "dashboard_p50_ms": round(statistics.median(every), 1),
            "dashboard_p99_ms": round(percentile(every, 0.99), 1),
            "requests": len(every),
            "per_request": {name: {"p50_ms": round(statistics.median(values), 1),
                                   "p99_ms": round(percentile(values, 0.99), 1)} for name, values in timings.items()},
        }
    finally:
        if process and process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
        if pg_name:
            asyncio.run(pg_admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--dossiers", type=int, default=87_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    results = {"benchmark": "statistics dashboard on a year of demo dossiers (bench/workflow/run.py)",
               "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "command": "PYTHONPATH=. /tmp/venv0/bin/python bench/workflow/run.py " + " ".join(sys.argv[1:]),
               "backends": {}}
    if RESULTS.exists():  # a run of one backend keeps the other's last figures (each with its own date)
        results["backends"] = json.loads(RESULTS.read_text(encoding="utf-8")).get("backends", {})
    for kind in args.databases.split(","):
        results["backends"][kind] = run_backend(kind.strip(), args.dossiers, args.rounds, args.pg_admin_url)
        results["backends"][kind]["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        print(f"[{kind}] " + json.dumps({k: v for k, v in results["backends"][kind].items() if k != "per_request"}),
              flush=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
