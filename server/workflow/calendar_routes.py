"""GET /api/calendar: the working calendar deadlines are counted in, for devices that compute appointments
offline (pwa/static/js/working-time.js). Public and cacheable: it is the same for everyone."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.models import User
from server.web.cacheable import cacheable_json, json_body
from server.web.guard import requires
from server.workflow.working_time import load_calendar


@requires("catalog.read")
async def get_calendar(request: Request, _: User | None) -> Response:
    return cacheable_json(request, json_body((await load_calendar()).to_json()))


api_routes = [  # under /api
    Route("/calendar", get_calendar, methods=["GET"]),
]
