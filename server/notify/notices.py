"""Which dossier event tells whom what: the notices of the inbox and of Web Push (docs/push.md).

`notify_for_event` runs inside the step's transaction (called from server/workflow/policy.py record_event),
so a notice and its push jobs exist exactly when the status change does: a rolled-back step leaves
no notice, a committed one always has its notice. One notice per user, event and kind (a unique key),
so a retried step never notifies twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Awaitable, Callable, cast
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.accounts import access
from server.notify import channels
from server.dossiers.status import DossierStatus
from server.models import INTAKE, LEADER, SPECIALIST, Dossier, DossierEvent, Notification, Procedure, PushJob, \
    PushSubscription, User
from server.workflow.deadlines import OPEN_STATUSES, dossiers_due_soon
from sync.model import Record

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = 24 * 3600

# kind → (TTL seconds, urgency). A citizen's phone may be out of range for days in the hills: their notices
# wait a week at the push service; an officer's "due soon" is worthless after a day.
KINDS: dict[str, tuple[int, str]] = {
    "received": (7 * DAY, "normal"),
    "supplement": (7 * DAY, "high"),  # the citizen must act
    "refused": (7 * DAY, "normal"),
    "payment": (7 * DAY, "high"),
    "paid": (7 * DAY, "normal"),
    "stopped": (7 * DAY, "normal"),
    "result_ready": (7 * DAY, "high"),
    "apology": (7 * DAY, "normal"),
    "new_submission": (2 * DAY, "normal"),
    "unassigned": (2 * DAY, "low"),
    "due_soon": (1 * DAY, "high"),
}


def ttl_of(kind: str) -> int:
    return KINDS.get(kind, (DAY, "normal"))[0]


@dataclass(frozen=True)
class Text:
    title: tuple[str, str]  # (vi, en)
    body: tuple[str, str]


def day_of(value: object) -> str | None:
    """An ISO time (as dossier records carry it) as the date a person in Vietnam reads: 05/03/2026."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def _clip(text: str, limit: int = 600) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _due(record: Record) -> tuple[str, str]:
    day = day_of(record.data.get("due_at"))
    return (f" Ngày hẹn trả kết quả: {day}.", f" Appointment for the result: {day}.") if day else ("", "")


# The texts of the citizen's notices: each made from the dossier's name, the event's note and the record.
def _received(name: str, note: str, record: Record) -> Text:
    due_vi, due_en = _due(record)
    return Text(("Hồ sơ đã được tiếp nhận", "Dossier received"),
                (f"Hồ sơ {name} của Ông/Bà đã được tiếp nhận.{due_vi}", f"Your dossier {name} has been received.{due_en}"))


def _supplement(name: str, note: str, record: Record) -> Text:
    return Text(("Cần bổ sung hồ sơ", "Documents needed"),
                (f"Hồ sơ {name} của Ông/Bà cần bổ sung: {_clip(note)}", f"Your dossier {name} needs more: {_clip(note)}"))


def _refused(name: str, note: str, record: Record) -> Text:
    return Text(("Hồ sơ không được tiếp nhận", "Dossier refused"),
                (f"Hồ sơ {name} của Ông/Bà không được tiếp nhận. Lý do: {_clip(note)}",
                 f"Your dossier {name} was refused. Reason: {_clip(note)}"))


def _vnd(amount: object) -> str:
    return f"{amount:,}".replace(",", ".") + " đ" if isinstance(amount, int) else ""


def _payment(name: str, note: str, record: Record) -> Text:
    amount = _vnd(record.data.get("fee_amount_vnd"))
    how_vi = (f" Số tiền: {amount}." + (" Ông/Bà có thể quét mã VietQR trong ứng dụng để chuyển khoản."
                                        if record.data.get("payment_qr") else "")) if amount else ""
    how_en = (f" Amount: {amount}." + (" You can scan the VietQR code in the app to pay by transfer."
                                       if record.data.get("payment_qr") else "")) if amount else ""
    return Text(("Cần nộp phí, lệ phí", "Payment needed"),
                (f"Hồ sơ {name} của Ông/Bà: {_clip(note)}{how_vi}", f"Dossier {name}: {_clip(note)}{how_en}"))


