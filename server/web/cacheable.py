"""Public reference answers (the workflow table, the working calendar) sent with an ETag: a phone keeps the answer
for an hour, then revalidates, and an unchanged one costs a 304 with no body — bytes matter on 2G."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

# Changes a few times a year (holidays) or with a release (the workflow).
CACHE_CONTROL = "public, max-age=3600"


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def cacheable_json(request: Request, body: bytes, etag: str | None = None) -> Response:
    """`body` (JSON bytes) with its ETag, or 304 when the request already holds it (If-None-Match)."""
    etag = etag or etag_of(body)
    headers = {"cache-control": CACHE_CONTROL, "etag": etag}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
