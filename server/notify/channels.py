"""Notice channels: Web Push, Zalo (ZNS) and SMS behind the one notice outbox (docs/push.md "Channels").

A notice goes by one channel at a time, in the province's order (NOTICE_CHANNELS, "push,zalo,sms" by default), among
the channels the person has: push when a browser of theirs is subscribed; Zalo and SMS when the province configured
them, the person has a phone number and did not stop that channel, and the notice is one of a citizen's about
their dossier (officers hear by push and the inbox). The next channel is taken only when one fails: push when every
subscription's job failed or went, Zalo when ZNS refuses it (no Zalo account, quota, token), SMS when the gateway
refuses it or its delivery receipt says undelivered, any of them when retries run out or the province's daily cap
for the channel is reached. So a citizen with the app pays nothing, and SMS — the dearest — is the last resort.

Each notice and channel is one `notice_deliveries` row whose `key` ("n{notice}:{channel}") is unique: written in the
step's transaction with the notice (the first channel) or by the worker that saw the previous channel fail (the
next), a second attempt to queue it finds the row there and queues nothing. Push rows are settled from their push
jobs; Zalo and SMS rows are claimed by the worker with the push jobs' lease pattern (server/notify/outbox.py),
retried with backoff, and counted per channel, province and day (`channel_usage`) with their cost.

`send_sms(phone, text, key=…)` queues an SMS that belongs to no notice (a one-time code): same table, same worker,
idempotent by the caller's key, no fallback.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from server import config
from server.models import AdministrativeUnit, ChannelUsage, Dossier, NoticeDelivery, Notification, PushJob, User
from server.notify import outbox, sms, zalo, zalo_tokens
from server.notify.outbox import SENDING, now_utc
from server.vietnamese import normalize_phone

if TYPE_CHECKING:
    from server.config import NoticeSettings

log = logging.getLogger("motcua.channels")

PUSH, ZALO, SMS = "push", "zalo", "sms"
PAID = (ZALO, SMS)  # the channels a person can stop (push is stopped by removing the device)
QUEUED, SENT, DELIVERED, FAILED = "queued", "sent", "delivered", "failed"
FINISHED = (SENT, DELIVERED, FAILED)
MAX_ATTEMPTS = 8  # 5 s doubling: about 20 minutes of trying before the next channel
BACKOFF_CAP = 3600.0
BATCH = 100
CONCURRENCY = 16
SWEEP_EVERY = 60.0
UNMATCHED_FOR = 600.0  # seconds a receipt waits for its submission to be recorded (by this worker or another)  # seconds between looks for push rows whose jobs ended without a worker seeing it
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def offered(settings: NoticeSettings | None = None) -> list[str]:
    """The channels this province uses, in its order: push always, Zalo and SMS once configured."""
    settings = settings or config.current().notices
    ready = {PUSH: True, ZALO: settings.zalo is not None, SMS: settings.sms is not None}
    return [channel for channel in settings.order if ready[channel]]


def stopped_of(value: str | None) -> set[str]:
    return {item for item in (value or "").split(",") if item in PAID}


def plan(*, has_push: bool, phone: str | None, stopped: set[str], citizen: bool,
         settings: NoticeSettings | None = None) -> list[str]:
    """The channels that may carry a notice to this person, in the order they are tried. `phone` must be a mobile
    number (an account made by the identity provider without one holds a placeholder: no Zalo, no SMS)."""
    phone = normalize_phone(phone) if phone else None
    result = []
    for channel in offered(settings):
        if channel == PUSH and has_push:
            result.append(channel)
        elif channel in PAID and citizen and phone and channel not in stopped:
            result.append(channel)
    return result


def key_of(notification_id: int, channel: str) -> str:
    return f"n{notification_id}:{channel}"


async def _queue(notification_id: int | None, channel: str, key: str, *, address: str = "", text: str = "",
                 province: str = "") -> NoticeDelivery | None:
    """Insert the row unless its key is there already (then: None). A savepoint keeps the caller's transaction."""
    try:
        async with in_transaction():
            return await NoticeDelivery.create(key=key, notification_id=notification_id, channel=channel,
                                               address=address, text=text, province=province,
                                               next_attempt_at=now_utc())
    except IntegrityError:
        return None


async def start(notification: Notification, *, has_push: bool, phone: str | None, stopped: str | None,
                citizen: bool) -> str | None:
    """Queue a new notice's first channel; called by write_notice in the step's transaction. Returns the channel."""
    channels = plan(has_push=has_push, phone=phone, stopped=stopped_of(stopped), citizen=citizen)
    if not channels:
        return None  # the inbox only
    first = channels[0]
    address = "" if first == PUSH else (normalize_phone(phone or "") or "")
    await _queue(notification.id, first, key_of(notification.id, first), address=address)
    return first


