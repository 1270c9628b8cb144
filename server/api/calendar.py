"""GET /api/calendar: the working calendar deadlines are counted in, for devices that compute appointments
offline (pwa/static/js/working-time.js). Public and cacheable: it is the same for everyone."""

from __future__ import annotations

import hashlib
import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.working_time import load_calendar

# Holidays change a few times a year; a phone may keep the answer an hour and then revalidate with the ETag.
CACHE_CONTROL = "public, max-age=3600"


async def get_calendar(request: Request) -> Response:
    body = json.dumps((await load_calendar()).to_json(), ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {"cache-control": CACHE_CONTROL, "etag": etag}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


routes = [Route("/api/calendar", get_calendar, methods=["GET"])]
