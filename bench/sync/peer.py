"""motcua's sync against pouchdb-server (run on demand, never in the test suite): the same work on both, in
one run on this machine, interleaved — 200 devices creating 20-field dossiers, each synced as it is made.

    PYTHONPATH=. .venv/bin/python bench/sync/peer.py [--seconds 20] [--repeats 3] [--devices 200]
        [--databases sqlite[,postgres]] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Needs `npm ci` in bench/sync/peer first. Writes bench/results/peer.json. See bench/sync/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import shlex
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
from bench.sync.run import (  # noqa: E402
    PROCEDURE,
    UNIT,
    Phone,
    _cpu_of,
    _postgres_pids,
    closed_loop,
    drop,
    free_port,
    prepare,
    serve,
    stop,
    twenty_fields,
    use_uvloop,
)

PEER = Path(__file__).resolve().parent / "peer"
RESULTS = ROOT / "bench" / "results" / "peer.json"
TICKS = os.sysconf("SC_CLK_TCK")
MARK = 918273645  # a number that cannot occur in the fields by chance: where the phone's count goes


# -- server CPU ---------------------------------------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and of its descendants (live ones; dead ones through cutime + cstime)."""
    total = 0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime (fields 14–17 of stat)
    return total / TICKS


# -- the counting proxy ---------------------------------------------------------------------------------------
async def proxy_main(targets: list[int]) -> None:
    """A TCP proxy on loopback, one listener per target port, counting the bytes each way (HTTP headers and
    bodies as they travel, compressed or not; not TCP/IP overhead). Commands on stdin: `reset`, `read`."""
    counts = [{"up": 0, "down": 0, "requests": 0, "connections": 0} for _ in targets]

    def handler(index: int, target: int):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            count = counts[index]
            count["connections"] += 1
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
            except OSError:
                writer.close()
                return

            async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, way: str) -> None:
                try:
                    while data := await source.read(65536):
                        count[way] += len(data)
                        if way == "up":  # request lines; a split across reads is rare and only miscounts this
                            count["requests"] += data.count(b" HTTP/1.1\r\n")
                        sink.write(data)
                        await sink.drain()
                except (ConnectionError, OSError):
                    pass
                finally:
                    try:
                        sink.close()
                    except Exception:  # closing a dead socket
                        pass

            await asyncio.gather(pipe(reader, up_writer, "up"), pipe(up_reader, writer, "down"))
        return handle

    servers = []
    for index, target in enumerate(targets):
        servers.append(await asyncio.start_server(handler(index, target), "127.0.0.1", 0, backlog=1024))
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := await stdin.readline():
        command = line.decode().strip()
        if command == "reset":
            for count in counts:
                count.update(up=0, down=0, requests=0)
            print("ok", flush=True)
        elif command == "read":
            print(json.dumps(counts), flush=True)
    os._exit(0)  # stdin closed: the benchmark is over; open connections need no goodbye


