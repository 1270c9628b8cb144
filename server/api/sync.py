"""POST /api/sync: one round trip of the sync protocol (docs/sync.md), compressed both ways."""

from __future__ import annotations

import gzip
import json
import zlib

import brotli
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import access, rate_limits
from server.api.dossiers import commune_codes
from server.errors import ApiError
from server.requests import body_too_large
from server.sessions import CSRF_HEADER, check_csrf, current_user
from server.sync_store import TortoiseStore
from server.workflow import DossierPolicy
from sync import Actor, SyncRequestError, check_request_size, sync_round
from sync.protocol import MAX_REQUEST_BYTES

# Below this a compressed body is no smaller than the plain one plus its header.
MIN_COMPRESS_BYTES = 256


def actor_for(user) -> Actor:
    return Actor(user_id=str(user.id), role=user.role, scopes=frozenset(access.sync_scopes(user)),
                 unit_id=str(user.unit_id) if user.unit_id else None)


def _decompress(raw: bytes, encoding: str) -> bytes:
    """A phone may gzip (CompressionStream) or brotli its push; inflate it, never past the limit."""
    try:
        if encoding == "gzip":
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            body = inflater.decompress(raw, MAX_REQUEST_BYTES + 1)
        elif encoding == "br":
            inflater = brotli.Decompressor()
            body = inflater.process(raw)
        else:
            raise ApiError(415, "unsupported_encoding", "Chỉ nhận dữ liệu nén gzip hoặc br.",
                           "Only gzip or br request bodies are accepted.")
    except (zlib.error, brotli.error):
        raise ApiError(400, "malformed_body", "Dữ liệu nén bị hỏng. Hãy gửi lại.",
                       "The compressed body is corrupt. Send it again.") from None
    if len(body) > MAX_REQUEST_BYTES:
        raise body_too_large(MAX_REQUEST_BYTES)
    return body


def _compressed(payload: dict, accept_encoding: str) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    accepted = {part.split(";")[0].strip() for part in accept_encoding.lower().split(",")}
    # No Vary or Cache-Control: a POST answer is never cached, and every header byte is paid on 2G.
    headers: dict[str, str] = {}
    if len(body) >= MIN_COMPRESS_BYTES:
        if "br" in accepted:
            body, headers["content-encoding"] = brotli.compress(body, quality=5), "br"
        elif "gzip" in accepted:
            body, headers["content-encoding"] = gzip.compress(body, compresslevel=6), "gzip"
    return Response(body, media_type="application/json", headers=headers)


async def post_sync(request: Request) -> Response:
    user = access.require(await current_user(request), "dossier.read")
    check_csrf(request, request.headers.get(CSRF_HEADER))
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "unsupported_media_type", "Yêu cầu đồng bộ phải gửi dạng JSON (application/json).",
                       "Send the sync request as JSON (application/json).")
    raw = await request.body()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raw = _decompress(raw, encoding)
    try:
        check_request_size(len(raw))
        try:
            body = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "malformed_json", "Dữ liệu đồng bộ không phải JSON hợp lệ.",
                           "The sync request is not valid JSON.") from None
        device_id = body.get("device_id") if isinstance(body, dict) else None  # checked by sync_round
        await rate_limits.check(request, "sync", account=user.id, device=device_id if isinstance(device_id, str) else None)
        policy = DossierPolicy(await commune_codes(request), device_id if isinstance(device_id, str) else None)
        payload = await sync_round(TortoiseStore(), policy, actor_for(user), body, body_bytes=len(raw))
    except SyncRequestError as error:
        return _error(error.body(), error.http_status, request)
    return _compressed(payload, request.headers.get("accept-encoding", ""))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _error(body: dict, status: int, request: Request) -> Response:
    response = _compressed(body, request.headers.get("accept-encoding", ""))
    response.status_code = status
    return response


routes = [Route("/api/sync", post_sync, methods=["POST"])]