async def fall_through(delivery: NoticeDelivery) -> str | None:
    """This channel failed for its notice: queue the next one the person has, if any. Returns its name."""
    if delivery.notification_id is None:
        return None  # an SMS of its own (send_sms): nothing to fall to
    notification = await Notification.get_or_none(id=delivery.notification_id)
    if notification is None:
        return None
    user = await User.get_or_none(id=notification.user_id)
    if user is None:
        return None
    order = offered()
    later = order[order.index(delivery.channel) + 1:] if delivery.channel in order else []
    citizen = notification.kind in CITIZEN_KINDS
    available = plan(has_push=False, phone=user.phone, stopped=stopped_of(user.stopped_channels), citizen=citizen)
    for channel in later:
        if channel in available:
            queued = await _queue(notification.id, channel, key_of(notification.id, channel),
                                  address=normalize_phone(user.phone) or "")
            if queued is not None:
                log.info("notice %s: %s failed (%s), falling to %s", notification.id, delivery.channel,
                         delivery.last_error, channel)
            return channel
    return None


# The notices of a citizen about their dossier (server/notify/notices.py OWNER_NOTICES): the ones worth a paid message.
# pwa/static/js/dossier.js keeps the same list (tests/test_notice_channels.py checks they agree).
CITIZEN_KINDS = frozenset({"received", "supplement", "refused", "payment", "paid", "stopped", "result_ready", "apology"})


# -- an SMS of its own ---------------------------------------------------------------------------------------

class SmsUnavailable(Exception):
    """The province has no SMS gateway configured (SMPP_HOST unset) or the number is not a Vietnamese mobile."""


def sms_available() -> bool:
    return config.current().notices.sms is not None


@dataclass(frozen=True)
class QueuedSms:
    id: int
    key: str
    status: str  # queued, sent, delivered, failed
    created: bool  # False: the key was queued before, nothing new was queued


async def send_sms(phone: str, text: str, *, key: str, province: str = "") -> QueuedSms:
    """Queue an SMS not tied to a user account (a one-time code to claim a walk-in dossier, for example).

    Idempotent by `key`: the same key again queues nothing and returns the first one's state, so a retried request
    cannot send a second message. Runs in the caller's transaction if there is one (the SMS exists exactly when the
    caller's change does). The worker sends it like a notice's SMS (the daily cap, cost and retries apply), without
    falling to another channel. Raises SmsUnavailable when SMS is off or the number is not a mobile number.
    """
    if not sms_available():
        raise SmsUnavailable("SMS is off: set SMPP_HOST and friends (docs/operations.md \"SMS gateway\")")
    number = normalize_phone(phone)
    if number is None:
        raise SmsUnavailable(f"{phone!r} is not a Vietnamese mobile number")
    if not key or len(key) > 150:
        raise ValueError("key must be 1–150 characters")
    full_key = f"sms:{key}"
    row = await _queue(None, SMS, full_key, address=number, text=text, province=province)
    if row is not None:
        return QueuedSms(row.id, full_key, row.status, True)
    existing = await NoticeDelivery.get(key=full_key)
    return QueuedSms(existing.id, full_key, existing.status, False)


# -- the daily cap and the cost ------------------------------------------------------------------------------

def today() -> date:
    return now_utc().astimezone(VIETNAM).date()


def usage_key(channel: str, province: str, day: date) -> str:
    return f"{channel}:{province or '-'}:{day.isoformat()}"


async def under_cap(channel: str, province: str) -> bool:
    cap = config.current().notices.daily_cap.get(channel)
    if cap is None:
        return True
    day = today()
    used = await ChannelUsage.filter(key=usage_key(channel, province, day)).values_list("sent", flat=True)
    return not used or int(str(used[0])) < cap


async def count_sent(channel: str, province: str, messages: int, cost: int) -> None:
    """Add to the day's count and cost: one UPDATE when the row exists (atomic under concurrent workers)."""
    day = today()
    key = usage_key(channel, province, day)
    if await ChannelUsage.filter(key=key).update(sent=F("sent") + messages, cost=F("cost") + cost):
        return
    try:
        async with in_transaction():
            await ChannelUsage.create(key=key, channel=channel, province=province or "-", day=day, sent=messages,
                                      cost=cost)
    except IntegrityError:  # another worker created it first
        await ChannelUsage.filter(key=key).update(sent=F("sent") + messages, cost=F("cost") + cost)


