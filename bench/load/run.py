"""The load and fault benchmark (run on demand, never in the test suite): simulated phones syncing, uploading
document pages and tracking dossiers against infra/stack (2 app instances behind nginx, a private PostgreSQL
cluster, s3rver), with faults during the run; afterwards, a check that the database and the bucket hold
exactly what the phones were told was accepted.

    PYTHONPATH=. .venv/bin/python bench/load/run.py [--devices 1000] [--minutes 10] [--think 10]

Faults (times as shares of the run): app instance 1 killed at 20 % and restarted 30 s later; the S3 server
stopped at 45 % for 60 s; PostgreSQL restarted (fast shutdown) at 70 %. Writes bench/results/load.json.
See bench/load/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "load.json"
CATALOG = ROOT / "bench" / "sync" / "catalog-bench.json"
PROCEDURE, UNIT, DOCUMENT = "BENCH.0020", "08707", "Tờ khai"
PASSWORD = "matkhau-tai-nang"
PG_BIN = next(Path("/usr/lib/postgresql").glob("*/bin"))


# -- the stack --------------------------------------------------------------------------------------------
def sh(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


class PrivatePostgres:
    """A PostgreSQL cluster of our own (the shared one on :5432 must not be restarted under others)."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.dir, self.port = workdir / "pg", port
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        self.user = ["runuser", "-u", "postgres", "--"]
        sh(*self.user, str(PG_BIN / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        sh(*self.user, str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-l", str(self.dir / "log"), "-w",
           "-o", options, *args)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/motcua_load"


def stack(*args: str, directory: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from tests.s3_servers import S3RVER_DIR, ensure_s3rver

    ensure_s3rver()  # s3rver from npm, installed on first use as the storage tests install it
    env = {**os.environ, "MOTCUA_PYTHON": sys.executable, "MOTCUA_S3RVER_DIR": str(S3RVER_DIR)}
    return sh("bash", str(ROOT / "infra" / "stack"), *args, "--dir", str(directory), env=env, timeout=600).stdout


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- a simulated phone ------------------------------------------------------------------------------------
def small_jpeg() -> bytes:
    from PIL import Image

    image = Image.effect_noise((96, 128), 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=60)
    return out.getvalue()


RETRYABLE = frozenset({429, 502, 503, 504})  # the app waits and sends the same request again
RETRIES = 8  # 1 + 2 + 4 + 8 + 16 + 30 + 30 s of waiting at most: longer than any fault of the run
WAIT_CAP_S = 30.0


def wait_before_retry(response: httpx.Response | None, attempt: int) -> float:
    """What the app waits: the server's Retry-After when it says one, else a growing back-off (docs/sync.md)."""
    stated = response.headers.get("Retry-After", "") if response is not None else ""
    if stated.isascii() and stated.isdigit():
        return min(WAIT_CAP_S, float(stated))
    return min(WAIT_CAP_S, 2.0 ** attempt) * random.uniform(0.8, 1.2)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {})
    statuses: Counter = field(default_factory=Counter)
    requests: int = 0
    errors: int = 0  # 5xx and connection failures (a 4xx the phone expects is not an error)
    # Every request: kind, when it started (seconds since `origin`), how long it took (ms), its status.
    samples: list[tuple[str, float, float, int | None]] = field(default_factory=list)
    origin: float = field(default_factory=time.monotonic)
    refusals_without_retry_after: int = 0  # a 429 or 503 that did not say when to come back
    actions: Counter = field(default_factory=Counter)  # "kind ok" / "kind failed": after the phone's retries

    def record(self, kind: str, started: float, response: httpx.Response | None) -> None:
        status = response.status_code if response is not None else None
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.requests += 1
        self.latencies.setdefault(kind, []).append(elapsed_ms)
        self.samples.append((kind, time.monotonic() - elapsed_ms / 1000 - self.origin, elapsed_ms, status))
        self.statuses[f"{kind} {status or 'no answer'}"] += 1
        if status is None or status >= 500:
            self.errors += 1
        if status in (429, 503) and "Retry-After" not in response.headers:  # type: ignore[union-attr]
            self.refusals_without_retry_after += 1


@dataclass
class Phone:
    client: httpx.AsyncClient
    csrf: str
    stats: Stats
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = 0
    cursor: str | None = None
    pending: list[dict] = field(default_factory=list)  # sent, not yet answered: resent as is (same ids)
    versions: dict[str, int] = field(default_factory=dict)  # dossier id → version, once accepted
    accepted_dossiers: set[str] = field(default_factory=set)
    accepted_pages: dict[str, str] = field(default_factory=dict)  # attachment id → sha256
    made: int = 0

    async def request(self, kind: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        """One request as the app makes it: sent again, unchanged, after a refusal that says to come back
        (429, 503, a proxy's 502/504) or no answer, up to RETRIES times. Each attempt is a sample; the action
        counts as failed only when every attempt did."""
        response: httpx.Response | None = None
        for attempt in range(RETRIES):
            started = time.perf_counter()
            try:
                response = await self.client.request(method, url, **kwargs)
            except httpx.HTTPError:
                response = None
            self.stats.record(kind, started, response)
            if response is not None and response.status_code not in RETRYABLE:
                break
            if attempt < RETRIES - 1:
                await asyncio.sleep(wait_before_retry(response, attempt))
        failed = response is None or response.status_code in RETRYABLE or response.status_code >= 500
        self.stats.actions[f"{kind} {'failed' if failed else 'ok'}"] += 1
        return response

    def mutation(self, **fields: Any) -> dict:
        self.seq += 1
        return {"mutation_id": str(uuid.uuid4()), "seq": self.seq, **fields}

    def new_dossier(self) -> None:
        self.made += 1
        changes = {"procedure_code": {"value": PROCEDURE}, "unit_code": {"value": UNIT},
                   "form.full_name": {"value": f"Nguyễn Thị Tải {self.made}"}, "form.birth_date": {"value": "1990-03-15"},
                   "form.sex": {"value": "female"}, "form.phone": {"value": "0912 345 678"}}
        self.pending.append(self.mutation(entity="dossier", entity_id=str(uuid.uuid4()), op="create", changes=changes))

    def edit(self) -> None:
        if not self.versions or any(m["op"] == "update" for m in self.pending):
            return
        dossier_id = random.choice(list(self.versions))
        self.pending.append(self.mutation(entity="dossier", entity_id=dossier_id, op="update",
                                          base_version=self.versions[dossier_id],
                                          changes={"form.note": {"base": None, "value": f"ghi chú {self.seq}"}}))

    async def sync(self) -> bool:
        payload = {"device_id": self.device_id, "cursor": self.cursor, "limit": 100, "own": "version",
                   "mutations": self.pending}
        raw = gzip.compress(json.dumps(payload, ensure_ascii=False).encode(), mtime=0)
        response = await self.request("sync", "POST", "/api/sync", content=raw, headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip", "X-CSRF-Token": self.csrf})
        if response is None or response.status_code != 200:
            if response is not None and response.status_code == 400 and "cursor" in response.text:
                self.cursor = None  # the database came back from a restart behind our cursor
            return False
        answer = response.json()
        sent = {m["mutation_id"]: m for m in self.pending}
        for result in answer["results"]:
            mutation = sent.get(result.get("mutation_id"))
            if mutation is None:
                continue
            if result["status"] in ("applied", "merged"):
                if mutation["op"] == "create":
                    self.accepted_dossiers.add(mutation["entity_id"])
                if "version" in result:
                    self.versions[mutation["entity_id"]] = result["version"]
            elif mutation["op"] == "update":
                self.versions.pop(mutation["entity_id"], None)  # a conflict: stop editing that one
        for change in answer["changes"]:
            if change.get("entity") == "dossier" and change.get("version") and change["id"] in self.versions:
                self.versions[change["id"]] = change["version"]
        self.pending = []
        self.cursor = answer["cursor"]
        return True

    async def upload(self) -> None:
        if not self.versions:
            return
        body = small_jpeg()
        sha = hashlib.sha256(body).hexdigest()
        page_id = str(uuid.uuid4())
        registration = {"id": page_id, "dossier_id": random.choice(list(self.versions)), "document": DOCUMENT,
                        "page": 1 + len(self.accepted_pages) % 50, "sha256": sha, "size": len(body),
                        "content_type": "image/jpeg"}
        response = await self.request("attach", "POST", "/api/attachments", json=registration,
                                      headers={"X-CSRF-Token": self.csrf})
        if response is None or response.status_code not in (200, 201):
            return
        target = response.json()["upload"]
        if target.get("kind") != "put":
            return
        put = await self.request("s3 put", "PUT", target["url"], content=body, headers=target.get("headers") or {})
        if put is None or put.status_code >= 300:
            return
        done = await self.request("finalize", "POST", f"/api/attachments/{page_id}/finalize", json={},
                                  headers={"X-CSRF-Token": self.csrf})
        if done is not None and done.status_code == 200 and done.json().get("status") == "verified":
            self.accepted_pages[page_id] = sha

    async def track(self) -> None:
        code = f"{UNIT}-251125-{random.randint(0, 9999):04d}"
        await self.request("track", "POST", "/api/track", json={"code": code, "digits": "5678"})


async def register(url: str, stats: Stats, address: str) -> Phone:
    client = httpx.AsyncClient(base_url=url, timeout=60, headers={"X-Forwarded-For": address},
                               limits=httpx.Limits(max_connections=2))
    csrf = (await client.get("/api/session")).json()["csrf_token"]
    for _ in range(5):
        answer = await client.post("/api/accounts", json={"phone": "09" + str(uuid.uuid4().int)[:8], "password": PASSWORD,
                                                          "full_name": "Người dùng tải"}, headers={"X-CSRF-Token": csrf})
        if answer.status_code == 201:
            return Phone(client, answer.json().get("csrf_token") or csrf, stats)
    raise SystemExit(f"registration failed: {answer.status_code} {answer.text}")


async def live(phone: Phone, stop_at: float, think: float) -> None:
    await asyncio.sleep(random.uniform(0, think))
    while time.monotonic() < stop_at:
        roll = random.random()
        if roll < 0.25:
            phone.new_dossier()
            await phone.sync()
        elif roll < 0.40:
            phone.edit()
            await phone.sync()
        elif roll < 0.50:
            await phone.upload()
        elif roll < 0.55:
            await phone.track()
        else:
            await phone.sync()  # a background pull (and a resend of anything unanswered)
        await asyncio.sleep(random.expovariate(1 / think))


async def faults(directory: Path, pg: PrivatePostgres, seconds: float, log: list) -> None:
    started = time.monotonic()

    async def at(share: float, what: str, action) -> None:
        await asyncio.sleep(max(0.0, started + share * seconds - time.monotonic()))
        entry = {"at_s": round(time.monotonic() - started, 1), "fault": what}
        log.append(entry)
        await asyncio.to_thread(action)
        entry["done_s"] = round(time.monotonic() - started, 1)

    await at(0.20, "app instance 1 killed (SIGKILL)", lambda: stack("kill-instance", "1", directory=directory))
    await at(0.20 + 30 / seconds, "app instance 1 restarted", lambda: stack("start-instance", "1", directory=directory))
    await at(0.45, "S3 server stopped", lambda: stack("stop-s3", directory=directory))
    await at(0.45 + 60 / seconds, "S3 server started", lambda: stack("start-s3", directory=directory))
    await at(0.70, "PostgreSQL restarted (fast shutdown)", lambda: pg.ctl("restart", "-m", "fast"))


def fault_windows(log: list[dict], settle_s: float = 10.0) -> list[tuple[float, float]]:
    """From each fault to its recovery (the PostgreSQL restart: to the end of the restart) and 10 s more."""
    windows, opened = [], None
    for entry in log:
        if entry["fault"].endswith(("killed (SIGKILL)", "stopped")):
            opened = entry["at_s"]
        elif entry["fault"].endswith(("restarted", "started")) and opened is not None:
            windows.append((opened, entry["at_s"] + settle_s))
            opened = None
        elif entry["fault"].startswith("PostgreSQL restarted"):
            windows.append((entry["at_s"], entry.get("done_s", entry["at_s"]) + settle_s))
    return windows


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def verify(phones: list[Phone], database_url: str, url: str) -> dict[str, Any]:
    """Compare what phones were told was accepted with what the database and the bucket hold."""
    import asyncpg

    told_dossiers = set().union(*(p.accepted_dossiers for p in phones))
    told_pages = {page: sha for p in phones for page, sha in p.accepted_pages.items()}
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch("SELECT d.id::text AS id FROM dossiers d JOIN users u ON u.id = d.owner_id "
                                      "WHERE u.full_name = 'Người dùng tải'")
        pages = await connection.fetch("SELECT id, sha256, status FROM attachments")
    finally:
        await connection.close()
    held = [row["id"] for row in rows]
    verified = {row["id"]: row["sha256"] for row in pages if row["status"] == "verified"}
    lost_dossiers = told_dossiers - set(held)
    lost_pages = [page for page, sha in told_pages.items() if verified.get(page) != sha]
    # The bucket: every page a phone was told is stored must download with the same bytes.
    missing_bytes = 0
    owner_of = {page: phone for phone in phones for page in phone.accepted_pages}
    semaphore = asyncio.Semaphore(16)

    async def check(page: str, sha: str) -> None:
        nonlocal missing_bytes
        async with semaphore:
            phone = owner_of[page]
            info = await phone.client.get(f"/api/attachments/{page}")
            link = info.json().get("download_url") if info.status_code == 200 else None
            body = (await phone.client.get(link)).content if link else b""
            if hashlib.sha256(body).hexdigest() != sha:
                missing_bytes += 1

    await asyncio.gather(*(check(page, sha) for page, sha in told_pages.items()))
    return {"dossiers_told": len(told_dossiers), "dossiers_held": len(held), "pages_told": len(told_pages),
            "lost_dossiers": len(lost_dossiers), "lost_pages": len(lost_pages), "pages_missing_in_bucket": missing_bytes,
            "duplicated_dossiers": len(held) - len(set(held)),
            "unannounced_dossiers": len(set(held) - told_dossiers)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="motcua-load-"))
    os.chmod(workdir, 0o755)
    pg = PrivatePostgres(workdir, free_port())
    pg.ctl("start")
    directory = workdir / "stack"
    env_limits = os.environ.get("MOTCUA_RATE_LIMITS")
    try:
        import asyncpg

        admin = await asyncpg.connect(f"postgres://postgres@127.0.0.1:{pg.port}/postgres")
        await admin.execute('CREATE DATABASE "motcua_load"')
        await admin.close()
        print(stack("start", "--instances", "2", "--port", str(free_port()), "--database", pg.url, "--s3", "s3rver",
                    directory=directory).strip(), flush=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for line in (directory / "env").read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value.strip("'")
        sh(sys.executable, "-m", "server.cli", "catalog", "import", str(CATALOG), env=env, cwd=directory)
        url = "http://127.0.0.1:" + (directory / "proxy.port").read_text().strip()
        registering = asyncio.Semaphore(8)
        # Phones spread over communes: 20 phones behind each carrier address.
        addresses = [f"100.{64 + n // 250}.{n % 250}.1" for n in range(max(1, args.devices // 20))]

        async def one(n: int) -> Phone:
            async with registering:
                return await register(url, Stats(), addresses[n % len(addresses)])

        started = time.monotonic()
        phones = await asyncio.gather(*(one(n) for n in range(args.devices)))
        print(f"{len(phones)} phones registered in {time.monotonic() - started:.0f} s", flush=True)
        seconds = args.minutes * 60
        fault_log: list[dict] = []
        stats = Stats()
        for phone in phones:
            phone.stats = stats
        started = stats.origin = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(faults(directory, pg, seconds, fault_log),
                             *(live(phone, stop_at, args.think) for phone in phones))
        elapsed = time.monotonic() - started
        during = stats
        for phone in phones:  # what the drain sends is not part of the run's figures
            phone.stats = Stats()
        # Afterwards every phone sends what is still unanswered, as a phone does when it is back online.
        for _ in range(10):
            waiting = [p for p in phones if p.pending]
            if not waiting:
                break
            await asyncio.gather(*(p.sync() for p in waiting))
        unsent = sum(len(p.pending) for p in phones)
        check = await verify(phones, pg.url, url)
        all_latencies = [value for values in during.latencies.values() for value in values]
        windows = fault_windows(fault_log)
        calm = [ms for _, at, ms, _ in during.samples
                if not any(at < end and at + ms / 1000 > start for start, end in windows)]
        actions = sum(during.actions.values())
        failed_actions = sum(n for key, n in during.actions.items() if key.endswith(" failed"))
        result = {
            "devices": args.devices, "minutes": args.minutes, "think_s": args.think,
            "throughput_rps": round(during.requests / elapsed, 1),
            "p50_ms": round(statistics.median(all_latencies), 1), "p99_ms": round(percentile(all_latencies, 0.99), 1),
            "error_rate": round(during.errors / max(1, during.requests), 4),
            # After the phones' retries (Retry-After honoured, as the app does): actions that never succeeded.
            "error_rate_after_retries": round(failed_actions / max(1, actions), 5),
            "actions": actions, "actions_failed": failed_actions,
            "server_errors_500": sum(n for key, n in during.statuses.items() if key.endswith(" 500")),
            "refusals_without_retry_after": during.refusals_without_retry_after,
            # Requests that neither started nor ended inside a fault window (the fault, its recovery and 10 s).
            "p99_ms_outside_faults": round(percentile(calm, 0.99), 1) if calm else None,
            "p50_ms_outside_faults": round(statistics.median(calm), 1) if calm else None,
            "fault_windows_s": [[round(start, 1), round(end, 1)] for start, end in windows],
            "lost": check["lost_dossiers"] + check["lost_pages"] + check["pages_missing_in_bucket"],
            "duplicated": check["duplicated_dossiers"],
            "requests": during.requests,
            "by_kind": {kind: {"count": len(values), "p50_ms": round(statistics.median(values), 1),
                               "p99_ms": round(percentile(values, 0.99), 1)}
                        for kind, values in sorted(during.latencies.items())},
            "statuses": dict(sorted(during.statuses.items())),
            "faults": fault_log, "unsent_after_drain": unsent, "check": check,
            "stack": "infra/stack: 2 uvicorn instances behind nginx, PostgreSQL (private cluster), s3rver, 1 worker",
            "rate_limits": env_limits or "defaults (phones spread over one address per 20 devices)",
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        }
        return result
    finally:
        try:
            stack("stop", directory=directory)
        finally:
            pg.ctl("stop", "-m", "fast")
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--think", type=float, default=10, help="mean seconds between a phone's actions")
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(outcome, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps({k: outcome[k] for k in ("devices", "minutes", "throughput_rps", "p50_ms", "p99_ms",
                                              "p99_ms_outside_faults", "error_rate", "error_rate_after_retries",
                                              "server_errors_500", "refusals_without_retry_after", "lost",
                                              "duplicated")}, indent=2))
