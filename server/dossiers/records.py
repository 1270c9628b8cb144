"""Dossiers (hồ sơ): creating one from a procedure's form, and reading them as their owner or unit sees them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from server.accounts import access
from server.web.errors import ApiError
from server.catalog.forms import validate
from server.dossiers.store import FORM_PREFIX
from server.dossiers.status import NAMES, DossierStatus
from server.models import AdministrativeUnit, Dossier, Procedure, ProcedureVersion, User
from server.workflow import changes

DRAFT, SUBMITTED = DossierStatus.DRAFT, DossierStatus.SUBMITTED

# Names of the national portal's status codes (docs/workflow.md), for pages and notices.
STATUS_NAMES = NAMES


def parse_dossier_id(raw: object) -> str:
    if raw is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise ApiError(400, "invalid_id", "Mã hồ sơ trên thiết bị không hợp lệ.",
                       "The dossier id must be a UUID.") from None


async def create_dossier(user: User, body: dict[str, Any], commune_codes: set[str]) -> Dossier:
    """File a dossier in one request (for clients that are online): a "create" mutation with the form data, and a
    "submit" command when asked, applied together through the one write path (server/workflow/changes.py)."""
    access.require(user, "dossier.create")
    dossier_id = parse_dossier_id(body.get("id"))
    code = body.get("procedure_code")
    procedure = await Procedure.get_or_none(code=code) if isinstance(code, str) and len(code) <= 32 else None
    if procedure is None:
        raise ApiError(404, "unknown_procedure", "Không tìm thấy thủ tục này. Hãy chọn lại thủ tục trong danh mục.",
                       "Unknown procedure. Choose the procedure again from the catalog.")
    version = await ProcedureVersion.get(procedure=procedure, version=procedure.current_version)
    submit = body.get("submit", False)
    if not isinstance(submit, bool):
        raise ApiError(400, "type", "Trường submit phải là true hoặc false.", "submit must be true or false.")
    clean, errors = validate(version.content["form"], body.get("data", {}), commune_exists=commune_codes.__contains__,
                             today=date.today())
    if errors and (submit or any(error.code != "required" for error in errors)):
        raise ApiError(422, "invalid_form", "Tờ khai còn thông tin chưa hợp lệ. Hãy sửa các mục được đánh dấu rồi gửi lại.",
                       "The form has invalid entries. Correct the marked fields and send it again.",
                       details=[error.to_json() for error in errors])
    unit_code = body.get("unit_code")
    if (submit or unit_code is not None) and not (isinstance(unit_code, str) and
                                                  await AdministrativeUnit.filter(code=unit_code, valid_to__isnull=True).exists()):
        raise ApiError(400, "unknown_unit", "Vui lòng chọn cơ quan (xã, phường) nhận hồ sơ.",
                       "Choose the office (commune or ward) that receives the dossier.")
    values = {"procedure_code": procedure.code, **{FORM_PREFIX + name: value for name, value in clean.items()}}
    if unit_code is not None:
        values["unit_code"] = unit_code
    mutations = [changes.create(dossier_id, values)]
    if submit:
        mutations.append(changes.command(dossier_id, "submit"))
    try:
        await changes.apply(user, mutations, commune_codes=commune_codes)
    except changes.Refused as refused:
        raise _refused(refused) from None
    return await Dossier.get(id=dossier_id)


def _refused(refused: changes.Refused) -> ApiError:
    if refused.code == "exists":
        return ApiError(409, "dossier_exists", "Hồ sơ này đã được gửi trước đó.", "This dossier was already sent.")
    status = 403 if refused.code == "forbidden" else 422 if refused.code == "invalid_form" else 400
    return ApiError(status, refused.code, refused.reason["vi"], refused.reason["en"])


async def dossiers_for(user: User, limit: int, offset: int) -> list[Dossier]:
    access.require(user, "dossier.read")
    return await (Dossier.filter(access.visible_dossiers(user)).select_related("procedure_version__procedure", "unit", "handling_unit")
                  .order_by("-created_at").offset(offset).limit(limit))


async def visible_dossier(user: User | None, dossier_id: str) -> Dossier:
    dossier = await Dossier.get_or_none(id=dossier_id).select_related("procedure_version__procedure", "unit", "handling_unit")
    if dossier is None or user is None or not access.allowed(user, "dossier.read", dossier):
        # The same answer for "missing" and "not yours": ids of others' dossiers are not revealed.
        raise ApiError(404, "unknown_dossier", "Không tìm thấy hồ sơ này trong các hồ sơ tài khoản này được xem.",
                       "No dossier with this id among those you may see.")
    return dossier


def dossier_json(dossier: Dossier) -> dict[str, Any]:
    procedure = dossier.procedure_version.procedure
    return {"id": dossier.id, "code": dossier.code, "status": dossier.status,
            "status_name": STATUS_NAMES[dossier.status][0], "channel": dossier.channel,
            "procedure": {"code": procedure.code, "name": procedure.name, "version": dossier.procedure_version.version},
            "unit": {"code": dossier.unit.code, "name": dossier.unit.name} if dossier.unit_id and dossier.unit else None,
            "data": dossier.data, "version": dossier.version,
            "submitted_at": dossier.submitted_at.isoformat() if dossier.submitted_at else None,
            "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
            "created_at": dossier.created_at.isoformat(),
            "substatus": dossier.substatus, "code_provisional": dossier.code_provisional,
            "received_at": _iso(dossier.received_at), "returned_at": _iso(dossier.returned_at),
            # The original appointment (hạn gốc) when an apology extended it; when processing ended.
            "original_due_at": _iso(dossier.original_due_at), "finished_at": _iso(dossier.finished_at),
            "assigned_to": dossier.assigned_to_id,
            # Its line in the receiving unit's register: book (year) and number (docs/workflow.md "Register numbers").
            "register_year": dossier.register_year, "register_number": dossier.register_number,
            # After a transfer (liên thông) the office now handling it; null while the receiving unit handles it.
            "handling_unit": {"code": dossier.handling_unit.code, "name": dossier.handling_unit.name}
            if dossier.handling_unit_id and dossier.handling_unit else None,
            "postal": {"submit": dossier.postal_submit, "return": dossier.postal_return,
                       "consignment": dossier.postal_consignment},
            # The fee fixed when payment was requested and the payment recorded (docs/payments.md).
            "payment": {"amount_vnd": dossier.fee_amount_vnd, "fixed_at": _iso(dossier.fee_fixed_at),
                        "qr": dossier.payment_qr or None, "paid_at": _iso(dossier.paid_at),
                        "channel": dossier.payment_channel or None,
                        "reference": dossier.payment_reference or None}}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