async def usage(day: date | None = None) -> list[dict[str, Any]]:
    """What each channel sent and cost on a day, per province (for the operator; docs/operations.md)."""
    rows = await ChannelUsage.filter(day=day or today()).order_by("channel", "province")
    return [{"channel": row.channel, "province": row.province, "sent": row.sent, "cost": row.cost} for row in rows]


async def province_of(dossier_id: str | None) -> str:
    """The code of the province a dossier's receiving unit lies in: the cap and the cost are the province's."""
    if not dossier_id:
        return ""
    # values_list(flat=True): tortoise's stub says tuples
    unit_ids = cast("list[int | None]", await Dossier.filter(id=dossier_id).values_list("unit_id", flat=True))
    unit_id: int | None = unit_ids[0] if unit_ids else None
    for _ in range(4):  # commune → district → province at most
        if unit_id is None:
            return ""
        unit = await AdministrativeUnit.get_or_none(id=unit_id)
        if unit is None:
            return ""
        if unit.level == "province" or unit.parent_id is None:
            return str(unit.code)
        unit_id = unit.parent_id
    return ""


# -- push: settled from its jobs -----------------------------------------------------------------------------

async def settle_push(notification_ids: set[int] | list[int]) -> None:
    """A notice's push row is sent once one of its jobs was sent, failed once all of them failed or went."""
    if not notification_ids:
        return
    jobs: dict[int, list[str]] = {}
    for notification_id, status in await PushJob.filter(notification_id__in=list(notification_ids)).values_list(
            "notification_id", "status"):
        jobs.setdefault(int(notification_id), []).append(str(status))
    sent = [key_of(n, PUSH) for n in notification_ids if "sent" in jobs.get(n, [])]
    if sent:  # one UPDATE for the batch: most notices are simply sent
        await NoticeDelivery.filter(key__in=sent, status=QUEUED).update(status=SENT, sent_at=now_utc())
    for notification_id in notification_ids:
        statuses = jobs.get(notification_id, [])
        key = key_of(notification_id, PUSH)
        if "sent" not in statuses and all(status in ("failed", "gone") for status in statuses):
            if await NoticeDelivery.filter(key=key, status=QUEUED).update(
                    status=FAILED, last_error="no browser of this person took the push message"):
                row = await NoticeDelivery.get(key=key)
                await fall_through(row)


async def sweep_push(older_than: timedelta = timedelta(seconds=60)) -> None:
    """Push rows still queued whose jobs all ended, or were dropped with their subscription, without a report."""
    ids = await NoticeDelivery.filter(channel=PUSH, status=QUEUED, created_at__lt=now_utc() - older_than).order_by(
        "id").limit(500).values_list("notification_id", flat=True)
    waiting = set(await PushJob.filter(notification_id__in=[i for i in ids if i is not None],
                                       status__in=("queued", "sending")).values_list("notification_id", flat=True))
    await settle_push({int(str(i)) for i in ids if i is not None and i not in waiting})


# -- Zalo and SMS: claimed and sent by the worker ------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    result: str  # "sent" | "retry" | "failed"
    message_id: str = ""
    messages: int = 1  # SMS segments billed
    error: str = ""


def backoff(attempts: int) -> float:
    base = config.current().notices.retry_base
    wait: float = min(BACKOFF_CAP, base * 2 ** max(0, attempts - 1))
    return wait * random.uniform(0.8, 1.2)


