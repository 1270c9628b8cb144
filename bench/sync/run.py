"""The sync benchmark (run on demand, never in the test suite): throughput, latency and bytes on the wire
of POST /api/sync against a real motcua server (one uvicorn process) on SQLite and on PostgreSQL.

    PYTHONPATH=. /tmp/venv0/bin/python bench/sync/run.py [--databases sqlite,postgres] [--devices 200]
        [--seconds 20] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres] [--profile]

Writes bench/results/sync.json. See bench/sync/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import brotli
import httpx

ROOT = Path(__file__).resolve().parents[2]
CATALOG = Path(__file__).resolve().parent / "catalog-bench.json"
RESULTS = ROOT / "bench" / "results" / "sync.json"
PROCEDURE, UNIT = "BENCH.0020", "08707"  # a ward of Phú Thọ in the shipped units
PASSWORD = "matkhau-do-hieu-nang"
TEXT_FIELDS = ("ethnicity", "religion", "nationality", "hometown", "occupation", "workplace", "father_name",
               "mother_name", "spouse_name", "street", "hamlet", "previous_address", "education", "purpose", "note")


# -- a motcua instance ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def motcua(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"motcua {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


async def pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@dataclass
class Instance:
    kind: str
    env: dict[str, str]
    url: str = ""
    process: subprocess.Popen | None = None
    pg_name: str | None = None


def prepare(kind: str, workdir: Path, pg_admin_url: str) -> Instance:
    """A fresh database, migrated, seeded, with the 20-field procedure imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STORAGE_URL", "SECRET_KEY")}
    env.update(PYTHONPATH=str(ROOT), MOTCUA_DATA_DIR=str(workdir / "data"))
    instance = Instance(kind, env)
    if kind == "sqlite":
        env["DATABASE_URL"] = f"sqlite://{workdir / 'motcua.sqlite3'}"
    else:
        instance.pg_name = f"motcua_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(pg_admin_url, f'CREATE DATABASE "{instance.pg_name}"'))
        parts = urlsplit(pg_admin_url)
        env["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{instance.pg_name}", parts.query, ""))
    for step in (["migrate"], ["seed"], ["catalog", "import", str(CATALOG)]):
        motcua(step, env)
    return instance


