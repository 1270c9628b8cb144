"""/api/dossiers/{id}/rating: the owner rates a returned dossier once; the owner and its units read it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server import access, ratings
from server.dossiers import visible_dossier
from server.errors import ApiError
from server.requests import read_json_object
from server.sessions import CSRF_HEADER, check_csrf, current_user


async def post_rating(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.read")
    check_csrf(request, request.headers.get(CSRF_HEADER))
    body = await read_json_object(request)
    dossier = await visible_dossier(user, request.path_params["id"][:36])
    if dossier.owner_id != user.id:
        raise ApiError(403, "not_owner", "Chỉ người nộp hồ sơ được đánh giá mức độ hài lòng.",
                       "Only the dossier's owner can rate the service.")
    rating = await ratings.rate_dossier(dossier, body.get("value"), body.get("reason"))
    return JSONResponse(ratings.rating_json(rating), status_code=201)


async def get_rating(request: Request) -> JSONResponse:
    user = access.require(await current_user(request), "dossier.read")
    dossier = await visible_dossier(user, request.path_params["id"][:36])
    rating = await ratings.rating_of(dossier)
    return JSONResponse({"rating": ratings.rating_json(rating) if rating else None,
                         "can_rate": rating is None and dossier.owner_id == user.id
                         and dossier.status == ratings.RETURNED})


routes = [Route("/api/dossiers/{id}/rating", post_rating, methods=["POST"]),
          Route("/api/dossiers/{id}/rating", get_rating, methods=["GET"])]