class ChannelWorker:
    """Sends the Zalo and SMS rows of the outbox; owns the SMPP link and the HTTP client for ZNS."""

    def __init__(self, settings: NoticeSettings, concurrency: int = CONCURRENCY) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=10.0), follow_redirects=False)
        self.limit = asyncio.Semaphore(concurrency)
        self.link: sms.SmppLink | None = None
        self.loop = asyncio.get_running_loop()
        # receipts that came before their submission was recorded (with when they came), kept UNMATCHED_FOR seconds
        self.unmatched: dict[str, tuple[sms.Receipt, float]] = {}
        self.receipts: set[asyncio.Task[None]] = set()
        self.sent = 0
        if settings.sms is not None:
            self.link = sms.SmppLink(settings.sms, self._receipt_from_thread)
            self.link.start()

    async def close(self) -> None:
        if self.link is not None:
            await asyncio.to_thread(self.link.close)
        if self.receipts:
            await asyncio.gather(*self.receipts, return_exceptions=True)
        await self.client.aclose()

    async def run_once(self, limit: int = BATCH) -> int:
        """Claim one batch of due Zalo and SMS rows and send it; returns how many were claimed."""
        if self.unmatched:
            await self._retry_unmatched()
        ids = await outbox.claim(NoticeDelivery, limit, scope=Q(channel__in=PAID))
        if not ids:
            return 0
        rows = await NoticeDelivery.filter(id__in=ids, status=SENDING).select_related("notification")
        outcomes = await asyncio.gather(*(self._send(row) for row in rows))
        sent: list[tuple[str, str, int, int] | None] = []
        try:
            # One commit for the batch's outcomes, not one per row. The day's counts are added last and in one order
            # (sorted keys), so two workers' batches never wait on each other's counter rows in a cycle.
            async with in_transaction():
                sent = [await self._record(row, outcome) for row, outcome in zip(rows, outcomes)]
                counts: dict[tuple[str, str], list[int]] = {}
                for item in filter(None, sent):
                    total = counts.setdefault((item[0], item[1]), [0, 0])
                    total[0] += item[2]
                    total[1] += item[3]
                for (channel, province), (messages, cost) in sorted(counts.items()):
                    await count_sent(channel, province, messages, cost)
        except Exception:
            # The batch's transaction failed (a lost connection, a conflict): its messages went, so they are recorded
            # one by one rather than left to be claimed and sent again when their lease ends.
            log.exception("recording a batch of Zalo/SMS outcomes failed; recording them one by one")
            sent = []
            for row, outcome in zip(rows, outcomes):
                gained = await self._record(row, outcome)
                if gained is not None:
                    await count_sent(*gained)
                sent.append(gained)
        self.sent += sum(1 for item in sent if item is not None)
        for row, outcome in zip(rows, outcomes):
            early = self.unmatched.get(outcome.message_id) if outcome.result == "sent" and outcome.message_id else None
            if early is not None and await record_receipt(row.channel, early[0]):
                self.unmatched.pop(outcome.message_id, None)
        return len(ids)

    async def _send(self, row: NoticeDelivery) -> Outcome:
        notification = row.notification
        if notification is not None:
            user = await User.get_or_none(id=notification.user_id)
            if user is None or row.channel in stopped_of(user.stopped_channels):
                return Outcome("failed", messages=0, error="the person stopped this channel")
            if not row.province and notification.dossier_id:
                row.province = await province_of(notification.dossier_id)
                await NoticeDelivery.filter(id=row.id).update(province=row.province)
        if not await under_cap(row.channel, row.province):
            return Outcome("failed", messages=0, error=f"the province's daily cap for {row.channel} is reached")
        async with self.limit:
            if row.channel == SMS:
                return await self._send_sms(row, notification)
            return await self._send_zalo(row, notification)

    async def _send_sms(self, row: NoticeDelivery, notification: Notification | None) -> Outcome:
        if self.link is None or self.settings.sms is None:
            return Outcome("failed", messages=0, error="SMS is not configured")
        text = sms.compose(notification.body if notification is not None else row.text,
                           diacritics=self.settings.sms.diacritics)
        submitted = await self.link.submit(row.address, text)
        return Outcome(submitted.result, submitted.message_id, text.segments, submitted.error)

    async def _send_zalo(self, row: NoticeDelivery, notification: Notification | None) -> Outcome:
        if self.settings.zalo is None or notification is None:
            return Outcome("failed", messages=0, error="Zalo is not configured")
        code = ""
        if notification.dossier_id:
            codes = await Dossier.filter(id=notification.dossier_id).values_list("code", flat=True)
            code = str(codes[0] or "") if codes else ""
        body = zalo.request_body(self.settings.zalo, phone=row.address, kind=notification.kind,
                                 title=notification.title, body=notification.body, code=code, tracking_id=row.key)
        sent = await zalo_tokens.send(self.client, self.settings.zalo, body)  # renews the OA's token when due
        return Outcome(sent.result, sent.message_id, 1, sent.error)

    async def _record(self, row: NoticeDelivery, outcome: Outcome) -> tuple[str, str, int, int] | None:
        """Write one outcome; for a message newly recorded sent, returns what the day's count gains."""
        now = now_utc()
        if outcome.result == "sent":
            cost = self.settings.cost.get(row.channel, 0) * outcome.messages
            if await NoticeDelivery.filter(id=row.id, status=SENDING).update(
                    status=SENT, sent_at=now, locked_until=None, provider_id=outcome.message_id or None, cost=cost,
                    last_error=""):
                return row.channel, row.province, outcome.messages, cost
        elif outcome.result == "retry" and row.attempts < MAX_ATTEMPTS:
            await NoticeDelivery.filter(id=row.id, status=SENDING).update(
                status=QUEUED, locked_until=None, next_attempt_at=now + timedelta(seconds=backoff(row.attempts)),
                last_error=outcome.error)
        else:
            if await NoticeDelivery.filter(id=row.id, status=SENDING).update(
                    status=FAILED, locked_until=None, last_error=outcome.error or "too many attempts"):
                row.last_error = outcome.error
                await fall_through(row)
        return None

    # Delivery receipts arrive on the SMPP thread; they are recorded on the event loop.
    def _receipt_from_thread(self, receipt: sms.Receipt) -> None:
        self.loop.call_soon_threadsafe(self._schedule_receipt, receipt)

    def _schedule_receipt(self, receipt: sms.Receipt) -> None:
        task = self.loop.create_task(self._receipt(receipt))
        self.receipts.add(task)
        task.add_done_callback(self.receipts.discard)

    async def _receipt(self, receipt: sms.Receipt) -> None:
        # Kept before looking: a submission recorded while the look-up runs finds it here (_record).
        if len(self.unmatched) > 10_000:
            self.unmatched.clear()
        self.unmatched[receipt.message_id] = (receipt, self.loop.time())
        try:
            if await record_receipt(SMS, receipt):
                self.unmatched.pop(receipt.message_id, None)
        except Exception:
            log.exception("recording an SMS delivery receipt failed")

    async def _retry_unmatched(self) -> None:
        """Receipts for messages another worker sent (after a reconnect the gateway may use any bind) or whose
        submission this worker had not recorded yet: looked up again each round."""
        for receipt, came in list(self.unmatched.values())[:100]:
            if await record_receipt(SMS, receipt) or self.loop.time() - came > UNMATCHED_FOR:
                self.unmatched.pop(receipt.message_id, None)