def serve(instance: Instance, profile_to: Path | None = None, profiler: str = "cprofile",
          workers: int | None = None, rate_limits: str | None = None) -> None:
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = instance.env
    if workers is not None:
        command += ["--workers", str(workers)]
    if rate_limits is not None:
        env = {**env, "MOTCUA_RATE_LIMITS": rate_limits}
    if profile_to is not None:
        # A profiler sees one process: one worker. A profiled server is slower, and the phones' retries then
        # trip the per-device sync limits, which would end the run early: limits off.
        if profiler == "cprofile":  # py-spy is attached once the phones are ready (see profile())
            command[1:1] = ["-m", "cProfile", "-o", str(profile_to)]
        command += ["--workers", "1"]
        env = {**env, "MOTCUA_RATE_LIMITS": "off"}
    instance.process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    instance.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{instance.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # polling for the port
    raise SystemExit("the server did not start")


def stop(instance: Instance) -> None:
    if instance.process and instance.process.poll() is None:
        # graceful, to the server and a profiler wrapping it (its own session): lets the profiler write its file
        os.killpg(instance.process.pid, signal.SIGINT)
        instance.process.wait(timeout=60)


def drop(instance: Instance, pg_admin_url: str) -> None:
    if instance.pg_name:
        asyncio.run(pg_admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{instance.pg_name}" WITH (FORCE)'))


# -- where the machine's CPU goes ------------------------------------------------------------------------------
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, …; utime, stime at 11, 12


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def _server_pids(root: int) -> list[int]:
    """The server process and its descendants (uvicorn's worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _postgres_pids(database: str) -> list[int]:
    """PostgreSQL's backends serving the benchmark's database, and its own processes that serve every database
    (WAL writer, checkpointer, background writer…): not the backends of other databases on the same server."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if not line.startswith("postgres"):
            continue
        is_backend = "(" in line or "[local]" in line  # "postgres: user db 127.0.0.1(port) idle"
        if not is_backend or f" {database} " in line:
            pids.append(int(entry.name))
    return pids


@dataclass
class CpuMeter:
    """CPU seconds spent by the server's processes, PostgreSQL's (when it serves the run) and the phones (this
    process), between start() and stop(): what one document costs the whole machine."""
    server_pid: int
    database: str | None
    started: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        figures = {"server": _cpu_of(_server_pids(self.server_pid)), "phones": sum(os.times()[:2])}
        if self.database:
            figures["postgres"] = _cpu_of(_postgres_pids(self.database))
        return figures

    def start(self) -> None:
        self.started = self.read()

    def stop(self) -> dict[str, float]:
        return {name: value - self.started[name] for name, value in self.read().items()}


# -- a simulated phone ------------------------------------------------------------------------------------
def phone_body(payload: dict) -> tuple[bytes, dict[str, str]]:
    """JSON, gzip-compressed as CompressionStream would when that makes it smaller."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    if len(packed) < len(raw):
        raw, headers["Content-Encoding"] = packed, "gzip"
    return raw, headers


def twenty_fields(n: int) -> dict[str, Any]:
    form = {"full_name": f"Nguyễn Văn Thành {n}", "birth_date": "1990-03-15", "sex": "male",
            "phone": "0912 345 678", "email": f"thanh{n}@example.vn"}
    form.update({name: f"Giá trị mục {name} số {n}" for name in TEXT_FIELDS})
    return form


def wire_bytes(response: httpx.Response) -> dict[str, int]:
    """The bytes HTTP/1.1 puts on the wire for this exchange, rebuilt from what httpx sent and received:
    request line + header lines + body as sent; status line + header lines + body as received (compressed)."""
    request = response.request
    target = request.url.raw_path.decode()
    request_head = len(f"{request.method} {target} HTTP/1.1\r\n") + 2 + \
        sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
    response_head = len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n") + 2 + \
        sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
    sizes = {"request_headers": request_head, "request_body": len(request.content),
             "response_headers": response_head, "response_body": response.num_bytes_downloaded}
    sizes["total"] = sum(sizes.values())
    return sizes


class LeanConnection:
    """One keep-alive HTTP/1.1 connection over asyncio streams, for the phones' rounds in the load phases.

    The phones share the machine's cores with the server and PostgreSQL: httpx costs about a millisecond of
    CPU per request, which a phone on its own hardware would not take from the server. This sends the same
    request line, headers and body as the phone's httpx client (its headers and cookies) and reads the answer by
    its Content-Length (every answer of the server has one)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": parts.netloc, **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body decoded from its Content-Encoding); resends once on a connection the server closed."""
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = f"POST {path} HTTP/1.1\r\n{self.head}{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body
        for attempt in range(3):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                assert self.reader is not None
                self.writer.write(request)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
                answer: dict[str, str] = {}
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    answer[name.strip().lower()] = value.strip()
                content = await self.reader.readexactly(int(answer.get("content-length", "0")))
                if answer.get("connection", "").lower() == "close":
                    await self.close()
                encoding = answer.get("content-encoding")
                if encoding == "br":
                    content = brotli.decompress(content)
                elif encoding == "gzip":
                    content = gzip.decompress(content)
                return int(status_line.split()[1]), content
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection as we reused it (uvicorn: 5 s). Resending the
                # same body is what a phone does and is harmless (docs/sync.md R1).
                await self.close()
                self.reconnects += 1
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


@dataclass
class Phone:
    client: httpx.AsyncClient
    csrf: str
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = 0
    cursor: str | None = None
    replica: dict[str, dict] = field(default_factory=dict)  # dossier id -> {"version", "data"}
    made: int = 0
    number: str = ""
    resent: int = 0
    lean: LeanConnection | None = None

    @classmethod
    async def register(cls, url: str, headers: dict[str, str] | None = None, number: str | None = None) -> "Phone":
        """A new citizen account, or (with `number`) another phone signing in to an existing one."""
        client = httpx.AsyncClient(base_url=url, timeout=120, headers=headers,
                                   limits=httpx.Limits(max_connections=1))
        if headers is not None:
            del client.headers["User-Agent"]  # browsers send their own; counted apart in the README
        csrf = (await client.get("/api/session")).json()["csrf_token"]
        if number is None:
            number = "09" + str(uuid.uuid4().int)[:8]
            answer = await client.post("/api/accounts", json={"phone": number, "password": PASSWORD,
                                                               "full_name": "Người dùng đo hiệu năng"},
                                       headers={"X-CSRF-Token": csrf})
            assert answer.status_code == 201, answer.text
        else:
            answer = await client.post("/api/session", json={"phone": number, "password": PASSWORD},
                                       headers={"X-CSRF-Token": csrf})
            assert answer.status_code == 200, answer.text
        return cls(client, answer.json().get("csrf_token") or csrf, number=number)

    def mutation(self, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        return {"mutation_id": str(uuid.uuid4()), "seq": self.seq, **fields}

    def new_dossier(self) -> dict[str, Any]:
        self.made += 1
        changes = {"procedure_code": {"value": PROCEDURE}, "unit_code": {"value": UNIT}}
        changes.update({f"form.{k}": {"value": v} for k, v in twenty_fields(self.made).items()})
        return self.mutation(entity="dossier", entity_id=str(uuid.uuid4()), op="create", changes=changes)

    def edit(self, dossier_id: str, name: str, value: Any) -> dict[str, Any]:
        record = self.replica[dossier_id]
        return self.mutation(entity="dossier", entity_id=dossier_id, op="update", base_version=record["version"],
                             changes={f"form.{name}": {"base": record["data"].get(f"form.{name}"), "value": value}})

    async def round(self, mutations: list[dict[str, Any]], limit: int = 200,
                    lean: bool = False) -> tuple[httpx.Response | None, dict]:
        """One sync round; with `lean`, over a LeanConnection (the load phases), else through httpx, whose
        request and response objects give the bytes on the wire."""
        body, headers = phone_body({"device_id": self.device_id, "cursor": self.cursor, "limit": limit,
                                    "own": "version", "mutations": mutations})
        if lean:
            if self.lean is None:
                cookies = "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())
                # the httpx client's own headers, so that the bytes per round stay what httpx sends
                client_headers = {name.decode(): value.decode() for name, value in self.client.headers.raw}
                self.lean = LeanConnection(str(self.client.base_url), {**client_headers, "Cookie": cookies})
            status, content = await self.lean.post("/api/sync", body, {**headers, "X-CSRF-Token": self.csrf})
            assert status == 200, content
            return None, self._take(json.loads(content), mutations)
        for attempt in range(3):
            try:
                response = await self.client.post("/api/sync", content=body,
                                                  headers={**headers, "X-CSRF-Token": self.csrf})
                break
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # The server closed an idle keep-alive connection as we reused it (uvicorn: 5 s).
                # Resending the same body is what a phone does and is harmless (docs/sync.md R1).
                self.resent += 1
                if attempt == 2:
                    raise
        assert response.status_code == 200, response.text
        return response, self._take(response.json(), mutations)

    def _take(self, answer: dict, mutations: list[dict[str, Any]]) -> dict:
        """Check the results and bring the replica and the cursor up to date, as the app does."""
        for result in answer["results"]:
            assert result["status"] in ("applied", "merged"), result
        sent = {m["mutation_id"]: m for m in mutations}
        for change in answer["changes"]:
            if change["entity"] != "dossier" or change.get("deleted"):
                continue
            if "own" in change:  # docs/sync.md §5.1: our own sequential edit; apply it to the replica
                data = dict(self.replica[change["id"]]["data"])
                data.update({name: c["value"] for name, c in sent[change["own"]]["changes"].items()})
                self.replica[change["id"]] = {"version": change["version"], "data": data}
            else:
                self.replica[change["id"]] = {"version": change["version"], "data": change["data"]}
        self.cursor = answer["cursor"]
        return answer

    async def close(self) -> None:
        if self.lean is not None:
            await self.lean.close()
        await self.client.aclose()


# -- the load ---------------------------------------------------------------------------------------------
def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def closed_loop(phones: list[Phone], seconds: float, make, meter: CpuMeter | None = None) -> dict[str, Any]:
    """Every phone syncs again as soon as its previous round answered, for `seconds`."""
    latencies: list[float] = []
    if meter is not None:
        meter.start()
    applied = 0
    stop_at = time.monotonic() + seconds

    async def run(phone: Phone) -> None:
        nonlocal applied
        while time.monotonic() < stop_at:
            mutations = make(phone)
            started = time.perf_counter()
            _, answer = await phone.round(mutations, lean=True)
            latencies.append((time.perf_counter() - started) * 1000)
            applied += len(answer["results"])

    started = time.monotonic()
    await asyncio.gather(*(run(phone) for phone in phones))
    return phase_figures(latencies, applied, time.monotonic() - started, meter)


def phase_figures(latencies: list[float], applied: int, elapsed: float, meter: CpuMeter | None) -> dict[str, Any]:
    """Rates and latency percentiles of a load phase, and where the machine's CPU went during it."""
    figures: dict[str, Any] = {
        "rounds": len(latencies), "mutations": applied, "seconds": round(elapsed, 2),
        "mutations_per_s": round(applied / elapsed, 1), "rounds_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1), "p90_ms": round(percentile(latencies, 0.9), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1), "max_ms": round(max(latencies), 1)}
    if meter is not None:
        spent = meter.stop()
        # CPU milliseconds per round, by part, and the rate the machine's cores would allow if every part ran
        # flat out and nothing else did: cores ÷ the CPU one round costs them all together.
        per_round = {name: round(1000 * value / max(1, len(latencies)), 2) for name, value in spent.items()}
        figures["cpu_ms_per_round"] = per_round
        figures["cpu_busy_share"] = round(sum(spent.values()) / elapsed / (os.cpu_count() or 1), 2)
        figures["cpu_bound_rounds_per_s"] = round(1000 * (os.cpu_count() or 1) / max(0.001, sum(per_round.values())), 1)
    return figures


async def paced_loop(phones: list[Phone], seconds: float, rate: float, make,
                     meter: CpuMeter | None = None) -> dict[str, Any]:
    """An open loop: each phone starts a round every len(phones) ÷ rate seconds (phases spread at random), as
    phones that sync when a dossier is made rather than back to back. A phone never runs two rounds at once: a
    round that starts late is timed from when it was due, so falling behind shows in the latency (no coordinated
    omission)."""
    interval = len(phones) / rate
    latencies: list[float] = []
    applied = 0
    rng = random.Random(11)
    if meter is not None:
        meter.start()
    begin = time.perf_counter()
    stop_at = begin + seconds

    async def run(phone: Phone) -> None:
        nonlocal applied
        due = begin + rng.random() * interval
        while due < stop_at:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            _, answer = await phone.round(make(phone), lean=True)
            latencies.append((time.perf_counter() - due) * 1000)
            applied += len(answer["results"])
            due += interval

    await asyncio.gather(*(run(phone) for phone in phones))
    return {"offered_rounds_per_s": rate,
            **phase_figures(latencies, applied, time.perf_counter() - begin, meter)}


async def load(url: str, devices: int, seconds: float, creates_only: bool = False,
               sampler: list[str] | None = None, meter: CpuMeter | None = None, rate: float = 0) -> dict[str, Any]:
    registering = asyncio.Semaphore(8)

    async def one() -> Phone:
        async with registering:
            return await Phone.register(url)

    phones = await asyncio.gather(*(one() for _ in range(devices)))
    sampling = subprocess.Popen(sampler) if sampler else None
    try:
        # Phase 1: every round files one new dossier of 20 fields (and pulls it back).
        creating = await closed_loop(phones, seconds, lambda phone: [phone.new_dossier()], meter)
        if sampling is not None:
            await asyncio.to_thread(sampling.wait, 60)
        if creates_only:
            return {"devices": devices, "new_dossiers": creating}
        # Phase 1b: the same work offered at a fixed rate (an open loop), timed from when each round was due.
        paced = {"new_dossiers_paced": await paced_loop(phones, seconds, rate, lambda phone: [phone.new_dossier()],
                                                        meter)} if rate else {}
        # Phase 2: every round pushes three one-field edits of the phone's own dossiers, then pulls.
        rng = random.Random(7)

        def edits(phone: Phone) -> list[dict[str, Any]]:
            chosen = rng.sample(sorted(phone.replica), min(3, len(phone.replica)))
            return [phone.edit(d, rng.choice(TEXT_FIELDS), f"sửa {phone.seq} {rng.random():.6f}") for d in chosen]

        editing = await closed_loop(phones, seconds, edits, meter)
    finally:
        await asyncio.gather(*(phone.close() for phone in phones))
    return {"devices": devices, "new_dossiers": creating, "edits": editing, **paced}


# -- bytes on the wire --------------------------------------------------------------------------------------
async def wire(url: str) -> dict[str, Any]:
    """One phone, the headers a fetch() needs and nothing else (no User-Agent: browsers add their own)."""
    minimal = {"Accept-Encoding": "br, gzip", "Accept": "*/*"}
    phone = await Phone.register(url, headers=minimal)
    second = await Phone.register(url, headers=minimal, number=phone.number)  # the same account, second phone
    try:
        await phone.round([phone.new_dossier()])
        noop_response, _ = await phone.round([])
        noop = wire_bytes(noop_response)
        dossier_id = next(iter(phone.replica))
        edit_response, _ = await phone.round([phone.edit(dossier_id, "note", "Đã bổ sung bản sao sổ hộ khẩu")])
        edit = wire_bytes(edit_response)
        created_response, _ = await phone.round([phone.new_dossier()])
        created = wire_bytes(created_response)
        for _ in range(98):
            await phone.round([phone.new_dossier()])
        await second.round([], limit=500)  # the second phone has everything
        for start in range(0, 100, 50):  # then 100 dossiers change on the first phone
            await phone.round([phone.edit(d, "note", f"sửa lần hai {d[:8]}") for d in sorted(phone.replica)[start:start + 50]])
        pull_response, pulled = await second.round([], limit=200)
        assert len([c for c in pulled["changes"] if c["entity"] == "dossier"]) == 100
        pull = wire_bytes(pull_response)
        plain_noop = len(json.dumps(noop_response.json(), ensure_ascii=False, separators=(",", ":")).encode())
        return {"noop_round": noop, "one_field_edit": edit, "new_dossier": created, "pull_100": pull,
                "noop_response_json_bytes": plain_noop,
                "one_field_edit_response_json_bytes": len(edit_response.content),
                "response_header_names": [k.decode() for k, _ in noop_response.headers.raw]}
    finally:
        await phone.client.aclose()
        await second.client.aclose()


def run_one(kind: str, args, workdir: Path, profile_to: Path | None = None,
            creates_only: bool = False) -> dict[str, Any]:
    instance = prepare(kind, workdir, args.pg_admin_url)
    try:
        serve(instance, profile_to, args.profiler, args.workers, args.rate_limits)
        try:
            sampler = None
            if profile_to is not None and args.profiler == "py-spy":
                assert instance.process is not None
                # Sampling starts when the phones are signed in (registering hashes 200 passwords) and covers
                # the new-dossier phase: py-spy attached to the server process, 100 Hz, idle samples left out.
                sampler = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                           str(instance.process.pid), "--format", "raw", "--rate", "100", "--nonblocking",
                           "--duration", str(int(args.seconds)), "--output", str(profile_to)]
            assert instance.process is not None
            meter = CpuMeter(instance.process.pid, instance.pg_name)
            figures = asyncio.run(load(instance.url, args.devices, args.seconds, creates_only, sampler, meter,
                                       0 if creates_only else args.rate))
            if not creates_only:
                figures["wire"] = asyncio.run(wire(instance.url))
        finally:
            stop(instance)
    finally:
        drop(instance, args.pg_admin_url)
    return figures


AREAS = (("asyncpg", "database driver (asyncpg, incl. its socket writes)"), ("aiosqlite", "database driver"),
         ("tortoise", "ORM (tortoise, pypika)"), ("pypika", "ORM (tortoise, pypika)"),
         ("json/", "JSON"), ("brotli", "compression"), ("gzip", "compression"), ("zlib", "compression"),
         ("starlette", "HTTP (starlette, uvicorn)"), ("uvicorn", "HTTP (starlette, uvicorn)"),
         ("httptools", "HTTP (starlette, uvicorn)"), ("copy", "copy/deepcopy"), ("asyncio", "event loop"),
         ("uvloop", "event loop"), ("server/", "motcua server code"), ("sync/", "motcua sync engine"))


def summarise_samples(path: Path, top: int = 30) -> str:
    """py-spy's collapsed stacks ("frame;frame;… count"): own samples per function, samples per area of the
    leaf function, and samples per motcua function nearest the leaf (what our code spends, itself or below)."""
    own: dict[str, int] = {}
    areas: dict[str, int] = {}
    ours: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = []
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            where = where.rsplit(":", 1)[0].split("/site-packages/")[-1].replace(str(ROOT) + "/", "")
            frames.append((name, where))
        leaf = f"{frames[-1][0]} ({frames[-1][1]})"
        own[leaf] = own.get(leaf, 0) + count
        area = "event loop" if frames[-1][0] == "Runner.run" else \
            next((label for key, label in AREAS if key in frames[-1][1]), "other")
        areas[area] = areas.get(area, 0) + count
        mine = next((f"{name} ({where})" for name, where in reversed(frames)
                     if where.startswith(("server/", "sync/")) and name not in ("<module>", "main", "cmd_serve")),
                    "(no motcua frame: framework, event loop)")
        ours[mine] = ours.get(mine, 0) + count

    def table(counts: dict[str, int], limit: int = top) -> str:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:limit]
        return "\n".join(f"{count:8d} {100 * count / total:5.1f} %  {name}" for name, count in ranked)

    return (f"py-spy, 100 samples/s of the one server process while on the CPU (idle samples left out); "
            f"{total} samples\n\n== by area of the leaf function ==\n{table(areas)}\n\n"
            f"== by the motcua function nearest the leaf (its own time and the libraries it calls) ==\n"
            f"{table(ours)}\n\n== own time (leaf function) ==\n{table(own)}\n")


def summarise_profile(path: Path, top: int = 25) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def use_uvloop() -> None:
    """The phones' event loop is uvloop's, as the server's is: less of the shared cores spent on the load."""
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load phase")
    parser.add_argument("--pg-admin-url", default=os.environ.get("DATABASE_URL")
                        or "postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--profile", action="store_true",
                        help="also run the PostgreSQL load once more under a profiler and summarise it")
    parser.add_argument("--profile-only", action="store_true",
                        help="only the profiled PostgreSQL run (new dossiers), no measured runs")
    parser.add_argument("--profiler", choices=("cprofile", "py-spy"), default="py-spy")
    parser.add_argument("--profile-raw", type=Path, help="also keep the profiler's own output here")
    parser.add_argument("--workers", type=int, help="server worker processes (default: motcua serve's own)")
    parser.add_argument("--rate-limits", help="MOTCUA_RATE_LIMITS for the server, e.g. off (default: its own)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the figures")
    parser.add_argument("--rate", type=float, default=400.0,
                        help="new dossiers per second offered in the paced phase (0: no paced phase)")
    args = parser.parse_args()
    use_uvloop()
    if args.profile_only:
        with tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp:
            profile(args, Path(tmp))
        return
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                              "seconds_per_phase": args.seconds, "workers": args.workers,
                              "rate_limits": args.rate_limits}
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp:
        for kind in args.databases.split(","):
            started = time.monotonic()
            figures = run_one(kind, args, Path(tmp) / kind)
            report[kind] = {
                "devices": figures["devices"],
                "mutations_per_s": figures["edits"]["mutations_per_s"],
                "p50_ms": figures["edits"]["p50_ms"],
                "p99_ms": figures["edits"]["p99_ms"],
                "new_dossiers_per_s": figures["new_dossiers"]["mutations_per_s"],
                "new_dossier_p50_ms": figures["new_dossiers"]["p50_ms"],
                "new_dossier_p99_ms": figures["new_dossiers"]["p99_ms"],
                "paced_new_dossiers_per_s": figures.get("new_dossiers_paced", {}).get("mutations_per_s"),
                "paced_new_dossier_p99_ms": figures.get("new_dossiers_paced", {}).get("p99_ms"),
                "phases": {"new_dossiers": figures["new_dossiers"], "edits": figures["edits"],
                           **({"new_dossiers_paced": figures["new_dossiers_paced"]}
                              if "new_dossiers_paced" in figures else {})},
                "wire": figures["wire"],
            }
            print(f"{kind}: {json.dumps(report[kind], ensure_ascii=False)} ({time.monotonic() - started:.0f} s)",
                  flush=True)
        wire_figures = report[args.databases.split(",")[-1]]["wire"]
        report.update(noop_round_bytes=wire_figures["noop_round"]["total"],
                      one_field_edit_bytes=wire_figures["one_field_edit"]["total"],
                      new_dossier_bytes=wire_figures["new_dossier"]["total"],
                      pull_100_bytes=wire_figures["pull_100"]["total"])
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print(f"wrote {args.output}", flush=True)
        if args.profile:
            profile(args, Path(tmp))


def profile(args, tmp: Path) -> None:
    """The new-dossier phase on PostgreSQL, the server (one worker) under a profiler; summary in sync-profile.txt."""
    samples = tmp / "server.prof"
    if args.profiler == "cprofile":
        # A lighter load: under cProfile the server is several times slower and 200 waiting phones
        # would only measure the profiler.
        args.devices, args.seconds = 20, 8.0
    figures = run_one("postgres", args, tmp / "profiled", profile_to=samples, creates_only=True)
    if args.profile_raw:
        args.profile_raw.write_bytes(samples.read_bytes())
    summary = summarise_samples(samples) if args.profiler == "py-spy" else summarise_profile(samples)
    load_line = json.dumps(figures["new_dossiers"])
    (RESULTS.parent / "sync-profile.txt").write_text(
        f"command: PYTHONPATH=. .venv/bin/python bench/sync/run.py {' '.join(sys.argv[1:])}\n"
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.devices} devices, new dossiers "
        f"(20 fields) on PostgreSQL, motcua serve --workers 1, MOTCUA_RATE_LIMITS=off; load during the profile: "
        f"{load_line}\n\n{summary}")
    print(f"wrote {(RESULTS.parent / 'sync-profile.txt').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
