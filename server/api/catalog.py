"""/api/procedures and /api/units: the catalog and the administrative units, readable by anyone."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tortoise.expressions import Q

from server.catalog import LEVELS, current_version, procedure_version, search_procedures
from server.errors import ApiError
from server.models import AdministrativeUnit, Procedure
from server.requests import int_param
from server.vietnamese import fold

MAX_LIMIT = 1000


def procedure_item(procedure: Procedure) -> dict:
    return {"code": procedure.code, "name": procedure.name, "field": procedure.field, "level": procedure.level,
            "processing_days": None if procedure.processing_days is None else float(procedure.processing_days),
            "online": procedure.online,
            "version": procedure.current_version}


async def list_procedures(request: Request) -> JSONResponse:
    query = request.query_params.get("q", "")
    if len(query) > 200:
        raise ApiError(400, "invalid_parameter", "Từ khóa tìm kiếm dài quá 200 ký tự.", "q is longer than 200 characters.")
    level = request.query_params.get("level") or None
    if level is not None and level not in LEVELS:
        raise ApiError(400, "invalid_parameter", "Cấp thực hiện phải là commune, district hoặc province.",
                       "level must be commune, district or province.")
    limit = int_param(request, "limit", 50, minimum=1, maximum=MAX_LIMIT)
    offset = int_param(request, "offset", 0, minimum=0, maximum=10_000_000)
    procedures, total = await search_procedures(query, level=level, limit=limit, offset=offset)
    return JSONResponse({"items": [procedure_item(p) for p in procedures], "total": total,
                         "limit": limit, "offset": offset})


async def get_procedure(request: Request) -> JSONResponse:
    procedure = await Procedure.get_or_none(code=request.path_params["code"])
    if procedure is None:
        raise ApiError(404, "unknown_procedure", "Không tìm thấy thủ tục này. Hãy kiểm tra mã thủ tục hoặc tìm lại trong danh mục.",
                       "No procedure has this code. Check the code or search the catalog.")
    if "version" in request.query_params:
        number = int_param(request, "version", 1, minimum=1, maximum=100_000)
        version = await procedure_version(procedure, number)
        if version is None:
            raise ApiError(404, "unknown_version", f"Thủ tục này không có phiên bản {number}.",
                           f"This procedure has no version {number}.")
    else:
        version = await current_version(procedure)
    content = version.content
    item = procedure_item(procedure)
    item.update(name=content["name"], field=content["field"], level=content["level"], version=version.version,
                processing_days=content["processing_days"], online=content["online"])
    return JSONResponse({**item, "current_version": procedure.current_version, "agency": content.get("agency", ""),
                         "fee": content["fee"], "documents": content["documents"], "form": content["form"],
                         "legal_basis": content.get("legal_basis", []), "processing_note": content.get("processing_note", ""),
                         "effective_from": version.effective_from.isoformat(), "effective_to": content.get("effective_to"),
                         "sources": content.get("sources", [])})


def unit_item(unit: AdministrativeUnit) -> dict:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "level": unit.level,
            "parent": unit.parent.code if unit.parent_id and unit.parent else None,
            "valid_from": unit.valid_from.isoformat(), "valid_to": unit.valid_to.isoformat() if unit.valid_to else None}


async def list_units(request: Request) -> JSONResponse:
    """Units in force on a date (today by default): the commune picker of address fields."""
    raw_date = request.query_params.get("on")
    try:
        on = date.fromisoformat(raw_date) if raw_date else date.today()
    except ValueError:
        raise ApiError(400, "invalid_parameter", "Ngày phải có dạng YYYY-MM-DD.", "on must be a date YYYY-MM-DD.") from None
    query = AdministrativeUnit.filter(Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)))
    if level := request.query_params.get("level"):
        query = query.filter(level=level)
    if parent := request.query_params.get("parent"):
        query = query.filter(parent__code=parent)
    if text := request.query_params.get("q"):
        if len(text) > 100:
            raise ApiError(400, "invalid_parameter", "Từ khóa tìm kiếm dài quá 100 ký tự.", "q is too long.")
        for word in fold(text).split():
            query = query.filter(name_folded__contains=word)
    limit = int_param(request, "limit", 200, minimum=1, maximum=MAX_LIMIT)
    units = await query.select_related("parent").order_by("code").limit(limit)
    return JSONResponse({"items": [unit_item(unit) for unit in units]})


routes = [
    Route("/api/procedures", list_procedures, methods=["GET"]),
    Route("/api/procedures/{code}", get_procedure, methods=["GET"]),
    Route("/api/units", list_units, methods=["GET"]),
]
