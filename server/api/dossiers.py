"""/api/dossiers: a citizen's own dossiers, an officer's unit's dossiers."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server import access
from server.dossiers import create_dossier, dossier_json, dossiers_for, visible_dossier
from server.models import AdministrativeUnit
from server.requests import int_param, read_json_object
from server.sessions import CSRF_HEADER, check_csrf, current_user

COMMUNE_CODES_TTL = 300.0


async def commune_codes(request: Request) -> set[str]:
    """Reference data read at most every few minutes; units change by government decision, not by the hour."""
    cached = getattr(request.app.state, "commune_codes", None)
    if cached and time.monotonic() - cached[0] < COMMUNE_CODES_TTL:
        return cached[1]
    codes = set(await AdministrativeUnit.filter(level="commune").values_list("code", flat=True))
    request.app.state.commune_codes = (time.monotonic(), codes)
    return codes


async def post_dossier(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.create")
    check_csrf(request, request.headers.get(CSRF_HEADER))
    body = await read_json_object(request)
    dossier = await create_dossier(user, body, await commune_codes(request))
    dossier = await visible_dossier(user, dossier.id)
    return JSONResponse(dossier_json(dossier), status_code=201)


async def list_dossiers(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.read")
    limit = int_param(request, "limit", 50, minimum=1, maximum=500)
    offset = int_param(request, "offset", 0, minimum=0, maximum=10_000_000)
    return JSONResponse({"items": [dossier_json(d) for d in await dossiers_for(user, limit, offset)]})


async def get_dossier(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.read")
    return JSONResponse(dossier_json(await visible_dossier(user, request.path_params["id"])))


routes = [
    Route("/api/dossiers", post_dossier, methods=["POST"]),
    Route("/api/dossiers", list_dossiers, methods=["GET"]),
    Route("/api/dossiers/{id}", get_dossier, methods=["GET"]),
]
