"""Transfer between units (luân chuyển / liên thông): the office handling a dossier forwards it to another.

The dossier keeps the unit that received it (`unit_id`); `handling_unit_id` names the unit now processing it.
Officers of both units see it (server/accounts/access.py units_of, also the sync scopes); only the handling unit
processes it (server/workflow/assignment.py). Each forward is an event from unit → to unit (docs/workflow.md "Transfer").
"""

from __future__ import annotations

from typing import Any, Mapping

from server.workflow.assignment import acting_unit_id
from server.models import AdministrativeUnit, Attachment
from sync.model import Record
from sync.policy import Rejection
from sync.store import Store


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


async def forward(record: Record, args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
    """`forward` {unit_code, reason}: to a unit in force other than the one handling it now. The new unit's
    leader assigns it again, so the assignment is cleared."""
    code = args.get("unit_code")
    unit = await AdministrativeUnit.filter(code=code, valid_to__isnull=True).first() \
        if isinstance(code, str) and 0 < len(code) <= 16 else None
    if unit is None:
        return _no("unknown_unit", "Không tìm thấy đơn vị nhận hồ sơ chuyển đến. Hãy chọn lại đơn vị.",
                   "Unknown office to forward the dossier to. Choose it again.")
    if unit.id == acting_unit_id(record):
        return _no("same_unit", "Hồ sơ đang do chính đơn vị này xử lý.", "This office already handles the dossier.")
    # Forwarding back to the receiving unit makes it the handler again.
    handling = None if unit.id == record.data.get("unit_id") else unit.id
    return {"handling_unit_id": handling, "handling_unit_code": unit.code if handling else None, "assigned_to": None}


async def announce_attachments(store: Store, after: Record) -> None:
    """The new unit's devices pull the dossier's attachments too: their change-log entries only named the old
    readers. Runs in the forward's transaction, through the engine's store (Policy.after_write)."""
    rows = await Attachment.filter(dossier_id=after.id).values_list("id", "version")
    for attachment_id, version in rows:
        await store.append_change(Record("attachment", attachment_id, version, {}), after.scopes, None)
