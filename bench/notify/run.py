"""The notice channels benchmark (run on demand, never in the test suite): 10,000 notices across Web Push, Zalo and
SMS, sent by `motcua worker` processes to gateways on loopback that fail on purpose.

    PYTHONPATH=. .venv/bin/python bench/notify/run.py [--notices 10000] [--people 1000] [--workers 2]
        [--database sqlite|postgres] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

The people (each gets notices / people notices, all citizens' "received" notices, queued as write_notice queues
them: the notice, its push jobs, the row of its first channel):
  40 % have the app (a push subscription the push service takes), 10 % an app whose subscription is gone (410: push
  fails, the notice falls to Zalo), 30 % no app and Zalo, 10 % no app and no Zalo account (ZNS -118: falls to SMS),
  10 % no app and Zalo stopped (SMS first).
Injected failures: the SMPP server (tests/smpp/server.cjs) throttles every 40th submit_sm (ESME_RTHROTTLED), drops
the connection at every 150th without answering, and delays each delivery receipt by up to 3 s; the ZNS stand-in
(tests/zalo_server.py) answers HTTP 500 to every 50th request; the push service (tests/push_service.py) verifies
and decrypts every message.

Counted at the gateways (what a person would have got): delivered (notices received at least once, by any
channel), lost (none received: target 0), duplicated (receptions beyond one per notice: target 0), per_s (notices
received per second, from the workers' start to the last reception), the fallbacks taken (push→zalo, zalo→sms…)
and, from the database, each channel's final states (an SMS is "delivered" once its receipt came).
Writes bench/results/notify.json (one entry per database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.gateways import SmppGateway, ZaloApi  # noqa: E402
from tests.push_service import PushService  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "notify.json"
NUMBER = re.compile(r"H42-251125-(\d{5})")
GROUPS = [("push", 40), ("push_gone", 10), ("zalo", 30), ("no_zalo", 10), ("zalo_stopped", 10)]


def motcua(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"motcua {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


class _Settings:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url


def group_of(person: int, people: int) -> str:
    share = person * 100 // people
    edge = 0
    for name, percent in GROUPS:
        edge += percent
        if share < edge:
            return name
    return GROUPS[-1][0]


async def queue(database_url: str, subscriptions: list[dict], people: int, notices: int) -> None:
    """The outbox as write_notice leaves it: the notice, a push job per subscription, the first channel's row."""
    from datetime import datetime, timezone

    from tortoise import Tortoise

    from server import db
    from server.models import NoticeDelivery, Notification, PushJob, PushSubscription, User

    await Tortoise.init(config=db.tortoise_config(_Settings(database_url)))
    try:
        groups = [group_of(n, people) for n in range(people)]
        await User.bulk_create([
            User(phone=f"09{n:08d}", full_name=f"Công dân {n}", full_name_folded=f"cong dan {n}", password_hash="x",
                 stopped_channels="zalo" if groups[n] == "zalo_stopped" else None) for n in range(people)],
            batch_size=1000)
        users = await User.all().order_by("id")
        with_app = [n for n in range(people) if groups[n] in ("push", "push_gone")]
        await PushSubscription.bulk_create([
            PushSubscription(user_id=users[n].id, endpoint=s["endpoint"], p256dh=s["keys"]["p256dh"],
                             auth=s["keys"]["auth"]) for n, s in zip(with_app, subscriptions)])
        by_user = dict(await PushSubscription.all().values_list("user_id", "id"))
        now = datetime.now(timezone.utc)
        await Notification.bulk_create([
            Notification(user_id=users[n % people].id, kind="received", title="Hồ sơ đã được tiếp nhận",
                         body=f"Hồ sơ 000.00.00.H42-251125-{n:05d} của Ông/Bà đã được tiếp nhận. "
                              "Ngày hẹn trả kết quả: 02/12/2025.",
                         url="/app#/inbox", topic=uuid.uuid4().hex) for n in range(notices)], batch_size=1000)
        rows = await Notification.all().values_list("id", "user_id")
        await PushJob.bulk_create([PushJob(notification_id=notice_id, subscription_id=by_user[user_id],
                                           next_attempt_at=now) for notice_id, user_id in rows if user_id in by_user],
                                  batch_size=1000)
        phone_of = {user.id: user.phone for user in users}
        first = {"push": "push", "push_gone": "push", "zalo": "zalo", "no_zalo": "zalo", "zalo_stopped": "sms"}
        group_by_user = {users[n].id: groups[n] for n in range(people)}
        await NoticeDelivery.bulk_create([
            NoticeDelivery(key=f"n{notice_id}:{first[group_by_user[user_id]]}", notification_id=notice_id,
                           channel=first[group_by_user[user_id]], next_attempt_at=now,
                           address="" if first[group_by_user[user_id]] == "push" else phone_of[user_id])
            for notice_id, user_id in rows], batch_size=1000)
    finally:
        await Tortoise.close_connections()