def _paid(name: str, note: str, record: Record) -> Text:
    amount = _vnd(record.data.get("fee_amount_vnd"))
    amount = f" {amount}" if amount else ""
    return Text(("Đã nhận phí, lệ phí", "Payment received"),
                (f"Cơ quan đã nhận khoản phí, lệ phí{amount} của hồ sơ {name}; hồ sơ được giải quyết tiếp.",
                 f"The office has received the fee{amount} for dossier {name}; processing continues."))


def _stopped(name: str, note: str, record: Record) -> Text:
    return Text(("Hồ sơ bị dừng giải quyết", "Processing stopped"),
                (f"Hồ sơ {name} của Ông/Bà đã dừng giải quyết. Lý do: {_clip(note)}",
                 f"Processing of your dossier {name} has stopped. Reason: {_clip(note)}"))


def _result(name: str, note: str, record: Record) -> Text:
    return Text(("Đã có kết quả", "Result ready"),
                (f"Hồ sơ {name} của Ông/Bà đã có kết quả. Mời Ông/Bà đến nhận hoặc chờ bưu điện chuyển.",
                 f"The result of your dossier {name} is ready to collect (or on its way by post)."))


def _apology(name: str, note: str, record: Record) -> Text:
    day = day_of(record.data.get("due_at")) or "—"
    reason_vi = f" Lý do: {_clip(note)}" if note else ""
    reason_en = f" Reason: {_clip(note)}" if note else ""
    return Text(("Xin lỗi vì trả kết quả trễ hẹn", "Apology: the result is late"),
                (f"Cơ quan xin lỗi Ông/Bà vì hồ sơ {name} trễ hẹn. Ngày hẹn mới: {day}.{reason_vi}",
                 f"We apologise: your dossier {name} is late. New date: {day}.{reason_en}"))


OWNER_NOTICES: dict[str, tuple[str, Callable[[str, str, Record], Text]]] = {
    "receive": ("received", _received),
    "request_supplement": ("supplement", _supplement),
    "refuse": ("refused", _refused),
    "request_payment": ("payment", _payment),
    "payment_done": ("paid", _paid),
    "stop": ("stopped", _stopped),
    "finish": ("result_ready", _result),
    "approve": ("result_ready", _result),
    "apologise": ("apology", _apology),
}
# The notices that may go by Zalo and SMS too are exactly the citizen's ones above.
assert {kind for kind, _ in OWNER_NOTICES.values()} == channels.CITIZEN_KINDS


def topic_of(dossier_id: str, prefix: str = "") -> str:
    """RFC 8030 Topic: ≤ 32 characters of base64url. A UUID's 32 hex digits, so a newer notice replaces a waiting one."""
    return (prefix + dossier_id.replace("-", ""))[:32]


async def _name_of(record: Record) -> str:
    code = record.data.get("code")
    if code:
        return str(code)
    name = await _procedure_name_by_code(record.data.get("procedure_code"))
    return f"“{_clip(name or str(record.data.get('procedure_code')), 120)}”"


async def _locales(user_ids: list[int]) -> dict[int, str]:
    """The language a user reads notices in: the one their latest subscribed phone was set to, else their account's."""
    locales = dict(await User.filter(id__in=user_ids).values_list("id", "locale"))
    for user_id, locale in await PushSubscription.filter(user_id__in=user_ids).order_by("id").values_list(
            "user_id", "locale"):
        locales[user_id] = locale
    return {user_id: ("en" if locale == "en" else "vi") for user_id, locale in locales.items()}


