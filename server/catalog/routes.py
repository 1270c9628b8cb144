"""/api/procedures and /api/units: the catalog and the administrative units, readable by anyone; an administrator
sets a unit's electronic identifier code (PATCH /api/units/{code})."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import anyio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.expressions import Q

from server.accounts import access
from server.catalog.packed import pack_index
from server.catalog.procedures import LEVELS, current_version, procedure_version, search_procedures
from server.catalog.units import normalise_agency_code
from server.web.assets import accepts, brotli_compress
from server.web.errors import ApiError
from server.models import AdministrativeUnit, Procedure, ProcedureVersion, User
from server.web.guard import requires
from server.web.requests import int_param, read_json_object
from server.vietnamese import fold

MAX_LIMIT = 1000
MAX_FORM_CODES = 100
PACKED_TYPE = "application/vnd.motcua.catalog-index"


def procedure_item(procedure: Procedure) -> dict[str, Any]:
    return {"code": procedure.code, "name": procedure.name, "field": procedure.field, "level": procedure.level,
            "processing_days": None if procedure.processing_days is None else float(procedure.processing_days),
            # The unit of processing_days and the procedure's own cut-off (docs/workflow.md "Deadlines").
            "processing_unit": procedure.processing_unit, "cutoff": procedure.cutoff,
            "online": procedure.online, "on_the_spot": procedure.on_the_spot,
            "version": procedure.current_version}


def compact_index(procedures: list[Procedure], total: int, limit: int, offset: int) -> dict[str, Any]:
    """The app's offline copy of the catalog (?view=index): only what its list, search and form refresh need, by
    column (pwa/static/js/catalog.js reads it): `c` the codes joined by ",", `n` the names joined by a line break
    (codes and names are one line), `k` each one's field as a number into `f` (the fields once), `v` the versions
    other than 1 by position, `s` the positions of the "4 tại chỗ" procedures. Columns compress better than rows
    (like next to like): with Brotli, ~25 KB per 1,000 real names (docs/benchmarks.md "Catalog")."""
    fields: dict[str, int] = {}
    kinds = [fields.setdefault(p.field, len(fields)) for p in procedures]
    return {"f": list(fields), "c": ",".join(p.code for p in procedures), "n": "\n".join(p.name for p in procedures),
            "k": kinds, "v": {str(i): p.current_version for i, p in enumerate(procedures) if p.current_version != 1},
            "s": [i for i, p in enumerate(procedures) if p.on_the_spot],
            "total": total, "limit": limit, "offset": offset}


async def index_response(request: Request, body: bytes, whole: bool, media_type: str = "application/json") -> Response:
    """The index with an ETag (a repeat download that finds it unchanged is a 304) and, for the whole catalog as the
    app downloads it, Brotli at its best quality where accepted: made once per catalog state (~0.5 s for 1,000
    procedures, in a thread) and kept; a search's answer is left to the gzip middleware."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {"etag": etag, "cache-control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if whole and accepts(request.headers.get("accept-encoding", ""), "br"):
        body = await anyio.to_thread.run_sync(brotli_compress, body)
        headers.update({"content-encoding": "br", "vary": "Accept-Encoding"})  # else the gzip middleware adds it
    return Response(body, media_type=media_type, headers=headers)


@requires("catalog.read")
async def list_procedures(request: Request, _: User | None) -> Response:
    query = request.query_params.get("q", "")
    if len(query) > 200:
        raise ApiError(400, "invalid_parameter", "Từ khóa tìm kiếm dài quá 200 ký tự.", "q is longer than 200 characters.")
    level = request.query_params.get("level") or None
    if level is not None and level not in LEVELS:
        raise ApiError(400, "invalid_parameter", "Cấp thực hiện phải là commune, district hoặc province.",
                       "level must be commune, district or province.")
    field = request.query_params.get("field") or None
    if field is not None and len(field) > 200:
        raise ApiError(400, "invalid_parameter", "Tên lĩnh vực dài quá 200 ký tự.", "field is longer than 200 characters.")
    limit = int_param(request, "limit", 50, minimum=1, maximum=MAX_LIMIT)
    offset = int_param(request, "offset", 0, minimum=0, maximum=10_000_000)
    procedures, total = await search_procedures(query, level=level, field=field, limit=limit, offset=offset)
    whole = not (query or level or field or offset)
    view = request.query_params.get("view")
    if view == "packed":  # what the app downloads (server/catalog/packed.py)
        rows = ((p.code, p.name, p.field, p.current_version, p.on_the_spot) for p in procedures)
        return await index_response(request, pack_index(rows, total), whole, PACKED_TYPE)
    if view == "index":  # the JSON index of app versions installed before the packed one: they ask it until updated
        body = json.dumps(compact_index(procedures, total, limit, offset), ensure_ascii=False, separators=(",", ":"))
        return await index_response(request, body.encode(), whole)
    return JSONResponse({"items": [procedure_item(p) for p in procedures], "total": total,
                         "limit": limit, "offset": offset})


@requires("catalog.read")
async def get_procedure(request: Request, _: User | None) -> JSONResponse:
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


