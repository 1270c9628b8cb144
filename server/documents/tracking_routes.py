"""Public tracking without signing in: the /track page, POST /api/track and the signed /t/{token} link.

Every look-up by code goes through `lookup`, which calls server.documents.tracking.track_by_code: the one place to wrap
with a rate limiter.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.web import rate_limits
from server.web.errors import ApiError
from server.web.i18n import locale_of
from server.models import Dossier, Rating, User
from server.web.guard import requires
from server.web.pages import render
from server.dossiers.ratings import RETURNED, rate_dossier
from server.web.requests import read_json_object
from server.accounts.sessions import CSRF_FIELD, check_csrf
from server.documents.tracking import track_by_code, track_by_token, tracking_token

NO_STORE = {"cache-control": "no-store"}


async def lookup(request: Request, code: object, digits: object) -> dict[str, Any]:
    # Counted per device, per address and per dossier code, so guessing the digits of one code stays slow.
    await rate_limits.check(request, "track", account=code[:64] if isinstance(code, str) else None)
    return await track_by_code(code, digits)


def _public(view: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in view.items() if not key.startswith("_")}


def _message(request: Request, error: ApiError) -> str:
    return error.message_en if locale_of(request) == "en" else error.message


@requires("dossier.track", csrf="none")  # public; counted by rate_limits instead
async def api_track(request: Request, _: User | None) -> JSONResponse:
    body = await read_json_object(request)
    view = await lookup(request, body.get("code"), body.get("digits"))
    return JSONResponse(_public(view), headers=NO_STORE)


async def _rating_token(request: Request, view: dict[str, Any]) -> str | None:
    """The signed token to rate with, for a returned dossier not rated yet (the form is then offered)."""
    if view["status"] != RETURNED or await Rating.filter(dossier_id=view["_dossier_id"]).exists():
        return None
    return tracking_token(view["_dossier_id"], request.app.state.settings.secret_key)


async def _show(request: Request, view: dict[str, Any], code: str, status: int = 200, **extra: Any) -> Response:
    response = await render(request, "track.html", status=status, code=code, view=view, error=None,
                            rating_token=await _rating_token(request, view), **extra)
    response.headers["cache-control"] = "no-store"
    return response


async def _refused(request: Request, error: ApiError, code: str = "") -> Response:
    page = await render(request, "track.html", status=error.status, code=code, view=None, error=_message(request, error))
    page.headers.update(error.headers or {})  # Retry-After on 429
    return page


async def track_page(request: Request) -> Response:
    if request.method == "GET":
        return await render(request, "track.html", code="", view=None, error=None)
    form = await request.form()
    code = str(form.get("code", ""))[:64]
    try:
        view = await lookup(request, form.get("code"), form.get("digits"))
    except ApiError as error:
        return await _refused(request, error, code)
    return await _show(request, view, code)


async def signed_link(request: Request) -> Response:
    try:
        view = await track_by_token(request.path_params["token"], request.app.state.settings.secret_key)
    except ApiError as error:
        return await _refused(request, error)
    return await _show(request, view, view["code"] or "", signed=True)


async def rate(request: Request) -> Response:
    """The rating form of the tracking page: whoever holds the signed link (or passed the code check) may rate."""
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))
    try:
        view = await track_by_token(request.path_params["token"], request.app.state.settings.secret_key)
    except ApiError as error:
        return await _refused(request, error)
    dossier = await Dossier.get(id=view["_dossier_id"])
    try:
        await rate_dossier(dossier, form.get("value"), form.get("reason"))
    except ApiError as error:
        return await _show(request, view, view["code"] or "", status=error.status, signed=True,
                           error_rating=_message(request, error))
    thanks = "Thank you for your rating." if locale_of(request) == "en" else \
        "Cảm ơn Ông/Bà đã đánh giá. Ý kiến đã được ghi nhận."
    return await _show(request, view, view["code"] or "", signed=True, rating_done=thanks)


api_routes = [  # under /api
    Route("/track", api_track, methods=["POST"]),
]

page_routes = [
    Route("/track", track_page, methods=["GET", "POST"]),
    Route("/t/{token}", signed_link, methods=["GET"]),
    Route("/t/{token}/rating", rate, methods=["POST"]),
]
