"""/api/session and /api/accounts: who is signed in, signing in and out, registering."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.accounts import citizens as accounts
from server.accounts.oidc import NO_PHONE_PREFIX

from server.web import rate_limits
from server.models import User
from server.web.requests import read_json_object
from server.accounts.sessions import csrf_token, end_session, set_csrf_cookie, start_session
from server.web.guard import requires


def user_json(user: User) -> dict[str, Any]:
    unit = user.unit if user.unit_id else None  # fetched with the user when it has one
    return {"id": user.id, "phone": "" if user.phone.startswith(NO_PHONE_PREFIX) else user.phone, "full_name": user.full_name, "role": user.role,
            "unit": {"id": unit.id, "code": unit.code, "name": unit.name} if unit else None,
            "locale": user.locale}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _answer(request: Request, body: dict[str, Any], status: int = 200) -> JSONResponse:
    response = JSONResponse(body, status_code=status)
    set_csrf_cookie(request, response)
    return response


@requires("session.use")
async def get_session(request: Request, user: User | None) -> JSONResponse:
    # "oidc": the sign-in screens offer "Đăng nhập bằng VNeID / tài khoản định danh" (GET /auth/oidc/start)
    return _answer(request, {"user": user_json(user) if user else None, "csrf_token": csrf_token(request),
                             "oidc": request.app.state.settings.oidc is not None})


@requires("session.use", csrf="before")
async def sign_in(request: Request, _: User | None) -> JSONResponse:
    body = await read_json_object(request)
    await rate_limits.check_sign_in(request, body.get("phone"))
    user = await accounts.sign_in(body.get("phone"), body.get("password"), client_address(request))
    response = _answer(request, {"user": user_json(user), "csrf_token": csrf_token(request)})
    await start_session(request, response, user)
    return response


@requires("session.use", csrf="before")
async def sign_out(request: Request, _: User | None) -> JSONResponse:
    response = _answer(request, {"user": None})
    await end_session(request, response)
    return response


@requires("account.read_own", csrf="before")
async def sign_out_everywhere(request: Request, user: User) -> JSONResponse:
    await accounts.sign_out_everywhere(user)
    response = _answer(request, {"user": user_json(user)})
    await start_session(request, response, user)  # this device stays signed in with a new session
    return response


@requires("account.register", csrf="before")
async def register(request: Request, _: User | None) -> JSONResponse:
    await rate_limits.check(request, "signup")
    body = await read_json_object(request)
    user = await accounts.register_citizen(body.get("phone"), body.get("password"), body.get("full_name"))
    response = _answer(request, {"user": user_json(user)}, status=201)
    await start_session(request, response, user)
    return response


@requires("account.read_own", csrf="before")
async def change_password(request: Request, user: User) -> JSONResponse:
    body = await read_json_object(request)
    await accounts.change_password(user, body.get("current_password"), body.get("new_password"))
    response = _answer(request, {"user": user_json(user)})
    await start_session(request, response, user)
    return response


api_routes = [  # under /api
    Route("/session", get_session, methods=["GET"]),
    Route("/session", sign_in, methods=["POST"]),
    Route("/session", sign_out, methods=["DELETE"]),
    Route("/session/everywhere", sign_out_everywhere, methods=["POST"]),
    Route("/accounts", register, methods=["POST"]),
    Route("/account/password", change_password, methods=["POST"]),
]
