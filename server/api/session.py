"""/api/session and /api/accounts: who is signed in, signing in and out, registering."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server import access, accounts, rate_limits
from server.models import User
from server.requests import read_json_object
from server.sessions import CSRF_HEADER, check_csrf, csrf_token, current_user, end_session, set_csrf_cookie, start_session


def user_json(user: User) -> dict:
    return {"id": user.id, "phone": user.phone, "full_name": user.full_name, "role": user.role,
            "unit": {"id": user.unit.id, "code": user.unit.code, "name": user.unit.name} if user.unit_id else None,
            "locale": user.locale}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _answer(request: Request, body: dict, status: int = 200) -> JSONResponse:
    response = JSONResponse(body, status_code=status)
    set_csrf_cookie(request, response)
    return response


async def get_session(request: Request) -> JSONResponse:
    user = await current_user(request)
    return _answer(request, {"user": user_json(user) if user else None, "csrf_token": csrf_token(request)})


async def sign_in(request: Request) -> JSONResponse:
    check_csrf(request, request.headers.get(CSRF_HEADER))
    body = await read_json_object(request)
    await rate_limits.check_sign_in(request, body.get("phone"))
    user = await accounts.sign_in(body.get("phone"), body.get("password"), client_address(request))
    response = _answer(request, {"user": user_json(user), "csrf_token": csrf_token(request)})
    start_session(request, response, user)
    return response


async def sign_out(request: Request) -> JSONResponse:
    check_csrf(request, request.headers.get(CSRF_HEADER))
    response = _answer(request, {"user": None})
    end_session(request, response)
    return response


async def sign_out_everywhere(request: Request) -> JSONResponse:
    check_csrf(request, request.headers.get(CSRF_HEADER))
    user = access.require(await current_user(request), "account.read_own")
    await accounts.sign_out_everywhere(user)
    response = _answer(request, {"user": user_json(user)})
    start_session(request, response, user)  # this device stays signed in with the new epoch
    return response


async def register(request: Request) -> JSONResponse:
    check_csrf(request, request.headers.get(CSRF_HEADER))
    access.check(await current_user(request), "account.register")
    await rate_limits.check(request, "signup")
    body = await read_json_object(request)
    user = await accounts.register_citizen(body.get("phone"), body.get("password"), body.get("full_name"))
    response = _answer(request, {"user": user_json(user)}, status=201)
    start_session(request, response, user)
    return response


async def change_password(request: Request) -> JSONResponse:
    check_csrf(request, request.headers.get(CSRF_HEADER))
    user = access.require(await current_user(request), "account.read_own")
    body = await read_json_object(request)
    await accounts.change_password(user, body.get("current_password"), body.get("new_password"))
    response = _answer(request, {"user": user_json(user)})
    start_session(request, response, user)
    return response


routes = [
    Route("/api/session", get_session, methods=["GET"]),
    Route("/api/session", sign_in, methods=["POST"]),
    Route("/api/session", sign_out, methods=["DELETE"]),
    Route("/api/session/everywhere", sign_out_everywhere, methods=["POST"]),
    Route("/api/accounts", register, methods=["POST"]),
    Route("/api/account/password", change_password, methods=["POST"]),
]
