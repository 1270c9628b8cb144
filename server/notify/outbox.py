"""Claiming due rows of an outbox table (push_jobs, notice_deliveries) for one worker alone (docs/push.md "Delivery").

A row is claimed by marking it "sending" with a lease (locked_until): on PostgreSQL inside a transaction with
`SELECT … FOR UPDATE SKIP LOCKED`, so any number of workers take disjoint batches without waiting on each other; on
SQLite, which has one writer anyway, with a conditional UPDATE per row that only one claimer can win (the batch in one
transaction: one commit, not one disk sync per row). A worker that
dies mid-batch leaves leases that expire, and its rows are claimed again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from server.db.sql import is_postgres

QUEUED, SENDING = "queued", "sending"
LEASE = timedelta(seconds=120)  # longer than a batch takes; a dead worker's rows return after it


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def claimable(now: datetime) -> Q:
    return Q(status=QUEUED, next_attempt_at__lte=now) | Q(status=SENDING, locked_until__lt=now)


async def claim(model: Any, limit: int, now: datetime | None = None, scope: Q | None = None) -> list[int]:
    """Take up to `limit` due rows of `model` (within `scope`) for this worker alone; returns their ids."""
    now = now or now_utc()
    until = now + LEASE
    due = claimable(now) if scope is None else claimable(now) & scope
    if is_postgres():
        async with in_transaction():
            # Model rows, not values_list(): tortoise drops FOR UPDATE from a values query.
            rows = await (model.filter(due).order_by("next_attempt_at").limit(limit)
                          .select_for_update(skip_locked=True).only("id"))
            ids = [row.id for row in rows]
            if ids:
                await model.filter(Q(id__in=ids) & due).update(
                    status=SENDING, locked_until=until, attempts=F("attempts") + 1)
        return ids
    claimed: list[int] = []
    for _ in range(3):  # rows lost to another claimer are replaced by the next ones, a few times at most
        candidates = await model.filter(due).order_by("next_attempt_at").limit(
            limit - len(claimed)).values_list("id", "status", "locked_until")
        if not candidates:
            break
        lost = 0
        async with in_transaction():  # one commit for the batch (each is a disk sync), not one per row
            for row_id, status, locked in candidates:
                # Only the claimer whose UPDATE still finds the row as it read it wins it.
                condition = Q(status=QUEUED, next_attempt_at__lte=now) if status == QUEUED else \
                    Q(status=SENDING, locked_until=locked)
                if await model.filter(Q(id=row_id) & condition).update(status=SENDING, locked_until=until,
                                                                        attempts=F("attempts") + 1):
                    claimed.append(row_id)
                else:
                    lost += 1
        if not lost or len(claimed) >= limit:
            break
    return claimed
