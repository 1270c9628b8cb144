"""/api/attachments: register a document page, get where to upload it, finalise it, read it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server import access, attachments
from server.errors import ApiError
from server.models import Attachment
from server.requests import read_json_object
from server.sessions import CSRF_HEADER, check_csrf, current_user


async def _attachment(request: Request):
    user = access.require(await current_user(request), "dossier.read")
    attachment = await Attachment.get_or_none(id=request.path_params["id"][:36])
    if attachment is None:
        raise ApiError(404, "unknown_attachment", "Không tìm thấy tệp này.", "No such file.")
    await attachments.access_attachment(user, attachment)  # 404 for others' files, as for dossiers
    return user, attachment


async def post_attachment(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.read")
    check_csrf(request, request.headers.get(CSRF_HEADER))
    storage = request.app.state.storage
    attachment, target = await attachments.register(user, await read_json_object(request), storage)
    body = {"attachment": await attachments.attachment_json(attachment, storage, with_links=False), "upload": target}
    return JSONResponse(body, status_code=201)


async def get_upload(request: Request) -> JSONResponse:
    _, attachment = await _attachment(request)
    return JSONResponse({"upload": await attachments.upload_target(attachment, request.app.state.storage)})


async def post_finalize(request: Request) -> JSONResponse:
    user, attachment = await _attachment(request)
    check_csrf(request, request.headers.get(CSRF_HEADER))
    body = await read_json_object(request) if await request.body() else {}
    storage = request.app.state.storage
    attachment = await attachments.finalize(user, attachment, body, storage)
    return JSONResponse(await attachments.attachment_json(attachment, storage, with_links=True))


async def get_attachment(request: Request) -> JSONResponse:
    _, attachment = await _attachment(request)
    return JSONResponse(await attachments.attachment_json(attachment, request.app.state.storage, with_links=True))


async def patch_attachment(request: Request) -> JSONResponse:
    """Reorder a page: {"page": n}, by the dossier's owner while the dossier takes pages (server/attachments.py)."""
    user, attachment = await _attachment(request)
    check_csrf(request, request.headers.get(CSRF_HEADER))
    attachment = await attachments.move_page(user, attachment, await read_json_object(request))
    return JSONResponse(await attachments.attachment_json(attachment, request.app.state.storage, with_links=False))


async def list_for_dossier(request: Request) -> JSONResponse:
    user = await current_user(request)
    storage = request.app.state.storage
    rows = await attachments.dossier_attachments(user, request.path_params["id"][:36])
    return JSONResponse({"items": [await attachments.attachment_json(row, storage, with_links=True) for row in rows]})


routes = [
    Route("/api/attachments", post_attachment, methods=["POST"]),
    Route("/api/attachments/{id}", get_attachment, methods=["GET"]),
    Route("/api/attachments/{id}", patch_attachment, methods=["PATCH"]),
    Route("/api/attachments/{id}/upload", get_upload, methods=["GET"]),
    Route("/api/attachments/{id}/finalize", post_finalize, methods=["POST"]),
    Route("/api/dossiers/{id}/attachments", list_for_dossier, methods=["GET"]),
]
