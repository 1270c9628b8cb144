"""Codes and appointment dates in the workflow (docs/workflow.md "Deadlines", "Dossier codes").

server/workflow/policy.py calls these from the sync Policy: at reception (desk `receive`, or field intake received on
the spot) the dossier gets its code and its appointment (due_at); a supplement or a financial obligation stops
the clock and the appointment moves later by the working time spent waiting; `apologise` sets a new appointment
once (form 04 of Circular 03/2025: văn bản xin lỗi và đề nghị gia hạn) and keeps the original one (hạn gốc) in
`original_due_at`; `finish` records when processing ended (`finished_at`), by which timeliness is decided.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any, Mapping


from server.accounts import access
from server.workflow.dossier_codes import agency_code, code_problem, is_provisional, next_code
from server.workflow.register_numbers import take_register_number
from server.catalog.generic import CASE_FIELD, case_value, timed_cases
from server.dossiers.status import OPEN, DossierStatus
from server.dossiers.store import FORM_PREFIX, procedure_version, procedure_version_id
from server.models import AdministrativeUnit, Dossier, Procedure
from server.workflow.working_time import WorkingCalendar, load_calendar, utc_now, vietnam_date
from sync.model import Record
from sync.policy import Rejection

# Not finished: an apology and a new appointment still make sense (server/dossiers/status.py).
OPEN_STATUSES = tuple(sorted(OPEN))
PAUSING = frozenset({"request_supplement", "request_payment"})
RESUMING = frozenset({"accept_supplement", "payment_done"})  # payment_done from 6 only (a fee paid from 2, 4, 5 or 9
# was fixed at a field intake and stopped no clock: on_command)
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


def processing_time(procedure: Procedure, content: Mapping[str, Any], channel: str,
                    case: object = None) -> tuple[Any, str]:
    """The processing time and its unit for the dossier: its sub-case's where the generic form asked which one
    (`case`, the value of its CASE_FIELD), else the channel's it came by (the national data give each channel its
    own: a procedure may take 3 working days online and 5 at the desk), else the procedure's default
    (docs/workflow.md "Deadlines"). A field-intake dossier is received in person: the direct channel's time."""
    if case is not None:
        for index, sub_case in enumerate(timed_cases(dict(content))):
            if case == case_value(index):
                return sub_case["processing_time"], str(sub_case["processing_unit"])
    for method in content.get("channels") or []:
        if (isinstance(method, Mapping) and method.get("channel") == channel
                and method.get("processing_time") is not None and method.get("processing_unit")):
            return method["processing_time"], str(method["processing_unit"])
    return procedure.processing_days, procedure.processing_unit


def _due(calendar: WorkingCalendar, received_at: datetime, procedure: Procedure | None,
         content: Mapping[str, Any], channel: str, case: object = None) -> str | None:
    """The appointment from the processing time for the dossier's channel, in its unit, with the procedure's own
    cut-off hour."""
    if procedure is None:
        return None
    cutoff = time.fromisoformat(procedure.cutoff) if procedure.cutoff else None
    amount, unit = processing_time(procedure, content, channel, case)
    due = calendar.due_at(received_at, amount, unit, cutoff)
    return _iso(due) if due else None


async def _content(code: str, version: int) -> Mapping[str, Any]:
    version_id = await procedure_version_id(code, version)
    return (await procedure_version(version_id))[2] if version_id else {}