async def write_notice(user_ids: list[int], kind: str, text: Text, *, dossier_id: str | None,
                       event_id: int | None, topic: str) -> list[Notification]:
    """The notices and one push job per subscription of each user; the caller's transaction holds them."""
    if not user_ids:
        return []
    urgency = KINDS[kind][1]
    locales = await _locales(user_ids)
    people = {user_id: (phone, stopped) for user_id, phone, stopped in
              await User.filter(id__in=user_ids).values_list("id", "phone", "stopped_channels")}
    url = f"/app#/d/{dossier_id}" if dossier_id else "/app#/inbox"
    written = []
    now = datetime.now(timezone.utc)
    for user_id in user_ids:
        index = 1 if locales.get(user_id) == "en" else 0
        notice = await Notification.create(user_id=user_id, dossier_id=dossier_id, event_id=event_id, kind=kind,
                                           title=text.title[index][:200], body=text.body[index], url=url,
                                           topic=topic, urgency=urgency)
        written.append(notice)
        subscriptions = await PushSubscription.filter(user_id=user_id).values_list("id", flat=True)
        if subscriptions:
            await PushJob.bulk_create([PushJob(notification_id=notice.id, subscription_id=subscription,
                                               next_attempt_at=now) for subscription in subscriptions])
        # The first channel of the province's order that this person has (push, Zalo, SMS: server/notify/channels.py)
        phone, stopped = people.get(user_id, (None, None))
        await channels.start(notice, has_push=bool(subscriptions), phone=phone, stopped=stopped,
                             citizen=kind in channels.CITIZEN_KINDS)
    return written


async def notify_for_event(event: DossierEvent, after: Record, before: Record | None = None,
                           event_id: Callable[[], Awaitable[int]] | None = None) -> list[Notification]:
    """The notices one step of a dossier produces. Runs in the step's transaction. `event_id` writes the event
    when a notice needs its id (a step with no notice leaves its event to be written with the round's end)."""
    if event_id is None:
        async def event_id() -> int:
            return int(event.id)
    action = event.action
    note = event.note or ""
    owner_id = after.data.get("owner_id")
    if action == "create" and after.data.get("status") == DossierStatus.RECEIVED:
        action = "receive"  # field intake: received on the spot
    if action == "finish" and after.data.get("substatus") == "drafted":
        return []  # a draft awaiting the leader's signature is not a result yet: told at `approve`
    if action in OWNER_NOTICES and owner_id:
        kind, make = OWNER_NOTICES[action]
        # The citizen is not told of what they did themselves (an officer filing for a walk-in citizen is not them).
        # A gateway payment is recorded on the owner's behalf, but they are told it arrived all the same.
        if int(owner_id) != event.actor_id or action == "payment_done":
            text = make(await _name_of(after), note, after)
            return await write_notice([int(owner_id)], kind, text, dossier_id=after.id, event_id=await event_id(),
                                      topic=topic_of(after.id))
        return []
    if action == "submit" and after.data.get("unit_id") and after.data.get("channel", "online") == "online":
        # values_list(flat=True): tortoise's stub says tuples
        officers = cast("list[int]", await User.filter(unit_id=after.data["unit_id"], role=INTAKE).values_list("id", flat=True))
        name = await _name_of(after)
        procedure = await _procedure_name_by_code(after.data.get("procedure_code"))
        text = Text(("Hồ sơ trực tuyến mới", "New online dossier"),
                    (f"Có hồ sơ mới nộp trực tuyến: {_clip(procedure or name, 300)}. Vui lòng tiếp nhận.",
                     f"A new dossier was filed online: {_clip(procedure or name, 300)}. Please receive it."))
        return await write_notice(list(officers), "new_submission", text, dossier_id=after.id, event_id=await event_id(),
                                  topic=topic_of(after.id, "n"))
    if action == "assign" and before is not None:
        lost, gained = before.data.get("assigned_to"), after.data.get("assigned_to")
        if lost and lost != gained and int(lost) != event.actor_id:
            name = await _name_of(after)
            text = Text(("Hồ sơ đã được giao cho người khác", "Dossier reassigned"),
                        (f"Lãnh đạo đã giao hồ sơ {name} cho cán bộ khác; không cần xử lý hồ sơ này nữa.",
                         f"A leader reassigned dossier {name} to another officer; you need not handle it any more."))
            return await write_notice([int(lost)], "unassigned", text, dossier_id=after.id, event_id=await event_id(),
                                      topic=topic_of(after.id, "a"))
    return []


