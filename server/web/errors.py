"""Errors a person can act on: JSON with a machine code and a Vietnamese message (English beside it)."""

from __future__ import annotations

import html
import logging
import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from server.resources import TEMPLATES_DIR
from server.web.i18n import locale_of, translator


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, message_en: str = "", *,
                 details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.message_en = message_en or message
        self.details = details
        self.headers = headers

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "message_en": self.message_en}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


def not_signed_in() -> ApiError:
    return ApiError(401, "not_signed_in", "Cần đăng nhập để làm việc này.", "You need to sign in to do this.")


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", "Tài khoản này không có quyền làm việc này.",
                    "Your account is not allowed to do this.")


async def api_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return JSONResponse(error.to_json(), status_code=error.status, headers=error.headers)


# Connection failures to the database (restarting, failing over, out of connections) are not the request's
# fault and pass: the devices retry a 503 with Retry-After and lose nothing (docs/operations.md).
DATABASE_DOWN_RETRY_SECONDS = 5


def database_unavailable_errors() -> tuple[type[Exception], ...]:
    from tortoise.exceptions import DBConnectionError

    errors: list[type[Exception]] = [DBConnectionError, ConnectionError]
    try:
        import asyncpg

        errors += [asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.CannotConnectNowError,
                   asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.InterfaceError]
    except ImportError:  # SQLite only
        pass
    return tuple(errors)


async def database_unavailable_handler(request: Request, error: Exception) -> JSONResponse:
    error = ApiError(503, "database_unavailable",
                     "Máy chủ tạm thời không kết nối được cơ sở dữ liệu. Dữ liệu trên máy vẫn được giữ; "
                     "ứng dụng sẽ tự thử lại sau ít giây.",
                     "The server cannot reach its database for a moment. Your data is kept on your phone; "
                     "the app will try again in a few seconds.",
                     headers={"Retry-After": str(DATABASE_DOWN_RETRY_SECONDS)})
    return JSONResponse(error.to_json(), status_code=503, headers=error.headers)


async def value_does_not_fit_handler(request: Request, error: Exception) -> JSONResponse:
    """A value the database would not hold (an id longer than its column, say) reached a query: the request's
    fault, answered as such (the ORM checks lengths before it sends anything)."""
    body = ApiError(400, "invalid_value", "Giá trị gửi lên không hợp lệ (quá dài hoặc sai dạng).",
                    "A value sent is not valid (too long or of the wrong form).")
    return JSONResponse(body.to_json(), status_code=400)
# -- the one pipeline for what nobody expected ---------------------------------------------------------------
# Every unexpected exception gets a request id, logged with its traceback on the "motcua" logger (one line:
# request_id, method, path) and shown to the person: JSON under /api, the HTML error page elsewhere. Registered
# in server/app.py as the handler of `Exception`, which Starlette gives to its outermost ServerErrorMiddleware:
# the answer is sent, then the exception goes on to the server (uvicorn logs it too).
log = logging.getLogger("motcua")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
BUSY_RETRY_SECONDS = 2


def setup_logging() -> None:
    """One handler on the "motcua" logger (stderr), unless someone (a test, an operator's config) set one."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def request_id(request: Request) -> str:
    """The request's id: the proxy's X-Request-ID if it is a sane one, otherwise a new one; kept on the request."""
    existing: str | None = request.scope.setdefault("state", {}).get("request_id")
    if existing:
        return existing
    given = request.headers.get("x-request-id", "")
    value = given if given and len(given) <= 64 and all(c.isalnum() or c in "-_." for c in given) else uuid.uuid4().hex
    request.scope["state"]["request_id"] = value
    return value


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


async def internal_error_handler(request: Request, error: Exception) -> Response:
    rid = request_id(request)
    log.error("unhandled %s request_id=%s method=%s path=%s", type(error).__name__, rid, request.method,
              request.url.path, exc_info=error, extra={"request_id": rid, "method": request.method,
                                                        "path": request.url.path})
    headers = {"X-Request-ID": rid, "Cache-Control": "no-store"}
    internal = ApiError(500, "internal", "Máy chủ gặp lỗi ngoài dự kiến. Vui lòng thử lại sau ít phút; nếu lỗi còn, "
                        "hãy báo mã yêu cầu cho bộ phận một cửa.",
                        "The server met an unexpected error. Please try again in a few minutes; if it persists, "
                        "report the request id to the one-stop office.")
    return _failure(request, internal, rid, headers, "server_error_title", "server_error_text")


def _failure(request: Request, error: ApiError, rid: str, headers: dict[str, str], title_key: str,
             text_key: str) -> Response:
    """A failure on the server's side, with the request id to report: the error JSON under /api, else the page."""
    if not _is_api(request):
        return _page(request, error.status, title_key, text_key, rid, headers)
    body = error.to_json()
    body["error"]["request_id"] = rid
    return JSONResponse(body, status_code=error.status, headers=headers)


# Its own template environment, so the error pipeline depends on no page module (they depend on it).
ERROR_PAGES = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _page(request: Request, status: int, title_key: str, text_key: str, rid: str, headers: dict[str, str]) -> Response:
    """The HTML error page, rendered without the database (it may be why we are here)."""
    try:
        locale = locale_of(request)
        return ERROR_PAGES.TemplateResponse(request, "error.html", {
            "t": translator(locale), "locale": locale, "other_locale": "en" if locale == "vi" else "vi",
            "user": None, "csrf_token": "", "csrf_field": "", "path": request.url.path,
            "title_key": title_key, "text_key": text_key, "request_id": rid,
        }, status_code=status, headers=headers)
    except Exception:  # the template itself failed: still an answer, still the id
        log.exception("error page failed request_id=%s", rid)
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Lỗi máy chủ</title><h1>Lỗi máy chủ / "
                            f"Server error</h1><p>Mã yêu cầu / request id: <code>{html.escape(rid)}</code></p>",
                            status_code=status, headers=headers)


def database_busy_errors() -> tuple[type[Exception], ...]:
    from tortoise.exceptions import OperationalError

    return (OperationalError, sqlite3.OperationalError)


async def database_busy_handler(request: Request, error: Exception) -> Response:
    """SQLite's "database is locked" (another writer held on past the busy timeout): 503, try again shortly.
    Any other OperationalError is unexpected and goes on to internal_error_handler."""
    from server.db.sqlite import is_locked

    if not is_locked(error):
        raise error
    rid = request_id(request)
    log.warning("database busy request_id=%s method=%s path=%s", rid, request.method, request.url.path)
    headers = {"Retry-After": str(BUSY_RETRY_SECONDS), "X-Request-ID": rid, "Cache-Control": "no-store"}
    busy = ApiError(503, "database_busy", "Máy chủ đang bận ghi dữ liệu khác. Ứng dụng sẽ tự thử lại sau ít giây; "
                    "dữ liệu trên máy vẫn được giữ.",
                    "The server is busy writing other data. The app will try again in a few seconds; your data "
                    "is kept on your phone.")
    return _failure(request, busy, rid, headers, "busy_title", "busy_text")
