"""/api/dossiers: a citizen's own dossiers, an officer's unit's dossiers."""

from __future__ import annotations

import time
from typing import cast

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.dossiers.records import STATUS_NAMES, create_dossier, dossier_json, dossiers_for, visible_dossier
from server.accounts.access import allowed
from server.models import AdministrativeUnit, DossierEvent, User
from server.notify.channels import notices_of_events
from server.web.requests import int_param, read_json_object
from server.web.guard import requires

COMMUNE_CODES_TTL = 300.0


async def commune_codes(request: Request) -> set[str]:
    """Reference data read at most every few minutes; units change by government decision, not by the hour."""
    cached: tuple[float, set[str]] | None = getattr(request.app.state, "commune_codes", None)
    if cached and time.monotonic() - cached[0] < COMMUNE_CODES_TTL:
        return cached[1]
    # values_list(flat=True): tortoise's stub says tuples
    codes = set(cast("list[str]", await AdministrativeUnit.filter(level="commune").values_list("code", flat=True)))
    request.app.state.commune_codes = (time.monotonic(), codes)
    return codes


@requires("dossier.create")
async def post_dossier(request: Request, user: User) -> JSONResponse:
    body = await read_json_object(request)
    dossier = await create_dossier(user, body, await commune_codes(request))
    dossier = await visible_dossier(user, dossier.id)
    return JSONResponse(dossier_json(dossier), status_code=201)


@requires("dossier.read")
async def list_dossiers(request: Request, user: User) -> JSONResponse:
    limit = int_param(request, "limit", 50, minimum=1, maximum=500)
    offset = int_param(request, "offset", 0, minimum=0, maximum=10_000_000)
    return JSONResponse({"items": [dossier_json(d) for d in await dossiers_for(user, limit, offset)]})


@requires("dossier.read")
async def get_dossier(request: Request, user: User) -> JSONResponse:
    return JSONResponse(dossier_json(await visible_dossier(user, request.path_params["id"])))


@requires("dossier.read")
async def get_events(request: Request, user: User) -> JSONResponse:
    """The processing-control record (phiếu kiểm soát): the dossier's status timeline, oldest first."""
    dossier = await visible_dossier(user, request.path_params["id"])
    events = await DossierEvent.filter(dossier_id=dossier.id).order_by("at", "id").select_related("from_unit", "to_unit")
    officer = allowed(user, "officer.area", dossier)
    told = await notices_of_events([event.id for event in events]) if officer else {}
    return JSONResponse({"items": [{
        "at": event.at.isoformat(), "action": event.action, "from_status": event.from_status,
        "to_status": event.to_status, "status_name": STATUS_NAMES[event.to_status][0] if event.to_status is not None else None,
        "from_unit": event.from_unit.name if event.from_unit_id and event.from_unit else None,
        "to_unit": event.to_unit.name if event.to_unit_id and event.to_unit else None, "note": event.note,
        # for officers: whom the step told, and by which channels it reached them (docs/push.md "Channels")
        **({"notices": told.get(event.id, [])} if officer else {}),
    } for event in events]})


api_routes = [  # under /api
    Route("/dossiers/{id}/events", get_events, methods=["GET"]),
    Route("/dossiers", post_dossier, methods=["POST"]),
    Route("/dossiers", list_dossiers, methods=["GET"]),
    Route("/dossiers/{id}", get_dossier, methods=["GET"]),
]
