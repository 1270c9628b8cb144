"""Assignment (phân công): a dossier being processed belongs to one specialist of the unit handling it.

A leader of the handling unit assigns and reassigns (command `assign`); a specialist who starts an unassigned
dossier takes it. Once assigned, a specialist who is not the assignee can neither run a command on it nor edit
its form: the step comes back to their device rejected with `not_assigned` and the reason, and the device keeps
it (docs/sync.md, docs/workflow.md "Assignment").
"""

from __future__ import annotations

from typing import Any, Mapping

from server.accounts import access
from server.models import LEADER, SPECIALIST, User
from sync.model import Actor, Record
from sync.policy import Rejection

# Steps the receiving unit's desk may still take after a transfer; every other officer step is the handling
# unit's (server/workflow/transfer.py). Owner steps (submit, withdraw) do not depend on units.
EITHER_UNIT_COMMANDS = frozenset({"return", "record_postal"})


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


def acting_unit_id(record: Record) -> Any:
    """The unit now handling the dossier: the unit it was forwarded to, else the unit that received it."""
    return access.acting_unit(record)


def not_assigned() -> Rejection:
    return _no("not_assigned",
               "Hồ sơ đã được giao cho cán bộ khác xử lý, nên thay đổi này không được ghi nhận. "
               "Nội dung đã nhập vẫn được giữ trên máy: hãy sao chép lại nếu cần, hoặc bỏ đi.",
               "The dossier has been assigned to another officer, so this change was not accepted. What you "
               "entered is kept on your device: copy it if you need it, or discard it.")


def check_officer_step(actor: Actor, record: Record, command: str | None) -> Rejection | None:
    """An officer's command (or, with command None, a form edit) on a dossier they can see: is it theirs to do?

    After a transfer only the handling unit processes; once assigned only the assignee among specialists."""
    if command not in EITHER_UNIT_COMMANDS and actor.unit_id is not None \
            and str(acting_unit_id(record)) != actor.unit_id:
        return _no("transferred",
                   "Hồ sơ đã được chuyển cho đơn vị khác xử lý (liên thông); đơn vị này chỉ theo dõi.",
                   "The dossier was forwarded to another office; your office can follow it but not process it.")
    assignee = record.data.get("assigned_to")
    if actor.role == SPECIALIST and assignee is not None and str(assignee) != actor.user_id:
        return not_assigned()
    return None


async def assign(actor: Actor, record: Record, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """`assign` {officer_id}: a leader of the handling unit gives the dossier to one of its specialists."""
    if actor.role != LEADER:
        return _no("forbidden", "Chỉ lãnh đạo đơn vị được phân công hồ sơ.", "Only a leader assigns dossiers.")
    officer_id = args.get("officer_id")
    if isinstance(officer_id, bool) or not isinstance(officer_id, (int, str)) or not (str(officer_id).isascii() and str(officer_id).isdigit()) \
            or len(str(officer_id)) > 12:
        return _no("invalid_officer", "Hãy chọn cán bộ được giao xử lý hồ sơ.", "Choose the officer to assign.")
    officer = await User.get_or_none(id=int(officer_id))
    if officer is None or officer.role != SPECIALIST or str(officer.unit_id) != str(acting_unit_id(record)):
        return _no("invalid_officer", "Chỉ giao được hồ sơ cho chuyên viên của đơn vị đang xử lý hồ sơ.",
                   "A dossier can be assigned only to a specialist of the office handling it.")
    if record.data.get("assigned_to") == officer.id:
        return _no("already_assigned", f"Hồ sơ đã được giao cho {officer.full_name}.",
                   f"The dossier is already assigned to {officer.full_name}.")
    return {"assigned_to": officer.id}


def start(actor: Actor, record: Record) -> dict[str, Any]:
    """`start` by a specialist takes an unassigned dossier (check_officer_step refused it if it is another's)."""
    if actor.role == SPECIALIST and record.data.get("assigned_to") is None:
        return {"assigned_to": int(actor.user_id)}
    return {}


async def event_note(command: str, before: Record | None, after: Record, reason: object) -> object:
    """The processing-control record names the giver and the receiver of a hand-over (phiếu kiểm soát)."""
    if command != "assign" or before is None:
        return reason
    names = dict(await User.filter(id__in=[i for i in (before.data.get("assigned_to"), after.data.get("assigned_to"))
                                           if i is not None]).values_list("id", "full_name"))
    note = f"Giao cho {names.get(after.data.get('assigned_to'), '?')}"
    if before.data.get("assigned_to") is not None:
        note += f" (thay {names.get(before.data['assigned_to'], '?')})"
    if isinstance(reason, str) and reason.strip():
        note += f": {reason.strip()}"
    return note