def procedure_detail(procedure: Procedure, version: ProcedureVersion) -> dict[str, Any]:
    """A procedure as one version describes it, with its documents and form: what a device drafts from."""
    content = version.content
    item = procedure_item(procedure)
    item.update(name=content["name"], field=content["field"], level=content["level"], version=version.version,
                processing_days=content["processing_days"], online=content["online"],
                processing_unit=content.get("processing_unit", "working_days"), cutoff=content.get("cutoff"))
    return {**item, "current_version": procedure.current_version, "agency": content.get("agency", ""),
            "fee": content["fee"], "channels": content.get("channels", []), "cases": content.get("cases", []), "documents": content["documents"],
            "form": content["form"],
            "legal_basis": content.get("legal_basis", []), "processing_note": content.get("processing_note", ""),
            "effective_from": version.effective_from.isoformat(), "effective_to": content.get("effective_to"),
            "sources": content.get("sources", []),
            # The procedure's page on the national portal: where its declaration forms are downloaded.
            "verify_url": content.get("verify_url")}


@requires("catalog.read")
async def procedure_forms(request: Request, _: User | None) -> JSONResponse:
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


def unit_item(unit: AdministrativeUnit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "level": unit.level,
            "parent": unit.parent.code if unit.parent_id and unit.parent else None,
            "valid_from": unit.valid_from.isoformat(), "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
            "agency_code": unit.agency_code}


@requires("catalog.read")
async def list_units(request: Request, _: User | None) -> JSONResponse:
    """Units in force on a date (today by default): the commune picker of address fields."""
    raw_date = request.query_params.get("on")
    try:
        on = date.fromisoformat(raw_date) if raw_date else date.today()
    except ValueError:
        raise ApiError(400, "invalid_parameter", "Ngày không hợp lệ; hãy ghi năm-tháng-ngày, ví dụ 2025-07-01.", "on must be a date YYYY-MM-DD.") from None
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


async def unit_tree(unit: AdministrativeUnit) -> access.UnitTree:
    """The unit and the units above it, as the access rule takes them (server/accounts/access.py)."""
    ids = [unit.id]
    parent_id = unit.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.append(parent_id)
        parent = await AdministrativeUnit.get_or_none(id=parent_id)
        parent_id = parent.parent_id if parent else None
    return access.UnitTree(frozenset(str(unit_id) for unit_id in ids))


@requires("unit.manage")
async def patch_unit(request: Request, user: User) -> JSONResponse:
    """{"agency_code": "000.00.12.H56"} (or null to remove it) on the unit in force with this code: the dossier
    codes of its new dossiers start with it (docs/workflow.md "Dossier codes")."""
    code = request.path_params["code"]
    unit = await AdministrativeUnit.filter(code=code, valid_to__isnull=True).select_related("parent").order_by("id").first() \
        if len(code) <= 16 else None
    if unit is None:
        raise ApiError(404, "unknown_unit", "Không tìm thấy đơn vị hành chính đang có hiệu lực với mã này.",
                       "No administrative unit in force has this code.")
    if not access.allowed(user, "unit.manage", await unit_tree(unit)):
        raise ApiError(403, "forbidden", "Chỉ sửa được đơn vị của mình và các đơn vị trực thuộc.",
                       "You may change only your own unit and the units below it.")
    body = await read_json_object(request)
    unknown = sorted(name for name in body if name != "agency_code")
    if unknown or "agency_code" not in body:
        raise ApiError(400, "invalid_fields", "Chỉ sửa được mã định danh điện tử (agency_code) của đơn vị.",
                       "Only agency_code can be changed.")
    raw = body["agency_code"]
    agency: str | None = None
    if raw is not None and raw != "":
        agency = normalise_agency_code(raw)
        if agency is None:
            raise ApiError(400, "invalid_agency_code",
                           "Mã định danh điện tử không đúng mẫu của Quyết định 20/2020/QĐ-TTg: bốn nhóm cách nhau bởi "
                           "dấu chấm, ví dụ 000.00.12.H56 (3 chữ số, 2 chữ số, 2 chữ số, một chữ cái và 2 chữ số).",
                           "The identifier code does not have the Decision 20/2020/QĐ-TTg shape, e.g. 000.00.12.H56.")
        taken = await AdministrativeUnit.filter(agency_code=agency, valid_to__isnull=True).exclude(id=unit.id).first()
        if taken is not None:
            raise ApiError(409, "agency_code_taken",
                           f"Mã định danh {agency} đã được gán cho {taken.name}; mỗi cơ quan có một mã riêng.",
                           f"The identifier code {agency} already belongs to {taken.name}.")
    unit.agency_code = agency
    await unit.save(update_fields=["agency_code"])
    return JSONResponse(unit_item(unit))


api_routes = [  # under /api
    Route("/procedures", list_procedures, methods=["GET"]),
    Route("/procedures/forms", procedure_forms, methods=["GET"]),  # before {code}: "forms" is no code,
    Route("/procedures/{code}", get_procedure, methods=["GET"]),
    Route("/units", list_units, methods=["GET"]),
    Route("/units/{code}", patch_unit, methods=["PATCH"]),
]