async def field_intake(unit: AdministrativeUnit, procedure: Procedure, values: Mapping[str, Any],
                       device_id: str | None) -> Rejection | dict[str, Any]:
    """An intake officer's create is received on the spot: its receipt time as the device stated it, its code
    from the device's reserved block (or a final code for a provisional one) and its appointment."""
    now = utc_now()
    stated = values.get("received_at")
    received_at = now if stated is None else parse_moment(stated)
    if received_at is None:
        return _no("invalid_received_at", "Thời điểm tiếp nhận ghi trên máy không hợp lệ; hãy kiểm tra ngày giờ của máy.",
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
    added: dict[str, Any] = {"status": DossierStatus.RECEIVED, "submitted_at": _iso(received_at)}
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
    channel = "postal" if values.get("channel") == "postal" else "direct"
    added["due_at"] = _due(calendar, received_at, procedure,
                           await _content(procedure.code, procedure.current_version), channel,
                           values.get(FORM_PREFIX + CASE_FIELD))
    # Its line in the unit's register, numbered now that it reaches the server (server/workflow/register_numbers.py).
    added.update(await take_register_number(unit.id, received_at))
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
        changes["due_at"] = _due(await load_calendar(), now, await Procedure.get_or_none(code=data["procedure_code"]),
                                 await _content(data["procedure_code"], int(data["procedure_version"])),
                                 str(data.get("channel") or "online"), data.get(FORM_PREFIX + CASE_FIELD))
        if not data.get("register_number"):  # its line in the unit's register (server/workflow/register_numbers.py)
            changes.update(await take_register_number(int(data["unit_id"]), now))
        return changes
    if command == "finish":
        return {"finished_at": _iso(utc_now())}  # processing ended: timeliness is decided by this date
    if command in PAUSING:
        return {"clock_paused_at": _iso(utc_now())} if data.get("due_at") and not data.get("clock_paused_at") else {}
    if command == "payment_done" and data["status"] != DossierStatus.PAYMENT:
        return {}  # a fee fixed at a field intake, paid with the status kept: its clock never stopped for it
    if command in RESUMING:
        paused, due = parse_moment(data.get("clock_paused_at")), parse_moment(data.get("due_at"))
        if paused is None:
            return {}
        changes = {"clock_paused_at": None}
        calendar, now = await load_calendar(), utc_now()
        if due is not None:
            changes["due_at"] = _iso(calendar.resume(due, paused, now))
        original = parse_moment(data.get("original_due_at"))
        if original is not None:  # the wait for the citizen moves the original appointment too
            changes["original_due_at"] = _iso(calendar.resume(original, paused, now))
        return changes
    if command == "apologise":
        return apology(data, args)
    return {}


def apology(data: Mapping[str, Any], args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """`apologise` {new_due_at, reason}: once, with a later appointment; the status does not change.

    Form 04 of Circular 03/2025 (văn bản xin lỗi và đề nghị gia hạn): the new date is the extended appointment
    (`due_at`); the original one (hạn gốc) stays on record in `original_due_at`, and the dossier's timeliness is
    still judged against it (docs/domain.md "Timeliness")."""
    due = parse_moment(data.get("due_at"))
    if due is None:
        return _no("no_appointment", "Hồ sơ chưa có ngày hẹn trả kết quả nên không cần xin lỗi, hẹn lại.",
                   "The dossier has no appointment date to postpone.")
    if data.get("apology_sent_at"):
        return _no("apology_already_sent", "Hồ sơ đã có văn bản xin lỗi và hẹn lại; chỉ được hẹn lại một lần.",
                   "An apology with a new appointment was already sent; it is allowed only once.")
    new_due = parse_moment(args.get("new_due_at"))
    if new_due is None:
        return _no("invalid_new_due_at", "Hãy chọn ngày hẹn trả kết quả mới.",
                   "Give the new appointment as an ISO 8601 time with its offset.")
    if new_due <= due:
        return _no("new_due_not_later", "Ngày hẹn mới phải sau ngày hẹn hiện tại.",
                   "The new appointment must be later than the current one.")
    return {"status": data["status"], "substatus": data.get("substatus"), "due_at": _iso(new_due),
            "original_due_at": _iso(due), "apology_sent_at": _iso(utc_now())}


async def dossiers_due_soon(unit_id: int, now: datetime | None = None) -> list[Dossier]:
    """Dossiers of a unit whose appointment is within one working day (or already passed), not finished, with
    the clock running and no apology yet: the officers' queue, and the push reminder's list."""
    now = now or utc_now()
    calendar = await load_calendar()
    horizon = calendar.add_working_seconds(now, calendar.day_seconds)
    return await (Dossier.filter(access.unit_dossiers(unit_id), status__in=OPEN_STATUSES,
                                 due_at__isnull=False, due_at__lte=horizon, apology_sent_at__isnull=True,
                                 clock_paused_at__isnull=True).order_by("due_at"))

