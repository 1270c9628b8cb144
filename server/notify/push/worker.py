"""The push worker: takes jobs from the outbox (push_jobs), sends them, records what the service said.

Jobs are written by server/notify/notices.py in the same transaction as the status change they announce. A
worker claims a batch by marking it "sending" with a lease (locked_until): on PostgreSQL inside a
transaction with `SELECT … FOR UPDATE SKIP LOCKED`, so any number of workers take disjoint batches
without waiting on each other; on SQLite, which has one writer anyway, with a conditional UPDATE per
job that only one claimer can win. A worker that dies mid-batch leaves leases that expire, and the
jobs are claimed again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

import httpx
from server import config
from server.models import Notification, PushJob, PushSubscription
from server.notify import channels, outbox
from server.notify.outbox import now_utc
from server.notify.notices import notify_due_soon, ttl_of
from server.notify.push import delivery
from server.notify.push.message import MessageBuilder, Notice
from server.notify.push.vapid import VapidSigner

if TYPE_CHECKING:
    from server.config import Settings

log = logging.getLogger("motcua.push")

QUEUED, SENDING, SENT_STATUS, FAILED_STATUS, GONE_STATUS = "queued", "sending", "sent", "failed", "gone"
LEASE = outbox.LEASE
BATCH = 100
CONCURRENCY = 32  # requests in flight per worker
MAX_ATTEMPTS = 10  # 30 s doubling: about 4 hours of trying before giving up
POLL_SECONDS = 1.0
DUE_SOON_EVERY = 300.0


async def claim(limit: int = BATCH, now: datetime | None = None) -> list[int]:
    """Take up to `limit` due push jobs for this worker alone; returns their ids (server/notify/outbox.py)."""
    return await outbox.claim(PushJob, limit, now)


def notice_of(notification: Notification) -> Notice:
    return Notice(title=notification.title, body=notification.body, url=notification.url, tag=notification.topic,
                  ttl=ttl_of(notification.kind), urgency=notification.urgency)


class Worker:
    def __init__(self, signer: VapidSigner, client: httpx.AsyncClient, concurrency: int = CONCURRENCY) -> None:
        self.builder = MessageBuilder(signer)
        self.client = client
        self.limit = asyncio.Semaphore(concurrency)
        self.sent = 0

    async def run_once(self, limit: int = BATCH) -> int:
        """Claim one batch and deliver it; returns how many jobs were claimed."""
        ids = await claim(limit)
        if not ids:
            return 0
        jobs = await PushJob.filter(id__in=ids, status=SENDING).select_related("notification", "subscription")
        outcomes = await asyncio.gather(*(self._deliver(job) for job in jobs))
        await self._record(list(zip(jobs, outcomes)))
        return len(ids)

    async def _deliver(self, job: PushJob) -> delivery.Outcome:
        subscription, notification = job.subscription, job.notification
        if subscription is None:
            return delivery.Outcome(delivery.GONE, error="subscription removed")
        notice = notice_of(notification)
        if notification.created_at + timedelta(seconds=notice.ttl) < now_utc():
            # Past its TTL a push service would drop it anyway; the inbox still has it.
            return delivery.Outcome(delivery.FAILED, error="expired before delivery (TTL)")
        try:
            request = self.builder.build(notice, subscription.endpoint, subscription.p256dh, subscription.auth)
        except (ValueError, TypeError) as error:  # a malformed key stored from a bad client
            return delivery.Outcome(delivery.FAILED, error=f"cannot encrypt: {error}"[:300])
        async with self.limit:
            return await delivery.send(self.client, request)

    async def _record(self, results: list[tuple[PushJob, delivery.Outcome]]) -> None:
        now = now_utc()
        sent = [job for job, outcome in results if outcome.result == delivery.SENT]
        if sent:
            await PushJob.filter(id__in=[job.id for job in sent], status=SENDING).update(
                status=SENT_STATUS, sent_at=now, locked_until=None, last_error="")
            await PushSubscription.filter(id__in={job.subscription_id for job in sent}).update(last_success_at=now)
            self.sent += len(sent)
        dropped: set[int] = set()  # notices whose waiting jobs went with their subscription
        for job, outcome in results:
            if outcome.result == delivery.GONE:
                await PushJob.filter(id=job.id).update(status=GONE_STATUS, locked_until=None, last_error=outcome.error)
                if job.subscription_id is not None:
                    # The push service says this browser unsubscribed or expired: it will never deliver again.
                    # values_list(flat=True): tortoise's stub says tuples
                    dropped |= set(cast("list[int]", await PushJob.filter(
                        subscription_id=job.subscription_id, status=QUEUED).values_list("notification_id", flat=True)))
                    await PushJob.filter(subscription_id=job.subscription_id, status=QUEUED).update(status=GONE_STATUS)
                    await PushSubscription.filter(id=job.subscription_id).delete()
                    log.info("push subscription %s removed: %s", job.subscription_id, outcome.error)
            elif outcome.result == delivery.RETRY and job.attempts < MAX_ATTEMPTS:
                wait = delivery.backoff(job.attempts, outcome.retry_after)
                await PushJob.filter(id=job.id, status=SENDING).update(
                    status=QUEUED, locked_until=None, next_attempt_at=now + timedelta(seconds=wait),
                    last_error=outcome.error)
            elif outcome.result != delivery.SENT:
                await PushJob.filter(id=job.id, status=SENDING).update(
                    status=FAILED_STATUS, locked_until=None, last_error=outcome.error or "too many attempts")
        # A notice's push row follows its jobs: sent with the first, failed (and on to Zalo or SMS) with the last.
        await channels.settle_push({job.notification_id for job, outcome in results
                                    if outcome.result != delivery.RETRY or job.attempts >= MAX_ATTEMPTS} | dropped)


async def run(signer: VapidSigner, stop: asyncio.Event, *, concurrency: int = CONCURRENCY,
              poll: float = POLL_SECONDS, until_idle: bool = False, due_soon: bool = True) -> int:
    """The worker loop: deliver while there is work, wait `poll` seconds when there is none.

    Every few minutes it also looks for dossiers about to be late (server/notify/notices.py). With `until_idle`
    it returns once nothing is due (for tests and one-shot runs). Returns how many jobs it sent.
    """
    last_due_check = last_sweep = 0.0
    loop = asyncio.get_running_loop()
    settings = config.current().notices
    # Zalo and SMS (server/notify/channels.py) go with the push jobs, from the same loop, when the province has them.
    others = channels.ChannelWorker(settings) if set(channels.offered(settings)) - {channels.PUSH} else None
    async with delivery.make_client(concurrency) as client:  # one connection per request in flight
        worker = Worker(signer, client, concurrency)
        while not stop.is_set():
            try:
                if due_soon and loop.time() - last_due_check >= DUE_SOON_EVERY:
                    last_due_check = loop.time()
                    await notify_due_soon()
                if loop.time() - last_sweep >= channels.SWEEP_EVERY:
                    last_sweep = loop.time()
                    await channels.sweep_push()
                busy = await worker.run_once()
                if others is not None:
                    busy += await others.run_once()
                if busy:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: log, wait, go on
                log.exception("push worker round failed")
            if until_idle:
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll)
            except asyncio.TimeoutError:
                pass
        if others is not None:
            await others.close()
        return worker.sent + (others.sent if others is not None else 0)


def signer_for(settings: Settings) -> VapidSigner:
    return VapidSigner(settings.vapid_private_pem, settings.vapid_public_pem, settings.vapid_subject)


class InProcessWorker:
    """The worker as a task of the app server (the embedded default): started and stopped with its lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.task: asyncio.Task[int] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(run(signer_for(self.settings), self.stop))

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, timeout=20)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self.task.cancel()


def run_command(settings: Settings, *, concurrency: int = CONCURRENCY, until_idle: bool = False) -> int:
    """`motcua worker`: the loop until SIGTERM or SIGINT, which let the batch in hand finish first."""
    import signal

    from server import db

    async def main() -> int:
        await db.connect(settings, shared=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            print(f"motcua worker: sending push notifications ({concurrency} at a time)", flush=True)
            sent = await run(signer_for(settings), stop, concurrency=concurrency, until_idle=until_idle)
            print(f"motcua worker: stopped after sending {sent}", flush=True)
            return 0
        finally:
            await db.disconnect()

    return asyncio.run(main())
