"""Codes and appointment dates in the workflow (docs/workflow.md "Deadlines", "Dossier codes").

server/workflow.py calls these from the sync Policy: at reception (desk `receive`, or field intake received on
the spot) the dossier gets its code and its appointment (due_at); a supplement or a financial obligation stops
the clock and the appointment moves later by the working time spent waiting; `apologise` sets a new appointment
once (văn bản xin lỗi và hẹn lại ngày trả kết quả).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from tortoise.expressions import Q

from server.dossier_codes import agency_code, code_problem, is_provisional, next_code
from server.models import AdministrativeUnit, Dossier, Procedure
from server.working_time import WorkingCalendar, load_calendar, utc_now, vietnam_date
from sync.model import Actor, Record
from sync.policy import Rejection

# Statuses of the national portal (server/workflow.py has the names).
RECEIVED, PROCESSING, SUPPLEMENT, PAYMENT, WITHDRAWAL = 2, 4, 5, 6, 7
# Not finished: an apology and a new appointment still make sense.
OPEN_STATUSES = (RECEIVED, PROCESSING, SUPPLEMENT, PAYMENT, WITHDRAWAL)
PAUSING = frozenset({"request_supplement", "request_payment"})
RESUMING = frozenset({"accept_supplement", "payment_done"})
# A field device's stated receipt time: its clock may run a little fast; a field trip lasts days, not weeks.
MAX_CLOCK_AHEAD = timedelta(minutes=10)
MAX_RECEIPT_AGE = timedelta(days=7)


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_moment(value: object) -> datetime | None:
    """An ISO 8601 time with its offset, or None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


async def processing_days(procedure_code: str):
    procedure = await Procedure.get_or_none(code=procedure_code)
    return procedure.processing_days if procedure else None


def _due(calendar: WorkingCalendar, received_at: datetime, days) -> str | None:
    due = calendar.due_at(received_at, days)
    return _iso(due) if due else None


async def field_intake(unit: AdministrativeUnit, procedure: Procedure, values: Mapping[str, Any],
                       device_id: str | None) -> Rejection | dict[str, Any]:
    """An intake officer's create is received on the spot: its receipt time as the device stated it, its code
    from the device's reserved block (or a final code for a provisional one) and its appointment."""
    now = utc_now()
    stated = values.get("received_at")
    received_at = now if stated is None else parse_moment(stated)
    if received_at is None:
        return _no("invalid_received_at", "Thời điểm tiếp nhận không hợp lệ (cần ngày giờ ISO có múi giờ).",
                   "received_at must be an ISO 8601 time with its offset.")
    if received_at > now + MAX_CLOCK_AHEAD:
        return _no("received_in_future", "Thời điểm tiếp nhận ở tương lai: hãy kiểm tra đồng hồ của máy.",
                   "The receipt time is in the future: check the device's clock.")
    if received_at < now - MAX_RECEIPT_AGE:
        return _no("received_too_long_ago",
                   f"Hồ sơ tiếp nhận quá {MAX_RECEIPT_AGE.days} ngày trước mới đồng bộ; hãy tiếp nhận lại tại bộ phận một cửa.",
                   f"The dossier was received more than {MAX_RECEIPT_AGE.days} days ago; receive it again at the desk.")
    agency = agency_code(unit)
    day = vietnam_date(received_at)
    code = values.get("code")
    added: dict[str, Any] = {"status": RECEIVED, "submitted_at": _iso(received_at)}
    added["received_at"] = stated if stated is not None else _iso(received_at)
    if code is None or is_provisional(code):
        added["code"] = await next_code(agency, day)
        added["code_provisional"] = code is not None
    else:
        problem = await code_problem(device_id, agency, day, code)
        if problem:
            return _no(*problem)
        added.update(code=code, code_provisional=False)
    calendar = await load_calendar()
    added["due_at"] = _due(calendar, received_at, procedure.processing_days)
    return added


async def on_command(record: Record, command: str, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """The deadline side of a workflow step: {} when the step does not touch codes or deadlines."""
    data = record.data
    if command == "receive":
        now = utc_now()
        changes: dict[str, Any] = {"received_at": _iso(now)}
        if not data.get("code"):
            unit = await AdministrativeUnit.get(id=data["unit_id"])
            changes["code"] = await next_code(agency_code(unit), vietnam_date(now))
        changes["due_at"] = _due(await load_calendar(), now, await processing_days(data["procedure_code"]))
        return changes
    if command in PAUSING:
        return {"clock_paused_at": _iso(utc_now())} if data.get("due_at") and not data.get("clock_paused_at") else {}
    if command in RESUMING:
        paused, due = parse_moment(data.get("clock_paused_at")), parse_moment(data.get("due_at"))
        if paused is None:
            return {}
        changes = {"clock_paused_at": None}
        if due is not None:
            changes["due_at"] = _iso((await load_calendar()).resume(due, paused, utc_now()))
        return changes
    if command == "apologise":
        return apology(data, args)
    return {}


def apology(data: Mapping[str, Any], args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """`apologise` {new_due_at, reason}: once, with a later appointment; the status does not change."""
    due = parse_moment(data.get("due_at"))
    if due is None:
        return _no("no_appointment", "Hồ sơ chưa có ngày hẹn trả kết quả nên không cần xin lỗi, hẹn lại.",
                   "The dossier has no appointment date to postpone.")
    if data.get("apology_sent_at"):
        return _no("apology_already_sent", "Hồ sơ đã có văn bản xin lỗi và hẹn lại; chỉ được hẹn lại một lần.",
                   "An apology with a new appointment was already sent; it is allowed only once.")
    new_due = parse_moment(args.get("new_due_at"))
    if new_due is None:
        return _no("invalid_new_due_at", "Hãy ghi ngày giờ hẹn trả kết quả mới (ISO 8601 có múi giờ).",
                   "Give the new appointment as an ISO 8601 time with its offset.")
    if new_due <= due:
        return _no("new_due_not_later", "Ngày hẹn mới phải sau ngày hẹn hiện tại.",
                   "The new appointment must be later than the current one.")
    return {"status": data["status"], "substatus": data.get("substatus"), "due_at": _iso(new_due),
            "apology_sent_at": _iso(utc_now())}


async def dossiers_due_soon(unit_id: int, now: datetime | None = None) -> list[Dossier]:
    """Dossiers of a unit whose appointment is within one working day (or already passed), not finished, with
    the clock running and no apology yet: the officers' queue, and the push reminder's list."""
    now = now or utc_now()
    calendar = await load_calendar()
    horizon = calendar.add_working_seconds(now, calendar.day_seconds)
    return await (Dossier.filter(Q(unit_id=unit_id) | Q(handling_unit_id=unit_id), status__in=OPEN_STATUSES,
                                 due_at__isnull=False, due_at__lte=horizon, apology_sent_at__isnull=True,
                                 clock_paused_at__isnull=True).order_by("due_at"))

