"""Dossiers (hồ sơ): creating one from a procedure's form, and reading them as their owner or unit sees them."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from tortoise.transactions import in_transaction

from server import access
from server.errors import ApiError
from server.forms import validate
from server.models import AdministrativeUnit, ChangeLogEntry, Dossier, DossierEvent, Procedure, ProcedureVersion, User

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
    unit = None
    unit_code = body.get("unit_code")
    if submit or unit_code is not None:
        unit = (await AdministrativeUnit.filter(code=unit_code, valid_to__isnull=True).first()
                if isinstance(unit_code, str) else None)
        if unit is None:
            raise ApiError(400, "unknown_unit", "Vui lòng chọn cơ quan (xã, phường) nhận hồ sơ.",
                           "Choose the office (commune or ward) that receives the dossier.")
    async with in_transaction():
        if await Dossier.filter(id=dossier_id).exists():
            raise ApiError(409, "dossier_exists", "Hồ sơ này đã được gửi trước đó.", "This dossier was already sent.")
        now = datetime.now(timezone.utc)
        dossier = await Dossier.create(id=dossier_id, procedure_version=version, owner=user, unit=unit,
                                       status=SUBMITTED if submit else DRAFT, channel="online", data=clean,
                                       submitted_at=now if submit else None)
        await DossierEvent.create(dossier=dossier, actor=user, action="submit" if submit else "create",
                                  from_status=None, to_status=dossier.status, to_unit=unit)
        await record_change(dossier)
    return dossier


async def record_change(dossier: Dossier) -> None:
    """Append the write to the change log, once per scope that may see it (docs/sync.md)."""
    scopes = {f"user:{dossier.owner_id}"} if dossier.owner_id else set()
    if dossier.status != DRAFT and dossier.unit_id:
        scopes.add(f"unit:{dossier.unit_id}")
    for scope in sorted(scopes):
        await ChangeLogEntry.create(scope=scope, entity="dossier", entity_id=dossier.id, version=dossier.version)


async def dossiers_for(user: User, limit: int, offset: int) -> list[Dossier]:
    access.require(user, "dossier.read")
    if user.role == "citizen":
        query = Dossier.filter(owner_id=user.id)
    else:
        query = Dossier.filter(unit_id=user.unit_id, status__gt=DRAFT) if user.unit_id else Dossier.filter(id="")
    return await (query.select_related("procedure_version__procedure", "unit")
                  .order_by("-created_at").offset(offset).limit(limit))


async def visible_dossier(user: User | None, dossier_id: str) -> Dossier:
    dossier = await Dossier.get_or_none(id=dossier_id).select_related("procedure_version__procedure", "unit")
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
            "created_at": dossier.created_at.isoformat()}
