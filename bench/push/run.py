"""The push benchmark (run on demand, never in the test suite): 10,000 queued notices delivered by `motcua worker`
processes to the test push service (tests/push_service.py), which verifies each VAPID JWT and decrypts each body.

    PYTHONPATH=. /tmp/venv0/bin/python bench/push/run.py [--databases sqlite,postgres] [--notices 10000]
        [--workers 2] [--concurrency 32] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Counts what the push service accepted: delivered (distinct notices), lost (queued but never delivered),
duplicated (delivered more than once) and per_s (delivered per second, from the first request to the last).
Writes bench/results/push.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.push_service import PushService  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "push.json"
SUBSCRIPTIONS = 500  # phones; each gets notices / SUBSCRIPTIONS notices


async def pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def motcua(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"motcua {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


class _Settings:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url


async def queue(database_url: str, subscriptions: list[dict], notices: int) -> None:
    """The outbox as status changes write it: one notice per user per event, one job per subscription."""
    from tortoise import Tortoise

    from server import db
    from server.models import Notification, PushJob, PushSubscription, User

    await Tortoise.init(config=db.tortoise_config(_Settings(database_url)))
    try:
        users = [User(phone=f"09{n:08d}", full_name=f"Công dân {n}", full_name_folded=f"cong dan {n}", password_hash="x")
                 for n in range(len(subscriptions))]
        await User.bulk_create(users)
        users = await User.all().order_by("id")
        await PushSubscription.bulk_create([
            PushSubscription(user_id=user.id, endpoint=s["endpoint"], p256dh=s["keys"]["p256dh"], auth=s["keys"]["auth"])
            for user, s in zip(users, subscriptions)])
        by_user = dict(await PushSubscription.all().values_list("user_id", "id"))
        now = datetime.now(timezone.utc)
        await Notification.bulk_create([
            Notification(user_id=users[n % len(users)].id, kind="received", title="Hồ sơ đã được tiếp nhận",
                         body=f"Hồ sơ 000.00.00.H42-251125-{n:04d} đã được tiếp nhận. Ngày hẹn trả kết quả: 02/12/2025.",
                         url="/app#/inbox", topic=uuid.uuid4().hex) for n in range(notices)], batch_size=1000)
        rows = await Notification.all().values_list("id", "user_id")
        await PushJob.bulk_create([PushJob(notification_id=notice_id, subscription_id=by_user[user_id],
                                           next_attempt_at=now) for notice_id, user_id in rows], batch_size=1000)
    finally:
        await Tortoise.close_connections()


def run_one(kind: str, args, workdir: Path) -> dict:
    workdir.mkdir(parents=True)
    pg_name = None
    if kind == "sqlite":
        database_url = f"sqlite://{workdir / 'motcua.sqlite3'}"
    else:
        pg_name = f"motcua_bench_push_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_admin(args.pg_admin_url, f'CREATE DATABASE "{pg_name}"'))
        parts = urlsplit(args.pg_admin_url)
        database_url = urlunsplit((parts.scheme, parts.netloc, f"/{pg_name}", "", ""))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("VAPID_", "DATABASE_URL"))},
           "PYTHONPATH": str(ROOT), "MOTCUA_DATA_DIR": str(workdir / "data"), "DATABASE_URL": database_url,
           "MOTCUA_PUSH_WORKER": "external"}
    try:
        motcua(["migrate"], env)
        with PushService() as service:
            phones = [service.subscribe() for _ in range(SUBSCRIPTIONS)]
            # In a child process: tortoise keeps SQL built for the first database it was started on.
            subprocess.run([sys.executable, "-c", "import asyncio, json, sys; from bench.push.run import queue; "
                            "asyncio.run(queue(sys.argv[1], json.load(sys.stdin), int(sys.argv[2])))",
                            database_url, str(args.notices)], input=json.dumps([p.to_json() for p in phones]),
                           text=True, cwd=ROOT, env=env, check=True, timeout=600)
            started = time.monotonic()
            workers = [subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--concurrency",
                                         str(args.concurrency)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True) for _ in range(args.workers)]
            try:
                service.wait_for(lambda got: len(got) >= args.notices, timeout=args.timeout)
                # Anything still in flight or duplicated arrives within a lease; a short quiet check for extras.
                time.sleep(2)
            finally:
                for worker in workers:
                    worker.terminate()
                outputs = [worker.communicate(timeout=60)[0] for worker in workers]
            wall = time.monotonic() - started
            received = list(service.received)
        accepted = [r for r in received if r.status == 201 and r.payload and not r.error]
        per_notice = Counter((r.token, r.payload["body"]) for r in accepted)
        errors = [r.error for r in received if r.error]
        span = max(r.at for r in accepted) - min(r.at for r in accepted) if accepted else 0.0
        return {"notices": args.notices, "workers": args.workers, "concurrency": args.concurrency,
                "delivered": len(per_notice), "lost": args.notices - len(per_notice),
                "duplicated": sum(count - 1 for count in per_notice.values()),
                "verification_errors": len(errors), "per_s": round(len(per_notice) / span, 1) if span else None,
                "seconds": round(span, 2), "wall_seconds_with_start_up": round(wall, 2),
                "sent_by_worker": [int(o.rsplit("after sending ", 1)[-1].split()[0]) if "after sending" in o else None
                                   for o in outputs]}
    finally:
        if pg_name:
            asyncio.run(pg_admin(args.pg_admin_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                    "push_service": "tests/push_service.py: verifies the VAPID JWT and decrypts every body (Python, threads)"}
    with tempfile.TemporaryDirectory(prefix="motcua-bench-push-") as tmp:
        for kind in args.databases.split(","):
            report[kind] = run_one(kind, args, Path(tmp) / kind)
            print(kind, json.dumps(report[kind]), flush=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
