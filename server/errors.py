"""Errors a person can act on: JSON with a machine code and a Vietnamese message (English beside it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, message_en: str = "", *,
                 details: list | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.message_en = message_en or message
        self.details = details
        self.headers = headers

    def to_json(self) -> dict:
        body = {"code": self.code, "message": self.message, "message_en": self.message_en}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


def not_signed_in() -> ApiError:
    return ApiError(401, "not_signed_in", "Bạn cần đăng nhập để làm việc này.", "You need to sign in to do this.")


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", "Tài khoản của bạn không có quyền làm việc này.",
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
                     "Máy chủ tạm thời không kết nối được cơ sở dữ liệu. Dữ liệu trên máy bạn vẫn được giữ; "
                     "ứng dụng sẽ tự thử lại sau ít giây.",
                     "The server cannot reach its database for a moment. Your data is kept on your phone; "
                     "the app will try again in a few seconds.",
                     headers={"Retry-After": str(DATABASE_DOWN_RETRY_SECONDS)})
    return JSONResponse(error.to_json(), status_code=503, headers=error.headers)
