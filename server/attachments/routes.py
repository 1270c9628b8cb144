"""/api/attachments: register a document page, get where to upload it, finalise it, read it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.attachments import service as attachments
from server.web.errors import ApiError
from server.models import Attachment, User
from server.web.requests import read_json_object
from server.web.guard import requires


async def _attachment(request: Request, user: User) -> Attachment:
    attachment = await Attachment.get_or_none(id=request.path_params["id"][:36])
    if attachment is None:
        raise ApiError(404, "unknown_attachment", "Không tìm thấy tệp này.", "No such file.")
    await attachments.access_attachment(user, attachment)  # 404 for others' files, as for dossiers
    return attachment


@requires("dossier.read")
async def post_attachment(request: Request, user: User) -> JSONResponse:
    storage = request.app.state.storage
    attachment, target = await attachments.register(user, await read_json_object(request), storage)
    body = {"attachment": await attachments.attachment_json(attachment, storage, with_links=False), "upload": target}
    return JSONResponse(body, status_code=201)


@requires("dossier.read")
async def get_upload(request: Request, user: User) -> JSONResponse:
    attachment = await _attachment(request, user)
    return JSONResponse({"upload": await attachments.upload_target(attachment, request.app.state.storage)})


@requires("dossier.read")
async def post_finalize(request: Request, user: User) -> JSONResponse:
    attachment = await _attachment(request, user)
    body = await read_json_object(request) if await request.body() else {}
    storage = request.app.state.storage
    attachment = await attachments.finalize(user, attachment, body, storage)
    return JSONResponse(await attachments.attachment_json(attachment, storage, with_links=True))


@requires("dossier.read")
async def get_attachment(request: Request, user: User) -> JSONResponse:
    attachment = await _attachment(request, user)
    return JSONResponse(await attachments.attachment_json(attachment, request.app.state.storage, with_links=True))


@requires("dossier.read")
async def patch_attachment(request: Request, user: User) -> JSONResponse:
    """Reorder a page: {"page": n}, by the dossier's owner while the dossier takes pages (server/attachments/service.py)."""
    attachment = await _attachment(request, user)
    attachment = await attachments.move_attachment(user, attachment, await read_json_object(request))
    return JSONResponse(await attachments.attachment_json(attachment, request.app.state.storage, with_links=False))


@requires("dossier.read")
async def list_for_dossier(request: Request, user: User) -> JSONResponse:
    storage = request.app.state.storage
    rows = await attachments.dossier_attachments(user, request.path_params["id"][:36])
    return JSONResponse({"items": [await attachments.attachment_json(row, storage, with_links=True) for row in rows]})


api_routes = [  # under /api
    Route("/attachments", post_attachment, methods=["POST"]),
    Route("/attachments/{id}", get_attachment, methods=["GET"]),
    Route("/attachments/{id}", patch_attachment, methods=["PATCH"]),
    Route("/attachments/{id}/upload", get_upload, methods=["GET"]),
    Route("/attachments/{id}/finalize", post_finalize, methods=["POST"]),
    Route("/dossiers/{id}/attachments", list_for_dossier, methods=["GET"]),
]
