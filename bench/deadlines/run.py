"""Deadlines and dossier codes: how fast the rules run, and dossier numbers under concurrent writers.

Run on demand, never in the test suite (bench/deadlines/README.md). From the repository root:

    PYTHONPATH=. /tmp/venv0/bin/python bench/deadlines/run.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from server.workflow.holidays import DEFAULT_HOLIDAYS, read_holidays  # noqa: E402
from server.workflow.working_time import VIETNAM, WorkingCalendar  # noqa: E402


def pure(count: int) -> dict:
    days = read_holidays(DEFAULT_HOLIDAYS)
    calendar = WorkingCalendar(holidays=frozenset(d for d, k, _ in days if k == "holiday"),
                               makeup_days=frozenset(d for d, k, _ in days if k == "makeup"))
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=VIETNAM)
    received = [start + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60)) for _ in range(count)]
    figures = {}
    for processing_days in (3, 30):
        began = time.perf_counter()
        for moment in received:
            calendar.due_at(moment, processing_days)
        figures[f"due_at_{processing_days}_days_us"] = round((time.perf_counter() - began) / count * 1e6, 1)
    began = time.perf_counter()
    for moment in received:
        calendar.resume(moment + timedelta(days=10), moment, moment + timedelta(days=3))
    figures["resume_3_days_us"] = round((time.perf_counter() - began) / count * 1e6, 1)
    return figures


async def codes(database_url: str, writers: int, per_writer: int, devices: int) -> dict:
    from tortoise.transactions import in_transaction

    from server import db
    from server.config import load_settings
    from server.workflow.dossier_codes import reserve_blocks, take_numbers
    from server.models import Device, User

    settings = load_settings({"DATABASE_URL": database_url, "MOTCUA_DATA_DIR": tempfile.mkdtemp()})
    await db.migrate(settings)
    await db.connect(settings)
    try:
        day = date(2026, 11, 25)
        latencies: list[float] = []

        async def writer() -> list[int]:
            taken = []
            for _ in range(per_writer):
                began = time.perf_counter()
                async with in_transaction():
                    taken.append(await take_numbers("000.00.01.H57", day))
                latencies.append(time.perf_counter() - began)
            return taken

        began = time.perf_counter()
        numbers = [n for batch in await asyncio.gather(*(writer() for _ in range(writers))) for n in batch]
        elapsed = time.perf_counter() - began
        distinct = len(set(numbers)) == len(numbers) == writers * per_writer and max(numbers) == len(numbers)

        user = await User.create(phone="0977999999", full_name="Bench", full_name_folded="bench", role="intake",
                                 password_hash="x")
        ids = [f"bench-{i}" for i in range(devices)]
        for device_id in ids:
            await Device.create(id=device_id, user=user)
        calendar = WorkingCalendar()
        began = time.perf_counter()
        answers = await asyncio.gather(*(reserve_blocks(d, "000.00.01.H57", day, calendar) for d in ids))
        reserve_elapsed = time.perf_counter() - began
        ranges = sorted((b["day"], b["first"], b["last"]) for answer in answers for b in answer)
        disjoint = all(a[0] != b[0] or a[2] < b[1] for a, b in zip(ranges, ranges[1:]))
        return {"writers": writers, "codes": len(numbers), "codes_per_s": round(len(numbers) / elapsed),
                "code_p50_ms": round(statistics.median(latencies) * 1000, 2),
                "code_p99_ms": round(sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000, 2),
                "codes_distinct_and_gapless": distinct, "devices": devices,
                "reservations_per_s": round(devices / reserve_elapsed), "blocks": len(ranges),
                "blocks_disjoint": disjoint}
    finally:
        await db.disconnect()


async def pg(admin_url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def one(url: str, args) -> dict:
    """Each database in its own process: tortoise-orm keeps per-model SQL of the first dialect it used."""
    import subprocess

    done = subprocess.run([sys.executable, __file__, "--one", url, "--writers", str(args.writers),
                           "--per-writer", str(args.per_writer), "--devices", str(args.devices)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-admin-url", default=os.environ.get("DATABASE_URL") or
                        "postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--per-writer", type=int, default=50)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(codes(args.one, args.writers, args.per_writer, args.devices))))
        return
    results = {"pure": pure(5000)}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = one(f"sqlite://{folder}/bench.sqlite3", args)
    name = f"motcua_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg(args.pg_admin_url, f'CREATE DATABASE "{name}"'))
    try:
        parts = urlsplit(args.pg_admin_url)
        results["postgres"] = one(urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, "")), args)
    finally:
        asyncio.run(pg(args.pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    out = ROOT / "bench" / "results" / "deadlines.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
