"""Reading what a client sent, refusing what is malformed with a message a person can act on."""

from __future__ import annotations

import json
import re
import zlib
from typing import Any
from urllib.parse import unquote_to_bytes

import brotli
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.web.errors import ApiError
from server.vietnamese import nfc

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: a sync push at its limit; file bytes never come through here
MAX_JSON_DEPTH = 32  # the deepest real document (a form's repeated group inside a mutation) is under 10
MAX_JSON_INTEGER = 2**53 - 1  # what a phone's JavaScript holds exactly; larger ids and counters are forged
MAX_JSON_INTEGER_DIGITS = 20
# Control characters other than tab and line breaks (PostgreSQL refuses U+0000 in text and jsonb) and lone
# UTF-16 surrogates (not text: unencodable as UTF-8).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
CONTROL_BYTES = re.compile(b"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]")
INFLATE_CHUNK = 64 * 1024


class UnsafeJSON(ValueError):
    """JSON that parses but that no client of ours sends: too deep, a huge number, a forbidden character."""


def _bad_json(message: str, message_en: str) -> ApiError:
    return ApiError(400, "malformed_json", message, message_en)


def inflate(raw: bytes, encoding: str, limit: int = MAX_BODY_BYTES) -> bytes:
    """A request body sent compressed (gzip from CompressionStream, deflate, or br), inflated a piece at a time and
    refused with 413 the moment it grows past `limit`: a kilobyte bomb never becomes a gigabyte in memory."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        if len(raw) > limit:
            raise body_too_large(limit)
        return raw
    out = bytearray()
    try:
        if encoding in ("gzip", "deflate"):
            inflater = zlib.decompressobj(wbits=(16 if encoding == "gzip" else 0) + zlib.MAX_WBITS)
            data = raw
            while True:
                out += inflater.decompress(data, INFLATE_CHUNK)
                if len(out) > limit:
                    raise body_too_large(limit)
                data = inflater.unconsumed_tail
                if not data:
                    break
            out += inflater.flush(limit + 1 - len(out)) if len(out) <= limit else b""
        elif encoding == "br":
            inflater = brotli.Decompressor()
            out += inflater.process(raw, output_buffer_limit=INFLATE_CHUNK)
            while len(out) <= limit and not inflater.can_accept_more_data():
                out += inflater.process(b"", output_buffer_limit=INFLATE_CHUNK)
        else:
            raise ApiError(415, "unsupported_encoding", "Chỉ nhận dữ liệu nén gzip, deflate hoặc br.",
                           "Only gzip, deflate or br request bodies are accepted.")
    except (zlib.error, brotli.error):
        raise ApiError(400, "malformed_body", "Dữ liệu nén bị hỏng. Hãy gửi lại.",
                       "The compressed body is corrupt. Send it again.") from None
    if len(out) > limit:
        raise body_too_large(limit)
    return bytes(out)


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_JSON_INTEGER_DIGITS or abs(int(text)) > MAX_JSON_INTEGER:
        raise UnsafeJSON("integer out of range")
    return int(text)


def _refuse_constant(name: str) -> float:
    raise UnsafeJSON(f"{name} is not JSON")


def _check(value: object, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise UnsafeJSON("nested too deeply")
    if isinstance(value, str):
        if FORBIDDEN_CHARACTERS.search(value):
            raise UnsafeJSON("forbidden character")
    elif isinstance(value, dict):
        for key, item in value.items():
            if FORBIDDEN_CHARACTERS.search(key):
                raise UnsafeJSON("forbidden character")
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def parse_json(raw: bytes | str) -> object:
    """JSON as our clients send it, or a 400 that says what is wrong. Beyond the grammar it refuses what no app
    sends and what would break further in: nesting deeper than MAX_JSON_DEPTH, integers outside JavaScript's exact
    range, NaN and Infinity, NUL and other control characters, lone surrogates (escaped or as bytes)."""
    try:
        value = json.loads(raw, parse_int=_parse_int, parse_constant=_refuse_constant)
        _check(value)
    except UnsafeJSON as error:
        reason = str(error)
        vi = {"integer out of range": "có số nguyên quá lớn",
              "forbidden character": "có ký tự điều khiển hoặc ký tự không hợp lệ",
              "nested too deeply": f"lồng nhau quá {MAX_JSON_DEPTH} cấp"}.get(reason, "có giá trị không hợp lệ")
        raise _bad_json(f"Dữ liệu gửi lên {vi}.", f"The request body is refused: {reason}.") from None
    except RecursionError:  # thousands of levels: the parser gives up before _check could count them
        raise _bad_json(f"Dữ liệu gửi lên lồng nhau quá {MAX_JSON_DEPTH} cấp.",
                        f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError):
        raise _bad_json("Dữ liệu gửi lên không đúng định dạng.", "The request body is not valid JSON.") from None
    return value


async def read_json_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Dữ liệu gửi lên không đúng định dạng; hãy cập nhật ứng dụng.",
                       "Send the request body as JSON (Content-Type: application/json).")
    value = parse_json(inflate(await request.body(), request.headers.get("content-encoding", "identity")))
    if not isinstance(value, dict):
        raise ApiError(400, "malformed_json", "Dữ liệu gửi lên không đúng định dạng.",
                       "The request body must be a JSON object.")
    return value


def text_field(body: dict[str, Any], name: str, label: str, *, max_length: int, required: bool = True,
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
    digits = raw[1:] if raw.startswith("-") else raw
    # ASCII only: int() also reads "١٢" and isdigit() says yes to "²"; neither is a number anyone typed here.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        raise ApiError(400, "invalid_parameter", f"Tham số {name} phải là số nguyên.", f"{name} must be an integer.")
    value = int(raw)
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


class RefuseMalformedURLs:
    """A path or query string carrying NUL or other control characters, or longer than any link of ours, is
    refused with 400 before any route sees it: such text would reach the database (PostgreSQL refuses NUL)."""

    MAX_URL_CHARACTERS = 4096

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
            path = scope["path"]
            if len(path) + len(query) > self.MAX_URL_CHARACTERS or FORBIDDEN_CHARACTERS.search(path) \
                    or CONTROL_BYTES.search(query):
                error = ApiError(400, "malformed_url", "Địa chỉ yêu cầu có ký tự không hợp lệ hoặc quá dài.",
                                 "The request address has characters that are not allowed, or is too long.")
                body = json.dumps(error.to_json(), ensure_ascii=False).encode()
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