async def final_states(database_url: str) -> dict:
    from tortoise import Tortoise

    from server import db
    from server.models import NoticeDelivery

    await Tortoise.init(config=db.tortoise_config(_Settings(database_url)))
    try:
        rows = await NoticeDelivery.all().values_list("notification_id", "channel", "status", "id")
    finally:
        await Tortoise.close_connections()
    states = Counter(f"{channel}:{status}" for _, channel, status, _ in rows)
    chains: dict[int, list[tuple[int, str, str]]] = {}
    for notice, channel, status, row_id in rows:
        chains.setdefault(notice, []).append((row_id, channel, status))
    fallbacks: Counter[str] = Counter()
    open_notices = 0
    for chain in chains.values():
        chain.sort()
        for (_, a, _), (_, b, _) in zip(chain, chain[1:]):
            fallbacks[f"{a}->{b}"] += 1
        if chain[-1][2] in ("queued", "sending"):
            open_notices += 1
    return {"states": dict(sorted(states.items())), "fallbacks": dict(sorted(fallbacks.items())),
            "still_open": open_notices}


def run(args, workdir: Path) -> dict:
    pg_name = None
    if args.database == "sqlite":
        database_url = f"sqlite://{workdir / 'motcua.sqlite3'}"
    else:
        from bench.push.run import pg_admin

        pg_name = f"motcua_bench_notify_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_admin(args.pg_admin_url, f'CREATE DATABASE "{pg_name}"'))
        parts = urlsplit(args.pg_admin_url)
        database_url = urlunsplit((parts.scheme, parts.netloc, f"/{pg_name}", "", ""))
    smpp, zalo = SmppGateway(workdir).start(), ZaloApi(workdir).start()
    try:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("VAPID_", "DATABASE_URL", "SMPP_", "ZALO_"))},
               "PYTHONPATH": str(ROOT), "MOTCUA_DATA_DIR": str(workdir / "data"), "DATABASE_URL": database_url,
               "MOTCUA_PUSH_WORKER": "external", "MOTCUA_PUSH_INSECURE_ENDPOINTS": "1",
               "NOTICE_CHANNELS": "push,zalo,sms", "NOTICE_COST": "sms=750,zalo=300", "NOTICE_RETRY_BASE": "0.2",
               **smpp.env(), **zalo.env()}
        motcua(["migrate"], env)
        groups = [group_of(n, args.people) for n in range(args.people)]
        # person n's phone is 09{n:08d}: 849{n:08d} as Zalo and SMPP take it
        zalo.mode(no_zalo=",".join(f"849{n:08d}" for n in range(args.people) if groups[n] == "no_zalo"), fail_every=50)
        smpp.mode(throttle_every=40, drop_every=150, receipt_delay_max=3000)
        with PushService() as push:
            # A gone subscription answers 410 to every request (a batch may carry several of its jobs at once).
            phones = [push.subscribe(*[410] * (args.notices // args.people)) if groups[n] == "push_gone" else push.subscribe()
                      for n in range(args.people) if groups[n] in ("push", "push_gone")]
            subprocess.run([sys.executable, "-c", "import asyncio, json, sys; from bench.notify.run import queue; "
                            "asyncio.run(queue(sys.argv[1], json.load(sys.stdin), int(sys.argv[2]), int(sys.argv[3])))",
                            database_url, str(args.people), str(args.notices)],
                           input=json.dumps([p.to_json() for p in phones]), text=True, cwd=ROOT, env=env, check=True,
                           timeout=600)
            started = time.time()
            workers = [subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--concurrency", "32"], env=env,
                                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                       for _ in range(args.workers)]
            try:
                deadline = time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    reached = received_notices(push, smpp, zalo)
                    if len(reached["first_at"]) >= args.notices:
                        break
                    time.sleep(1.0)  # polling the gateways' counts
                # Receipts still on their way, and anything sent twice, arrive within a few seconds more.
                time.sleep(5)
            finally:
                for worker in workers:
                    worker.terminate()
                outputs = [worker.communicate(timeout=60)[0] for worker in workers]
                Path(tempfile.gettempdir(), "motcua-bench-notify-workers.log").write_text("\n".join(outputs))
            reached = received_notices(push, smpp, zalo)
        states = asyncio.run(final_states(database_url))
        gateway = smpp.state()
        zalo_state = httpx.get(zalo.url + "/__test/messages").json()
        last = max(reached["first_at"].values()) if reached["first_at"] else started
        counts: Counter[int] = reached["count"]
        return {
            "notices": args.notices, "people": args.people, "workers": args.workers, "database": args.database,
            "delivered": len(reached["first_at"]), "lost": args.notices - len(reached["first_at"]),
            "duplicated": sum(c - 1 for c in counts.values() if c > 1),
            "per_s": round(len(reached["first_at"]) / (last - started), 1) if last > started else None,
            "seconds": round(last - started, 2),
            "by_channel": dict(reached["by_channel"]),
            "fallbacks": states["fallbacks"], "final_states": states["states"], "still_open": states["still_open"],
            "injected": {"smpp_throttled": gateway["throttled"], "smpp_dropped": gateway["dropped"],
                         "smpp_binds": gateway["binds"], "smpp_receipts_sent": gateway["receipts"],
                         "zalo_http_500": zalo_state["failed"], "zalo_refused_no_account": len(zalo_state["refused"]),
                         "push_410": sum(1 for r in push.received if r.status == 410)},
            # the exceptions the workers logged (their whole output is in the system's temp folder)
            "worker_errors": [line for o in outputs for line in o.splitlines()
                              if re.match(r"^[\w.]+(Error|Exception|Deadlock\w*):", line)][:10],
        }
    finally:
        smpp.stop()
        zalo.stop()
        if pg_name:
            from bench.push.run import pg_admin

            asyncio.run(pg_admin(args.pg_admin_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


def received_notices(push: PushService, smpp: SmppGateway, zalo: ZaloApi) -> dict:
    """Which notices reached a person, by which channel, when first: read from what each gateway accepted."""
    first_at: dict[int, float] = {}
    count: Counter[int] = Counter()
    by_channel: Counter[str] = Counter()

    def note(channel: str, text: str, at: float) -> None:
        found = NUMBER.search(text)
        if not found:
            return
        number = int(found.group(1))
        count[number] += 1
        by_channel[channel] += 1
        first_at[number] = min(first_at.get(number, at), at)

    for record in list(push.received):
        if record.status == 201 and record.payload and not record.error:
            note("push", record.payload["body"], record.at)
    for message in smpp.messages():
        note("sms", message["text"], message["at"])
    for message in zalo.messages():
        note("zalo", message["template_data"]["noi_dung"], message["at"])
    return {"first_at": first_at, "count": count, "by_channel": by_channel}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="motcua-bench-notify-") as tmp:
        result = run(args, Path(tmp))
    # One entry per database, kept across runs: `--database postgres` does not erase the SQLite figures.
    report = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    report.pop("result", None)
    report["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_average": os.getloadavg()[0]}
    report[args.database] = result
    print(json.dumps(result, indent=2), flush=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