# -- dossiers about to be late, for officers: run periodically by the push worker -------------------------

async def notify_due_soon(now: datetime | None = None) -> int:
    """Tell the assigned officer (or the unit's leaders and specialists) of each dossier due within one working
    day or already late (server/workflow/deadlines.py dossiers_due_soon: clock running, no apology yet), once per dossier.
    Run every few minutes by the push worker; returns how many notices it wrote."""
    now = now or datetime.now(timezone.utc)
    open_dossiers = Dossier.filter(status__in=OPEN_STATUSES, due_at__isnull=False, apology_sent_at__isnull=True)
    # values_list(flat=True): tortoise's stub says tuples
    units = set(cast("list[int | None]", await open_dossiers.distinct().values_list("unit_id", flat=True))) | \
        set(cast("list[int | None]", await open_dossiers.filter(handling_unit_id__isnull=False).distinct().values_list(
            "handling_unit_id", flat=True)))
    count = 0
    for unit_id in sorted(unit for unit in units if unit is not None):
        for candidate in await dossiers_due_soon(unit_id, now):
            if await Notification.filter(dossier_id=candidate.id, kind="due_soon").exists():
                continue
            count += await _remind(candidate.id, now)
    return count


async def _remind(dossier_id: str, now: datetime) -> int:
    async with in_transaction():
        # The row lock makes workers that look at the same moment take turns; the second sees the first's notice.
        dossier = await Dossier.select_for_update().get_or_none(id=dossier_id)
        if dossier is None or dossier.due_at is None or \
                await Notification.filter(dossier_id=dossier.id, kind="due_soon").exists():
            return 0
        if dossier.assigned_to_id:
            officers = [dossier.assigned_to_id]
        else:
            unit = access.acting_unit(dossier)
            officers = list(cast("list[int]", await User.filter(Q(role=LEADER) | Q(role=SPECIALIST), unit_id=unit)
                                 .values_list("id", flat=True)))
        name = dossier.code or f"“{_clip(await _procedure_name(dossier), 120)}”"
        day = day_of(dossier.due_at)
        if dossier.due_at <= now:
            text = Text(("Hồ sơ đã quá hạn", "Dossier overdue"),
                        (f"Hồ sơ {name} đã quá hạn trả kết quả (ngày {day}). Hãy xử lý và gửi văn bản xin lỗi, hẹn lại.",
                         f"Dossier {name} is past its appointment ({day}). Finish it, or apologise with a new date."))
        else:
            text = Text(("Hồ sơ sắp đến hạn", "Dossier due soon"),
                        (f"Hồ sơ {name} đến hạn trả kết quả ngày {day}. Hãy xử lý kịp để không trễ hẹn.",
                         f"Dossier {name} is due on {day}. Finish it in time to avoid being late."))
        written = await write_notice(officers, "due_soon", text, dossier_id=dossier.id, event_id=None,
                                     topic=topic_of(dossier.id, "s"))
        return len(written)


async def _procedure_name(dossier: Dossier) -> str:
    names = cast("list[str]", await Procedure.filter(versions__id=dossier.procedure_version_id).limit(1).values_list(
        "name", flat=True))
    return names[0] if names else ""


async def _procedure_name_by_code(code: object) -> str | None:
    names = cast("list[str]", await Procedure.filter(code=str(code)).limit(1).values_list("name", flat=True))
    return names[0] if names else None
