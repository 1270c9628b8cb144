"""/api/procedures and /api/units: the catalog and the administrative units, readable by anyone."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tortoise.expressions import Q

from server.catalog import LEVELS, current_version, procedure_version, search_procedures
from server.errors import ApiError
from server.models import AdministrativeUnit, Procedure, ProcedureVersion
from server.requests import int_param
from server.vietnamese import fold

MAX_LIMIT = 1000
MAX_FORM_CODES = 100


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
    return JSONResponse(procedure_detail(procedure, version))


def procedure_detail(procedure: Procedure, version: ProcedureVersion) -> dict:
    """A procedure as one version describes it, with its documents and form: what a device drafts from."""
    content = version.content
    item = procedure_item(procedure)
    item.update(name=content["name"], field=content["field"], level=content["level"], version=version.version,
                processing_days=content["processing_days"], online=content["online"])
    return {**item, "current_version": procedure.current_version, "agency": content.get("agency", ""),
            "fee": content["fee"], "documents": content["documents"], "form": content["form"],
            "legal_basis": content.get("legal_basis", []), "processing_note": content.get("processing_note", ""),
            "effective_from": version.effective_from.isoformat(), "effective_to": content.get("effective_to"),
            "sources": content.get("sources", [])}


async def procedure_forms(request: Request) -> JSONResponse:
    """Many procedures' current versions in one answer (GET /api/procedures/forms?codes=a,b,c).

    A phone keeps every form so that any procedure can be drafted offline; one request per procedure cost
    ~1.6 MB and minutes of 2G for 1,000 of them, mostly headers and compression restarting on each answer.
    Batches of up to MAX_FORM_CODES codes keep the URL short enough for any proxy. Unknown codes are left out
    (a procedure removed since the device read the index), so the device compares what it asked and got.
    """
    raw = request.query_params.get("codes", "")
    codes = list(dict.fromkeys(code for code in raw.split(",") if code))
    if not codes:
        raise ApiError(400, "invalid_parameter", "Hãy cho biết mã các thủ tục cần tải (codes=mã1,mã2,…).",
                       "Give the procedure codes to download (codes=code1,code2,…).")
    if len(codes) > MAX_FORM_CODES or any(len(code) > 32 for code in codes):
        raise ApiError(400, "invalid_parameter", f"Mỗi lần tải tối đa {MAX_FORM_CODES} thủ tục, mỗi mã tối đa 32 ký tự.",
                       f"At most {MAX_FORM_CODES} codes per request, each at most 32 characters.")
    procedures = {p.id: p for p in await Procedure.filter(code__in=codes)}
    wanted = [Q(procedure_id=p.id, version=p.current_version) for p in procedures.values()]
    versions = await ProcedureVersion.filter(Q(*wanted, join_type="OR")) if wanted else []
    details = sorted((procedure_detail(procedures[v.procedure_id], v) for v in versions), key=lambda d: d["code"])
    return JSONResponse({"items": details})


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
        # One level, or several separated by commas: the app asks for the offices of every level at once.
        levels = level.split(",")
        if any(name not in LEVELS for name in levels):
            raise ApiError(400, "invalid_parameter", "Cấp hành chính phải là commune, district hoặc province (cách nhau bởi dấu phẩy).",
                           "level must be commune, district or province (comma-separated).")
        query = query.filter(level__in=levels)
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
    Route("/api/procedures/forms", procedure_forms, methods=["GET"]),  # before {code}: "forms" is no code
    Route("/api/procedures/{code}", get_procedure, methods=["GET"]),
    Route("/api/units", list_units, methods=["GET"]),
]
