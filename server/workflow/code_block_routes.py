"""POST /api/code-blocks: dossier-code numbers reserved for a field device (docs/workflow.md "Dossier codes").

An intake officer's phone asks while online; receipts it issues offline then carry final codes."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.workflow.dossier_codes import agency_code, reserve_blocks
from server.web.errors import ApiError
from server.models import AdministrativeUnit, Device, User
from server.web.requests import read_json_object
from server.web.guard import requires
from server.workflow.working_time import load_calendar, utc_now, vietnam_date

DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # as sync/protocol.py accepts it


@requires("code_block.reserve")
async def post_code_blocks(request: Request, user: User) -> JSONResponse:
    body = await read_json_object(request)
    device_id = body.get("device_id")
    if not isinstance(device_id, str) or not DEVICE_ID.match(device_id):
        raise ApiError(400, "invalid_device_id", "Mã thiết bị (device_id) thiếu hoặc không hợp lệ.",
                       "device_id is missing or malformed (1–64 letters, digits, - or _).")
    unit = await AdministrativeUnit.get_or_none(id=user.unit_id) if user.unit_id else None
    if unit is None:
        raise ApiError(403, "no_unit", "Tài khoản cán bộ chưa gắn với đơn vị nào nên không được cấp số hồ sơ.",
                       "Your officer account has no unit, so no dossier numbers can be reserved.")
    device, _ = await Device.get_or_create(id=device_id, defaults={"user_id": user.id})
    if device.user_id != user.id:
        raise ApiError(403, "device_owner_mismatch", "Thiết bị này đang gắn với một tài khoản khác.",
                       "This device belongs to another account.")
    today = vietnam_date(utc_now())
    blocks = await reserve_blocks(device.id, agency_code(unit), today, await load_calendar())
    return JSONResponse({"blocks": blocks})


api_routes = [  # under /api
    Route("/code-blocks", post_code_blocks, methods=["POST"]),
]
