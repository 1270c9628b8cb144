"""POST /api/sync: one round trip of the sync protocol (docs/sync.md), compressed both ways."""

from __future__ import annotations

import gzip
import json
from typing import Any

import brotli
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.accounts.access import actor_for
from server.web import rate_limits
from server.dossiers.routes import commune_codes
from server.web.admission import Admission
from server.web.errors import ApiError
from server.web.requests import inflate, parse_json
from server.models import User
from server.web.guard import requires
from server.dossiers.store import TortoiseStore
from server.workflow.policy import DossierPolicy
from sync import SyncRequestError, check_request_size, sync_round
from sync.protocol import MAX_REQUEST_BYTES

# Below this a compressed body is no smaller than the plain one plus its header.
MIN_COMPRESS_BYTES = 256


def _compressed(payload: dict[str, Any], accept_encoding: str) -> Response:
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


@requires("dossier.read")
async def post_sync(request: Request, user: User) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "unsupported_media_type", "Dữ liệu gửi lên không đúng định dạng; hãy cập nhật ứng dụng.",
                       "Send the sync request as JSON (application/json).")
    raw = inflate(await request.body(), request.headers.get("content-encoding", "identity"), MAX_REQUEST_BYTES)
    admission: Admission = request.app.state.sync_admission
    try:
        check_request_size(len(raw))
        body = parse_json(raw)
        device_id = body.get("device_id") if isinstance(body, dict) else None  # checked by sync_round
        async with admission.admitted():  # the body has arrived; the answer is written after
            await rate_limits.check(request, "sync", account=user.id,
                                    device=device_id if isinstance(device_id, str) else None)
            policy = DossierPolicy(await commune_codes(request), device_id if isinstance(device_id, str) else None)
            payload = await sync_round(TortoiseStore(), policy, actor_for(user), body, body_bytes=len(raw))
    except SyncRequestError as error:
        return _error(error.body(), error.http_status, request)
    return _compressed(payload, request.headers.get("accept-encoding", ""))


def _error(body: dict[str, Any], status: int, request: Request) -> Response:
    response = _compressed(body, request.headers.get("accept-encoding", ""))
    response.status_code = status
    return response


api_routes = [  # under /api
    Route("/sync", post_sync, methods=["POST"]),
]
