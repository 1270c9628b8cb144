"""Reusing documents: `GET /api/me/documents` (the citizen's verified pages) and
`POST /api/dossiers/{id}/attachments/reuse` (attach one again without photographing it). Logic: server/attachments.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server import access, attachments
from server.models import Dossier
from server.requests import read_json_object
from server.sessions import CSRF_HEADER, check_csrf, current_user


async def my_documents(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.read")
    storage = request.app.state.storage
    rows = await attachments.reusable_documents(user)
    codes = dict(await Dossier.filter(id__in={row.dossier_id for row in rows}).values_list("id", "code"))
    items = []
    for row in rows:
        item = await attachments.attachment_json(row, storage, with_links=True)
        item["dossier_code"] = codes.get(row.dossier_id)
        items.append(item)
    return JSONResponse({"items": items})


async def reuse_document(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.read")
    check_csrf(request, request.headers.get(CSRF_HEADER))
    attachment, created = await attachments.reuse(user, request.path_params["id"][:36], await read_json_object(request))
    body = await attachments.attachment_json(attachment, request.app.state.storage, with_links=True)
    return JSONResponse(body, status_code=201 if created else 200)


routes = [
    Route("/api/me/documents", my_documents, methods=["GET"]),
    Route("/api/dossiers/{id}/attachments/reuse", reuse_document, methods=["POST"]),
]
