"""Dossiers (hồ sơ): creating one from a procedure's form, and reading them as their owner or unit sees them."""

from __future__ import annotations

import copy
import uuid
from datetime import date

from tortoise.expressions import Q

from server import access
from server.errors import ApiError
from server.forms import validate
from server.models import AdministrativeUnit, Dossier, Procedure, ProcedureVersion, User
from sync.model import Record
from sync.policy import Rejection

DRAFT, SUBMITTED = 0, 1

# Names of the national portal's status codes (docs/workflow.md), for pages and notices.
STATUS_NAMES = {
    0: ("Bản nháp", "Draft"),
    1: ("Mới đăng ký", "Submitted online"),
    2: ("Được tiếp nhận", "Received"),
    3: ("Không được tiếp nhận", "Refused"),
    4: ("Đang xử lý", "Processing"),
    5: ("Yêu cầu bổ sung", "Supplement requested"),
    6: ("Yêu cầu thực hiện nghĩa vụ tài chính", "Financial obligation requested"),
    7: ("Công dân yêu cầu rút hồ sơ", "Withdrawal requested"),
    8: ("Dừng xử lý", "Processing stopped"),
    9: ("Đã xử lý xong", "Result ready"),
    10: ("Đã trả kết quả", "Result returned"),
}


def parse_dossier_id(raw: object) -> str:
    if raw is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise ApiError(400, "invalid_id", "Mã hồ sơ trên thiết bị không hợp lệ (cần dạng UUID).",
                       "The dossier id must be a UUID.") from None


async def create_dossier(user: User, body: dict, commune_codes: set[str]) -> Dossier:
    """File a dossier in one request (for clients that are online): the same policy and change log as sync."""
    from server.api.sync import actor_for
    from server.sync_store import FORM_PREFIX, TortoiseStore
    from server.workflow import DossierPolicy, record_event

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
    actor, policy, store = actor_for(user), DossierPolicy(commune_codes), TortoiseStore()
    async with store.transaction():
        if await store.load_record("dossier", dossier_id, for_update=True) is not None:
            raise ApiError(409, "dossier_exists", "Hồ sơ này đã được gửi trước đó.", "This dossier was already sent.")
        verdict = await policy.check_create(actor, "dossier", dossier_id, values)
        if isinstance(verdict, Rejection):
            raise _refused(verdict)
        record = await _write(store, policy, None, Record("dossier", dossier_id, 0, {**values, **verdict}))
        await record_event(actor, None, record, "create", None)
        if submit:
            changes = await policy.apply_command(actor, record, "submit", {})
            if isinstance(changes, Rejection):
                raise _refused(changes)
            before = copy.deepcopy(record)
            record.data.update(changes)
            record = await _write(store, policy, before, record)
            await record_event(actor, before, record, "submit", None)
    return await Dossier.get(id=dossier_id)


async def _write(store, policy, before: Record | None, record: Record) -> Record:
    """As the sync engine writes (sync/apply.py): bump the version, log the change for old and new readers."""
    record.version += 1
    record.scopes = policy.scopes(record)
    await store.save_record(record)
    await store.append_change(record, record.scopes | (before.scopes if before else frozenset()), None)
    return record


def _refused(rejection: Rejection) -> ApiError:
    status = 403 if rejection.code == "forbidden" else 422 if rejection.code == "invalid_form" else 400
    return ApiError(status, rejection.code, rejection.reason["vi"], rejection.reason["en"])


async def dossiers_for(user: User, limit: int, offset: int) -> list[Dossier]:
    access.require(user, "dossier.read")
    if user.role == "citizen":
        query = Dossier.filter(owner_id=user.id)
    else:
        # The unit that received it or, after a transfer, the unit handling it (access.can_see_dossier).
        query = (Dossier.filter(Q(unit_id=user.unit_id) | Q(handling_unit_id=user.unit_id), status__gt=DRAFT)
                 if user.unit_id else Dossier.filter(id=""))
    return await (query.select_related("procedure_version__procedure", "unit", "handling_unit")
                  .order_by("-created_at").offset(offset).limit(limit))


async def visible_dossier(user: User | None, dossier_id: str) -> Dossier:
    dossier = await Dossier.get_or_none(id=dossier_id).select_related("procedure_version__procedure", "unit", "handling_unit")
    if dossier is None or not access.can_see_dossier(user, dossier):
        # The same answer for "missing" and "not yours": ids of others' dossiers are not revealed.
        raise ApiError(404, "unknown_dossier", "Không tìm thấy hồ sơ này trong các hồ sơ bạn được xem.",
                       "No dossier with this id among those you may see.")
    return dossier


def dossier_json(dossier: Dossier) -> dict:
    procedure = dossier.procedure_version.procedure
    return {"id": dossier.id, "code": dossier.code, "status": dossier.status,
            "status_name": STATUS_NAMES[dossier.status][0], "channel": dossier.channel,
            "procedure": {"code": procedure.code, "name": procedure.name, "version": dossier.procedure_version.version},
            "unit": {"code": dossier.unit.code, "name": dossier.unit.name} if dossier.unit_id else None,
            "data": dossier.data, "version": dossier.version,
            "submitted_at": dossier.submitted_at.isoformat() if dossier.submitted_at else None,
            "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
            "created_at": dossier.created_at.isoformat(),
            "substatus": dossier.substatus, "code_provisional": dossier.code_provisional,
            "received_at": _iso(dossier.received_at), "returned_at": _iso(dossier.returned_at),
            "assigned_to": dossier.assigned_to_id,
            # After a transfer (liên thông) the office now handling it; null while the receiving unit handles it.
            "handling_unit": {"code": dossier.handling_unit.code, "name": dossier.handling_unit.name}
            if dossier.handling_unit_id else None,
            "postal": {"submit": dossier.postal_submit, "return": dossier.postal_return,
                       "consignment": dossier.postal_consignment}}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
