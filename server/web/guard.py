"""`@requires(action)`: what a route handler needs, declared on the handler (docs/access.md).

The decorator reads the signed-in user (server/accounts/sessions.py), asks `access.allowed` whether their role
may do `action` (401 for a stranger, 403 otherwise, the ApiError answers of server/web/errors.py), checks the
CSRF token of an unsafe request, and calls the handler as `handler(request, user)` (user is None for a stranger
on a public endpoint). Whose dossier is decided inside, once the handler has loaded it, with
`access.allowed(user, action, dossier)`.

Every API handler is wrapped (tests/test_access.py walks the routes for the `REQUIRES` marker).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar, cast

from starlette.requests import Request
from starlette.responses import Response

from server.accounts import access
from server.accounts.sessions import CSRF_HEADER, check_csrf, current_user
from server.models import User

REQUIRES = "__requires__"  # the attribute naming the action a guarded handler declared
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# A handler takes `User` when its action is for signed-in users only, `User | None` when a stranger may call it.
HandlerUser = TypeVar("HandlerUser", bound=User | None)
Endpoint = Callable[[Request], Awaitable[Response]]


def requires(action: str, *, csrf: Literal["after", "before", "none"] = "after"
             ) -> Callable[[Callable[[Request, HandlerUser], Awaitable[Response]]], Endpoint]:
    """Guard a handler with `action` (a key of access.PERMISSIONS).

    csrf: for an unsafe method (POST, PUT, PATCH, DELETE) the X-CSRF-Token header is checked "after" the
    permission (a stranger hears 401 first), or "before" it (signing in and out, registering: the token is all
    they have), or "none" for a public look-up that changes nothing of the caller's (POST /api/track)."""
    if action not in access.PERMISSIONS:
        raise ValueError(f"unknown action {action!r}")

    def wrap(handler: Callable[[Request, HandlerUser], Awaitable[Response]]) -> Endpoint:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            unsafe = csrf != "none" and request.method not in SAFE_METHODS
            if unsafe and csrf == "before":
                check_csrf(request, request.headers.get(CSRF_HEADER))
            user = await current_user(request)
            access.check(user, action)
            if unsafe and csrf == "after":
                check_csrf(request, request.headers.get(CSRF_HEADER))
            # access.check has answered 401 to a stranger unless the action is public, and the handler of a
            # public action takes `User | None`.
            return await handler(request, cast(HandlerUser, user))

        setattr(guarded, REQUIRES, action)
        return guarded

    return wrap


def required_action(endpoint: object) -> str | None:
    """The action a handler declared with `requires`, or None for an unguarded one."""
    return getattr(endpoint, REQUIRES, None)
