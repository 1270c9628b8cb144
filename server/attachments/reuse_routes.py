"""Reusing documents: `GET /api/me/documents` (the citizen's verified pages) and
`POST /api/dossiers/{id}/attachments/reuse` (attach one again without photographing it). Logic: server/attachments/service.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.attachments import service as attachments
from server.models import Dossier, User
from server.web.requests import read_json_object
from server.web.guard import requires


@requires("dossier.read")
async def my_attachments(request: Request, user: User) -> JSONResponse:
    storage = request.app.state.storage
    rows = await attachments.reusable_attachments(user)
    codes = dict(await Dossier.filter(id__in={row.dossier_id for row in rows}).values_list("id", "code"))
    items = []
    for row in rows:
        item = await attachments.attachment_json(row, storage, with_links=True)
        item["dossier_code"] = codes.get(row.dossier_id)
        items.append(item)
    return JSONResponse({"items": items})


@requires("dossier.read")
async def reuse_attachment(request: Request, user: User) -> JSONResponse:
    attachment, created = await attachments.reuse(user, request.path_params["id"][:36], await read_json_object(request))
    body = await attachments.attachment_json(attachment, request.app.state.storage, with_links=True)
    return JSONResponse(body, status_code=201 if created else 200)


api_routes = [  # under /api
    Route("/me/documents", my_attachments, methods=["GET"]),
    Route("/dossiers/{id}/attachments/reuse", reuse_attachment, methods=["POST"]),
]