async def record_receipt(channel: str, receipt: sms.Receipt) -> bool:
    """A gateway's delivery receipt: the row becomes delivered, or failed and the notice falls to the next channel.
    Returns False when no sent row has that message id (yet)."""
    rows = await NoticeDelivery.filter(channel=channel, provider_id=receipt.message_id)
    if not rows:
        return False
    now = now_utc()
    for row in rows:
        if receipt.delivered:
            await NoticeDelivery.filter(id=row.id, status=SENT).update(status=DELIVERED, delivered_at=now)
        elif receipt.state in sms.FINAL_FAILURES:
            if await NoticeDelivery.filter(id=row.id, status=SENT).update(
                    status=FAILED, last_error=f"delivery receipt: {receipt.state}"):
                row.last_error = f"delivery receipt: {receipt.state}"
                await fall_through(row)
    return True


# -- what the officer and the citizen see, what the citizen chooses ----------------------------------------

def choices(user: User) -> dict[str, Any]:
    """The channels this province offers and which of them this person stopped (GET/PUT /api/account/channels)."""
    stopped = stopped_of(user.stopped_channels)
    return {"offered": offered(), "stoppable": [c for c in offered() if c in PAID],
            "stopped": sorted(stopped), "has_phone": normalize_phone(user.phone) is not None}


async def set_stopped(user: User, stopped: set[str]) -> None:
    """Stop (or allow again) Zalo and SMS for this person; rows already queued for a stopped channel fail over."""
    value = ",".join(sorted(stopped & set(PAID)))
    await User.filter(id=user.id).update(stopped_channels=value)
    user.stopped_channels = value

async def deliveries_of(notification_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each notice's channels as tried, in order: {notice id: [{channel, status, at, error}]}."""
    result: dict[int, list[dict[str, Any]]] = {}
    rows = await NoticeDelivery.filter(notification_id__in=notification_ids).order_by("id")
    for row in rows:
        at = row.delivered_at or row.sent_at or row.created_at
        result.setdefault(int(row.notification_id or 0), []).append(
            {"channel": row.channel, "status": QUEUED if row.status == SENDING else row.status,
             "at": at.isoformat() if isinstance(at, datetime) else None, "error": row.last_error[:200]})
    return result


async def notices_of_events(event_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """For an officer's view of a dossier's record: each event's notices, with whom they told and how they went."""
    notices = await Notification.filter(event_id__in=event_ids).order_by("id").values("id", "event_id", "kind", "user_id")
    tried = await deliveries_of([int(n["id"]) for n in notices])
    result: dict[int, list[dict[str, Any]]] = {}
    for notice in notices:
        channels = tried.get(int(notice["id"]), [])
        result.setdefault(int(notice["event_id"]), []).append({
            "kind": notice["kind"], "user_id": notice["user_id"], "channels": channels,
            "reached_by": [c["channel"] for c in channels if c["status"] in (SENT, DELIVERED)]})
    return result
