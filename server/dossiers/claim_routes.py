"""/api/claims: a signed-in citizen claims a walk-in dossier by its code and a one-time code sent by SMS to the
phone on the dossier (server/dossiers/claims.py; docs/workflow.md "Desk and field intake")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.dossiers import claims
from server.dossiers.records import dossier_json, visible_dossier
from server.models import User
from server.web import rate_limits
from server.web.guard import requires
from server.web.requests import read_json_object


@requires("dossier.claim")
async def post_claim(request: Request, user: User) -> JSONResponse:
    """{"code": dossier code} → a one-time code goes to the dossier's phone; {claim_id, phone_hint, …}."""
    body = await read_json_object(request)
    claims.require_sms()  # without an SMS channel nothing is counted or written: the citizen goes to the desk
    # Counted before the look-up, so codes cannot be tried in bulk; then per dossier, so its phone is not flooded.
    await rate_limits.check(request, "claim", account=user.id)
    dossier = await claims.claimable(user, body.get("code"))
    await rate_limits.check(request, "claim_dossier", account=dossier.id)
    return JSONResponse(await claims.start(user, dossier), status_code=201)


@requires("dossier.claim")
async def confirm_claim(request: Request, user: User) -> JSONResponse:
    """{"code": the 6 digits} → the dossier is the citizen's; answers it as GET /api/dossiers/{id} does."""
    body = await read_json_object(request)
    await rate_limits.check(request, "claim_confirm", account=user.id)
    dossier = await claims.confirm(user, request.path_params["id"][:36], body.get("code"))
    return JSONResponse(dossier_json(await visible_dossier(user, dossier.id)))  # now theirs to read


api_routes = [  # under /api
    Route("/claims", post_claim, methods=["POST"]),
    Route("/claims/{id}/confirm", confirm_claim, methods=["POST"]),
]
