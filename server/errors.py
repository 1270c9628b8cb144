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
