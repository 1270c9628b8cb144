"""Sessions (phiên đăng nhập) and CSRF tokens.

The cookie carries a random token; the server keeps only its hash (models.Session), so any app instance can serve
any request, signing out ends the session on the server (a copied cookie stops working), and a password change or
"sign out everywhere" ends every session of the account. A phone stays signed in through weeks offline.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from hashlib import sha256

from starlette.requests import Request
from starlette.responses import Response

from tortoise.connection import get_connection
from tortoise.models import Model

from server.db.sql import is_postgres
from server.models import AdministrativeUnit, Session, User
from server.web.errors import ApiError

SESSION_COOKIE = "motcua_session"
CSRF_COOKIE = "motcua_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = 60 * 60 * 24 * 60  # 60 days: a field officer may be out of range for weeks
MAX_TOKEN_CHARACTERS = 64


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) <= MAX_TOKEN_CHARACTERS and token.isascii() else None


async def current_user(request: Request) -> User | None:
    if "user" in request.state._state:
        known: User | None = request.state.user
        return known
    user = None
    token = _token(request)
    if token:
        user = await _user_of_session(_hash(token), datetime.now(timezone.utc))
    request.state.user = user
    return user


def _columns(model: type[Model], alias: str) -> list[str]:
    return [f'{alias}.{column} AS "{alias}.{column}"' for column in model._meta.fields_db_projection.values()]


@functools.cache
def _session_user_sql(postgres: bool) -> str:
    """Every request with a session cookie asks this (every sync round): one plain statement through the ORM's
    connection, the user and their unit built from its row as select_related("user__unit") would build them.
    Written once the models are initialised (their foreign-key columns are known only then)."""
    return (f"SELECT {', '.join(_columns(User, 'u') + _columns(AdministrativeUnit, 'n'))} FROM sessions s "
            f"JOIN {User._meta.db_table} u ON u.id = s.user_id "
            f"LEFT JOIN {AdministrativeUnit._meta.db_table} n ON n.id = u.unit_id "
            "WHERE s.token_hash = " + ("$1 AND s.expires_at > $2" if postgres else "? AND s.expires_at > ?"))


async def _user_of_session(token_hash: str, now: datetime) -> User | None:
    connection = get_connection("default")
    rows = await connection.execute_query_dict(_session_user_sql(is_postgres(connection)), [token_hash, now])
    if not rows:
        return None
    row = rows[0]
    user = User._init_from_db(**{name[2:]: value for name, value in row.items() if name.startswith("u.")})
    unit = AdministrativeUnit._init_from_db(**{name[2:]: value for name, value in row.items()
                                              if name.startswith("n.")}) if row.get("n.id") is not None else None
    object.__setattr__(user, "_unit", unit)  # what select_related sets: user.unit needs no query
    return user


async def start_session(request: Request, response: Response, user: User) -> None:
    token = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    await Session.filter(user_id=user.id, expires_at__lte=now).delete()  # the account's stale ones, as it goes
    await Session.create(token_hash=_hash(token), user=user,
                         expires_at=now + timedelta(seconds=SESSION_MAX_AGE))
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, httponly=True,
                        samesite="lax", secure=_secure(request), path="/")
    request.state.user = user


async def end_session(request: Request, response: Response) -> None:
    token = _token(request)
    if token:
        await Session.filter(token_hash=_hash(token)).delete()
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    request.state.user = None


async def end_all_sessions(user: User) -> None:
    """Every session of the account, on every device (a password change, "sign out everywhere")."""
    await Session.filter(user_id=user.id).delete()


# CSRF: double submit, hardened. The browser holds a random value in an HttpOnly cookie; pages and
# /api/session hand out an HMAC of it; a state change must carry that HMAC in a form field or header.
# A site that can set cookies for us still cannot forge the HMAC without the secret key.

def _csrf_seed(request: Request) -> str:
    seed = request.cookies.get(CSRF_COOKIE) or request.state._state.get("csrf_seed")
    if not seed:
        # 128 random bits, 22 characters: the cookie travels with every request (a seed made before, longer, holds)
        seed = secrets.token_urlsafe(16)
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


def check_csrf(request: Request, submitted: object) -> None:
    """submitted: the header's or the form field's value; anything but a non-empty string (a file part, say) is refused."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not isinstance(submitted, str) or not submitted or not hmac.compare_digest(submitted, csrf_token(request)):
        raise ApiError(403, "csrf", "Phiên làm việc đã hết hạn hoặc yêu cầu không hợp lệ. Vui lòng tải lại trang rồi thử lại.",
                       "Your session expired or the request is not valid. Reload the page and try again.")
