"""Signed-cookie sessions (itsdangerous) and CSRF tokens.

The session lives entirely in the cookie so that any app instance can serve any request and a
phone stays signed in through days offline. Each user has a session epoch: a password change or
"sign out everywhere" bumps it, and every cookie signed with an older epoch stops working.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from hashlib import sha256

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from server.errors import ApiError
from server.models import User

SESSION_COOKIE = "motcua_session"
CSRF_COOKIE = "motcua_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = 60 * 60 * 24 * 60  # 60 days: a field officer may be out of range for weeks


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt="motcua.session")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def current_user(request: Request) -> User | None:
    if "user" in request.state._state:
        return request.state.user
    user = None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            payload = _serializer(request).loads(raw, max_age=SESSION_MAX_AGE)
            candidate = await User.get_or_none(id=int(payload["u"])).select_related("unit")
            if candidate is not None and candidate.session_epoch == int(payload["e"]):
                user = candidate
        except (BadSignature, KeyError, TypeError, ValueError):
            user = None
    request.state.user = user
    return user


def start_session(request: Request, response: Response, user: User) -> None:
    token = _serializer(request).dumps({"u": user.id, "e": user.session_epoch})
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, httponly=True,
                        samesite="lax", secure=_secure(request), path="/")
    request.state.user = user


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    request.state.user = None


# CSRF: double submit, hardened. The browser holds a random value in an HttpOnly cookie; pages and
# /api/session hand out an HMAC of it; a state change must carry that HMAC in a form field or header.
# A site that can set cookies for us still cannot forge the HMAC without the secret key.

def _csrf_seed(request: Request) -> str:
    seed = request.cookies.get(CSRF_COOKIE) or request.state._state.get("csrf_seed")
    if not seed:
        seed = secrets.token_urlsafe(24)
    request.state.csrf_seed = seed
    return seed


def csrf_token(request: Request) -> str:
    key = request.app.state.settings.secret_key.encode()
    digest = hmac.new(key, b"csrf:" + _csrf_seed(request).encode(), sha256).digest()[:16]  # 128 bits suffice
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def set_csrf_cookie(request: Request, response: Response) -> None:
    seed = request.state._state.get("csrf_seed")
    if seed and seed != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, seed, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax",
                            secure=_secure(request), path="/")


def check_csrf(request: Request, submitted: str | None) -> None:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not submitted or not hmac.compare_digest(submitted, csrf_token(request)):
        raise ApiError(403, "csrf", "Phiên làm việc đã hết hạn hoặc yêu cầu không hợp lệ. Vui lòng tải lại trang rồi thử lại.",
                       "Your session expired or the request is not valid. Reload the page and try again.")
