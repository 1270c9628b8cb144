"""Reading what a client sent, refusing what is malformed with a message a person can act on."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import ApiError
from server.vietnamese import nfc

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: a sync push at its limit; file bytes never come through here


async def read_json_object(request: Request) -> dict:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Yêu cầu phải gửi dữ liệu dạng JSON (Content-Type: application/json).",
                       "Send the request body as JSON (Content-Type: application/json).")
    body = await request.body()
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "Dữ liệu gửi lên không phải JSON hợp lệ.",
                       "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError(400, "malformed_json", "Dữ liệu gửi lên phải là một đối tượng JSON ({…}).",
                       "The request body must be a JSON object.")
    return value


def text_field(body: dict, name: str, label: str, *, max_length: int, required: bool = True,
               min_length: int = 0) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "required", f"Vui lòng nhập {label}.", f"{name} is required.",
                           details=[{"path": name, "code": "required"}])
        return None
    if not isinstance(value, str):
        raise ApiError(400, "type", f"{label} phải là chuỗi ký tự.", f"{name} must be a string.",
                       details=[{"path": name, "code": "type"}])
    value = nfc(value.strip())
    if len(value) > max_length:
        raise ApiError(400, "too_long", f"{label} dài quá {max_length} ký tự.",
                       f"{name} is longer than {max_length} characters.", details=[{"path": name, "code": "too_long"}])
    if len(value) < min_length:
        raise ApiError(400, "too_short", f"{label} cần ít nhất {min_length} ký tự.",
                       f"{name} needs at least {min_length} characters.", details=[{"path": name, "code": "too_short"}])
    return value


def int_param(request: Request, name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"Tham số {name} phải là số nguyên.", f"{name} must be an integer.") from None
    if not minimum <= value <= maximum:
        raise ApiError(400, "invalid_parameter", f"Tham số {name} phải từ {minimum} đến {maximum}.",
                       f"{name} must be between {minimum} and {maximum}.")
    return value


def body_too_large(max_bytes: int = MAX_BODY_BYTES) -> ApiError:
    return ApiError(413, "request_too_large",
                    f"Dữ liệu gửi lên quá lớn (tối đa {max_bytes // 1024} KB). Hãy chia nhỏ rồi gửi lại.",
                    f"The request body is too large (at most {max_bytes // 1024} KB). Split it and send again.")


class BodySizeLimit:
    """Refuse bodies over the limit with 413 without reading them whole, declared or streamed.

    A streamed body that grows past the limit raises the ApiError from inside `receive`, so the
    route's own error handling turns it into the 413 answer.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, exempt: tuple[str, ...] = ("/files/upload/",)) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # File bytes go to routes that enforce the size their signed link allows, streaming to disk.
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            error = body_too_large(self.max_bytes)
            body = json.dumps(error.to_json(), ensure_ascii=False).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise body_too_large(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
