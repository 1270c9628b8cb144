"""/api/dossiers/{id}/rating: the owner rates a returned dossier once; the owner and its units read it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.accounts import access

from server.dossiers import ratings
from server.dossiers.records import visible_dossier
from server.web.errors import ApiError
from server.web.requests import read_json_object
from server.models import User
from server.web.guard import requires


@requires("dossier.read")
async def post_rating(request: Request, user: User) -> JSONResponse:
    body = await read_json_object(request)
    dossier = await visible_dossier(user, request.path_params["id"][:36])
    if not access.allowed(user, "dossier.own", dossier):
        raise ApiError(403, "not_owner", "Chỉ người nộp hồ sơ được đánh giá mức độ hài lòng.",
                       "Only the dossier's owner can rate the service.")
    rating = await ratings.rate_dossier(dossier, body.get("value"), body.get("reason"))
    return JSONResponse(ratings.rating_json(rating), status_code=201)


@requires("dossier.read")
async def get_rating(request: Request, user: User) -> JSONResponse:
    dossier = await visible_dossier(user, request.path_params["id"][:36])
    rating = await ratings.rating_of(dossier)
    return JSONResponse({"rating": ratings.rating_json(rating) if rating else None,
                         "can_rate": rating is None and access.allowed(user, "dossier.own", dossier)
                         and dossier.status == ratings.RETURNED})


api_routes = [  # under /api
    Route("/dossiers/{id}/rating", post_rating, methods=["POST"]),
    Route("/dossiers/{id}/rating", get_rating, methods=["GET"]),
]