class Proxy:
    def __init__(self, targets: list[int]) -> None:
        self.targets = targets
        self.process: asyncio.subprocess.Process | None = None
        self.ports: list[int] = []

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--proxy", ",".join(map(str, self.targets)),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=1 << 20)
        self.ports = json.loads(await self.process.stdout.readline())

    async def command(self, text: str) -> Any:
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()
        return json.loads(await self.process.stdout.readline()) if text == "read" else None

    async def reset(self) -> None:
        await self.command("reset")
        await self.process.stdout.readline()

    async def close(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.stdin.close()
            await self.process.wait()


# -- pouchdb-server -------------------------------------------------------------------------------------------
def start_pouchdb(workdir: Path) -> tuple[subprocess.Popen, int]:
    """pouchdb-server on loopback, LevelDB (leveldown) on disk in `workdir`, logging warnings only to its file
    (motcua's uvicorn runs with log_level=warning and no access log too)."""
    workdir.mkdir(parents=True)
    (workdir / "config.json").write_text(json.dumps({"log": {"file": str(workdir / "log.txt"), "level": "warning"}}))
    port = free_port()
    process = subprocess.Popen(["node", str(PEER / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"),
                                "--host", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
                                "--config", str(workdir / "config.json"), "--no-stdout-logs"],
                               cwd=workdir, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                created = httpx.put(f"http://127.0.0.1:{port}/dossiers", timeout=10)
                assert created.status_code in (201, 412), created.text
                return process, port
        except httpx.TransportError:
            time.sleep(0.2)  # polling for the port
    raise SystemExit("pouchdb-server did not start")


def template() -> dict[str, Any]:
    """The document a PouchDB phone makes: the same procedure, unit and 20 fields as bench/sync/run.py's."""
    form = {k: v.replace(str(MARK), "{n}") if isinstance(v, str) else v for k, v in twenty_fields(MARK).items()}
    return {"type": "dossier", "procedure_code": PROCEDURE, "unit_code": UNIT, "form": form}


# -- one measured window ---------------------------------------------------------------------------------------
def figures(kind: str, docs: int, seconds: float, cpu: float, traffic: dict[str, int], extra: dict,
            client_cpu: float, proxy_cpu: float, database_cpu: float = 0.0) -> dict:
    docs_or_one = max(docs, 1)
    return {"server": kind, "docs": docs, "seconds": round(seconds, 2), "docs_per_s": round(docs / seconds, 1),
            "server_cpu_s": round(cpu, 2), "cpu_ms_per_doc": round(cpu * 1000 / docs_or_one, 3),
            # The server with its database: PostgreSQL's processes for motcua on PostgreSQL (SQLite and LevelDB
            # run inside the server's own process, so there it equals cpu_ms_per_doc).
            "cpu_with_database_ms_per_doc": round((cpu + database_cpu) * 1000 / docs_or_one, 3),
            "client_cpu_ms_per_doc": round(client_cpu * 1000 / docs_or_one, 3),
            "proxy_cpu_ms_per_doc": round(proxy_cpu * 1000 / docs_or_one, 3),
            "bytes_per_doc": round((traffic["up"] + traffic["down"]) / docs_or_one, 1),
            "bytes_up_per_doc": round(traffic["up"] / docs_or_one, 1),
            "bytes_down_per_doc": round(traffic["down"] / docs_or_one, 1),
            "requests_per_doc": round(traffic["requests"] / docs_or_one, 2), **extra}


async def measure_motcua(phones: list[Phone], pid: int, proxy: Proxy, index: int, seconds: float,
                         database: str | None = None) -> dict:
    await proxy.reset()

    def database_cpu() -> float:
        return _cpu_of(_postgres_pids(database)) if database else 0.0

    cpu0, t0, db0 = cpu_seconds(pid), time.monotonic(), database_cpu()
    client0, proxy0 = time.process_time(), cpu_seconds(proxy.process.pid)
    loop = await closed_loop(phones, seconds, lambda phone: [phone.new_dossier()])
    cpu1, t1, db1 = cpu_seconds(pid), time.monotonic(), database_cpu()
    client1, proxy1 = time.process_time(), cpu_seconds(proxy.process.pid)
    traffic = (await proxy.command("read"))[index]
    return figures("motcua", loop["mutations"], t1 - t0, cpu1 - cpu0, traffic,
                   {"p50_ms": loop["p50_ms"], "p99_ms": loop["p99_ms"], "rounds": loop["rounds"]},
                   client1 - client0, proxy1 - proxy0, db1 - db0)


async def measure_pouchdb(url: str, pid: int, proxy: Proxy, index: int, devices: int, seconds: float) -> dict:
    config = {"url": url, "devices": devices, "seconds": seconds, "template": template()}
    clients = await asyncio.create_subprocess_exec("node", str(PEER / "clients.js"), json.dumps(config, ensure_ascii=False),
                                                   cwd=PEER, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert (await clients.stdout.readline()).strip() == b"ready"
    await proxy.reset()
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    client0, proxy0 = cpu_seconds(clients.pid), cpu_seconds(proxy.process.pid)
    clients.stdin.write(b"go\n")
    await clients.stdin.drain()
    answer = json.loads(await clients.stdout.readline())
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    client1, proxy1 = cpu_seconds(clients.pid), cpu_seconds(proxy.process.pid)
    traffic = (await proxy.command("read"))[index]
    clients.stdin.close()
    await clients.wait()
    assert answer["errors"] == 0 and answer["doc_write_failures"] == 0, answer
    return figures("pouchdb-server", answer["docs"], t1 - t0, cpu1 - cpu0, traffic,
                   {"p50_ms": answer["p50_ms"], "p99_ms": answer["p99_ms"], "rounds": answer["rounds"]},
                   client1 - client0, proxy1 - proxy0)


async def compare(motcua_url: str, motcua_pid: int, pouch_port: int, pouch_pid: int, args,
                  database: str | None = None) -> dict[str, Any]:
    proxy = Proxy([int(motcua_url.rsplit(":", 1)[1]), pouch_port])
    await proxy.start()
    registering = asyncio.Semaphore(8)

    async def one() -> Phone:
        async with registering:
            return await Phone.register(f"http://127.0.0.1:{proxy.ports[0]}")

    phones = await asyncio.gather(*(one() for _ in range(args.devices)))
    runs: list[dict] = []
    try:
        if args.warmup > 0:  # not recorded: caches, JIT and connection pools warm on both sides
            await measure_motcua(phones, motcua_pid, proxy, 0, args.warmup, database)
            await measure_pouchdb(f"http://127.0.0.1:{proxy.ports[1]}/dossiers", pouch_pid, proxy, 1,
                                  args.devices, args.warmup)
        for repeat in range(args.repeats):
            for kind in ("motcua", "pouchdb-server"):
                if kind == "motcua":
                    run = await measure_motcua(phones, motcua_pid, proxy, 0, args.seconds, database)
                else:
                    run = await measure_pouchdb(f"http://127.0.0.1:{proxy.ports[1]}/dossiers", pouch_pid, proxy, 1,
                                                args.devices, args.seconds)
                run["repeat"] = repeat + 1
                runs.append(run)
                print(json.dumps(run), flush=True)
    finally:
        await asyncio.gather(*(phone.close() for phone in phones))
        await proxy.close()
    return summarise(runs)


def summarise(runs: list[dict]) -> dict[str, Any]:
    keys = ("docs_per_s", "cpu_ms_per_doc", "cpu_with_database_ms_per_doc", "client_cpu_ms_per_doc", "proxy_cpu_ms_per_doc", "bytes_per_doc", "bytes_up_per_doc", "bytes_down_per_doc",
            "requests_per_doc", "p50_ms", "p99_ms")
    medians = {kind: {k: round(statistics.median(r[k] for r in runs if r["server"] == kind), 3) for k in keys}
               for kind in ("motcua", "pouchdb-server")}
    # Ratios per repeat (each pair measured back to back), and their median.
    pairs = list(zip([r for r in runs if r["server"] == "motcua"], [r for r in runs if r["server"] != "motcua"]))
    ratio_keys = ("docs_per_s", "cpu_ms_per_doc", "cpu_with_database_ms_per_doc", "bytes_per_doc")
    per_repeat = [{k: round(m[k] / p[k], 3) for k in ratio_keys} for m, p in pairs]
    ratios = {k: round(statistics.median(r[k] for r in per_repeat), 3) for k in ratio_keys}
    targets = {"docs_per_s": ratios["docs_per_s"] >= 3, "cpu_ms_per_doc": ratios["cpu_ms_per_doc"] <= 0.5,
               "bytes_per_doc": ratios["bytes_per_doc"] <= 0.5}
    return {"medians": medians, "ratios_motcua_over_pouchdb": ratios, "ratios_per_repeat": per_repeat,
            "targets_met": targets, "runs": runs}


def run_database(kind: str, args, workdir: Path) -> dict[str, Any]:
    instance = prepare(kind, workdir / kind, args.pg_admin_url)
    pouch = None
    try:
        serve(instance)
        pouch, pouch_port = start_pouchdb(workdir / f"pouchdb-{kind}")
        return asyncio.run(compare(instance.url, instance.process.pid, pouch_port, pouch.pid, args, instance.pg_name))
    finally:
        if pouch is not None:
            pouch.terminate()
            pouch.wait(timeout=30)
        stop(instance)
        drop(instance, args.pg_admin_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite", help="motcua's database(s): sqlite, postgres")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured window")
    parser.add_argument("--repeats", type=int, default=3, help="motcua/pouchdb pairs, interleaved")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unrecorded load on each first")
    parser.add_argument("--pg-admin-url", default=os.environ.get("DATABASE_URL")
                        or "postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--proxy", help=argparse.SUPPRESS)  # internal: run the counting proxy to these ports
    args = parser.parse_args()
    use_uvloop()
    if args.proxy:
        asyncio.run(proxy_main([int(p) for p in args.proxy.split(",")]))
        return
    if not (PEER / "node_modules" / "pouchdb-server").exists():
        raise SystemExit("run `npm ci` in bench/sync/peer first")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions = {name: json.loads((PEER / "node_modules" / name / "package.json").read_text())["version"]
                for name in ("pouchdb-server", "pouchdb", "pouchdb-adapter-memory", "leveldown")}
    report: dict[str, Any] = {
        "command": "PYTHONPATH=. .venv/bin/python bench/sync/peer.py " + shlex.join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "node": node},
        "versions": versions, "devices": args.devices, "seconds": args.seconds, "repeats": args.repeats,
        "warmup_seconds": args.warmup}
    with tempfile.TemporaryDirectory(prefix="motcua-peer-") as tmp:
        for kind in args.databases.split(","):
            report[kind] = run_database(kind, args, Path(tmp))
            print(f"{kind}: {json.dumps({k: v for k, v in report[kind].items() if k != 'runs'})}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}", flush=True)


if __name__ == "__main__":
    main()
