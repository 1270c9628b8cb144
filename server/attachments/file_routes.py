"""/files/upload/{token} and /files/download/{token}: the embedded default's stand-in for presigned S3 URLs.

The token (itsdangerous, signed with SECRET_KEY) is the permission, as a presigned URL is on S3. An upload link
works once: its nonce is recorded after a successful write, in the database so every instance knows.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from tortoise.exceptions import IntegrityError

from server.web.errors import ApiError
from server.models import UsedUploadLink
from server.attachments.storage import FileStorage, InvalidToken, ObjectNotFound, TokenExpired, UploadRejected, content_disposition


def _local(request: Request) -> FileStorage:
    storage = request.app.state.storage
    if not isinstance(storage, FileStorage):
        raise ApiError(404, "not_found", "Không có địa chỉ này.", "Not found.")
    return storage


def _refused(error: InvalidToken) -> ApiError:
    if isinstance(error, TokenExpired):
        return ApiError(403, "link_expired", "Liên kết tải lên đã hết hạn. Thiết bị sẽ xin liên kết mới.",
                        "The upload link has expired; ask for a new one.")
    return ApiError(403, "invalid_link", "Liên kết không hợp lệ.", "The link is not valid.")


async def upload(request: Request) -> Response:
    storage = _local(request)
    try:
        grant = storage.verify_upload_token(request.path_params["token"])
    except InvalidToken as error:
        raise _refused(error) from None
    if await UsedUploadLink.filter(nonce=grant.nonce).exists():
        raise ApiError(403, "link_used", "Liên kết tải lên này đã được dùng. Thiết bị sẽ xin liên kết mới.",
                       "This upload link was already used; ask for a new one.")
    try:
        if grant.part_number is None:
            await storage.write_stream(grant.key, request.stream(), grant.max_size)
            headers = {}
        else:
            assert grant.upload_id is not None  # signed together with the part number (FileStorage._sign_upload)
            etag = await storage.write_part(grant.key, grant.upload_id, grant.part_number, request.stream(),
                                            grant.max_size)
            headers = {"ETag": f'"{etag}"', "Access-Control-Expose-Headers": "ETag"}
    except UploadRejected:
        raise ApiError(413, "too_large", "Tệp lớn hơn kích thước đã khai báo.",
                       "The file is larger than declared.") from None
    try:
        await UsedUploadLink.create(nonce=grant.nonce)  # only after success: a cut upload may retry the link
    except IntegrityError:
        pass  # two copies of one request raced; the bytes are the same
    return Response(status_code=200, headers=headers)


async def download(request: Request) -> Response:
    storage = _local(request)
    try:
        grant = storage.verify_download_token(request.path_params["token"])
        chunks = await storage.open_read(grant.key)
    except InvalidToken as error:
        raise _refused(error) from None
    except ObjectNotFound:
        raise ApiError(404, "not_found", "Tệp không còn trong kho.", "The file is no longer stored.") from None
    # Served from the app's own origin: whatever the bytes are, they run nothing here (a PDF is checked for active
    # content on upload as well; the sandbox is the second lock).
    headers = {"Cache-Control": "private, max-age=300", "Content-Security-Policy": "sandbox; default-src 'none'; "
               "img-src 'self' data:; style-src 'unsafe-inline'", "X-Content-Type-Options": "nosniff"}
    if grant.filename:
        headers["Content-Disposition"] = content_disposition(grant.filename)
    return StreamingResponse(chunks, media_type=grant.content_type or "application/octet-stream", headers=headers)


page_routes = [
    Route("/files/upload/{token}", upload, methods=["PUT"]),
    Route("/files/download/{token}", download, methods=["GET"]),
]
