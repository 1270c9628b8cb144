"""Zalo's delivery receipts: the OA's webhook, `POST /api/notices/zalo/events` (docs/push.md "Channels").

Zalo calls the webhook registered for the app linked to the province's Official Account with every OA event; the
one read here is `user_received_message`, sent when a message (a ZNS template message included) reached the
person's phone: JSON with `event_name`, `app_id`, `timestamp` (milliseconds), `message.msg_id` (the id the send
answered, kept as the delivery's provider_id) and `message.delivery_time`. Each call carries the header
`X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret key)>` — a plain SHA-256 of the
concatenation, not an HMAC, with the OA's secret key (not the app's), as Zalo's webhook documentation and
integrators' write-ups give it (docs/operations.md "Zalo Official Account").

Anything the signature does not cover is refused with a 4xx and changes nothing. Once verified, Zalo must hear 200
quickly (it retries, then turns the webhook off), so other events and unknown message ids are answered 200 and
ignored, and a receipt seen twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.config import ZaloSettings
from server.models import NoticeDelivery, User
from server.notify.channels import DELIVERED, SENT, ZALO
from server.web.errors import ApiError
from server.web.guard import requires

SIGNATURE_HEADER = "X-ZEvent-Signature"
RECEIVED = "user_received_message"
MAX_BODY = 64 * 1024  # a receipt is a few hundred bytes
# How old a signed call may be. The signature covers the timestamp, so an old call replayed later is refused; an
# hour covers Zalo's retries of a call we failed to answer (integrators describe them over about an hour).
PAST = timedelta(hours=1)
FUTURE = timedelta(minutes=5)  # clock skew between Zalo and us


def signature(settings: ZaloSettings, raw: bytes, timestamp: str) -> str:
    """The header value Zalo sends for this body: mac= and sha256(app_id + body + timestamp + OA secret key)."""
    digest = hashlib.sha256(settings.app_id.encode() + raw + timestamp.encode() + settings.oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def _refuse(status: int, code: str, vi: str, en: str) -> ApiError:
    return ApiError(status, code, vi, en)


def _millis(value: object) -> int | None:
    """Zalo's times are milliseconds since the epoch, as a string or a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        return int(value)
    return None


def verified_event(settings: ZaloSettings, raw: bytes, given: str, now: datetime) -> dict[str, Any]:
    """The event if Zalo signed it and it is recent; otherwise a 4xx saying what is wrong."""
    if len(raw) > MAX_BODY:
        raise _refuse(413, "too_large", "Sự kiện Zalo gửi đến quá lớn.", "The Zalo event is too large.")
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _refuse(400, "malformed_json", "Sự kiện Zalo gửi đến không đúng định dạng.",
                      "The Zalo event is not JSON.") from None
    if not isinstance(event, dict):
        raise _refuse(400, "malformed_json", "Sự kiện Zalo gửi đến không đúng định dạng (cần một đối tượng).",
                      "The Zalo event is not a JSON object.")
    stamp = event.get("timestamp")
    millis = _millis(stamp)
    if millis is None:
        raise _refuse(400, "invalid_timestamp", "Sự kiện Zalo thiếu thời điểm (timestamp).",
                      "The Zalo event has no valid timestamp.")
    # Compared in constant time, so a forger learns nothing from how long the refusal took.
    expected = signature(settings, raw, str(stamp)).encode()
    if not given or not hmac.compare_digest(expected, given.strip().encode("utf-8", "replace")):
        raise _refuse(401, "invalid_signature", "Chữ ký của sự kiện Zalo không đúng; sự kiện bị từ chối.",
                      f"The {SIGNATURE_HEADER} signature does not match; check ZALO_APP_ID and ZALO_OA_SECRET_KEY.")
    if str(event.get("app_id", "")) != settings.app_id:
        raise _refuse(401, "invalid_signature", "Sự kiện Zalo gửi cho ứng dụng khác; sự kiện bị từ chối.",
                      "The Zalo event names another app_id.")
    at = datetime.fromtimestamp(millis / 1000, timezone.utc) if millis < 10**14 else None
    if at is None or not now - PAST <= at <= now + FUTURE:
        raise _refuse(400, "stale_event", "Sự kiện Zalo đã quá cũ hoặc sai giờ; sự kiện bị từ chối.",
                      "The Zalo event's timestamp is too old or in the future.")
    return event


async def record_delivery(event: dict[str, Any], now: datetime) -> str:
    """A verified `user_received_message`: the Zalo delivery sent with that message id becomes delivered.
    Returns "delivered", "unknown" (no such message: not ours, or not recorded yet) or "already"."""
    message = event.get("message")
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    if not isinstance(msg_id, str) or not msg_id or len(msg_id) > 80:
        raise _refuse(400, "invalid_message", "Sự kiện Zalo thiếu mã tin nhắn (message.msg_id).",
                      "The Zalo event has no message.msg_id.")
    millis = _millis(message.get("delivery_time")) if isinstance(message, dict) else None
    delivered_at = now
    if millis is not None and millis < 10**14:
        when = datetime.fromtimestamp(millis / 1000, timezone.utc)
        delivered_at = when if now - PAST - PAST <= when <= now + FUTURE else now
    # Only a row that is "sent" moves: a second receipt, or one for a row that failed over, changes nothing.
    if await NoticeDelivery.filter(channel=ZALO, provider_id=msg_id, status=SENT).update(
            status=DELIVERED, delivered_at=delivered_at):
        return "delivered"
    return "already" if await NoticeDelivery.filter(channel=ZALO, provider_id=msg_id).exists() else "unknown"


@requires("notice.receipt", csrf="none")
async def post_zalo_event(request: Request, _: User | None) -> JSONResponse:
    zalo: ZaloSettings | None = request.app.state.settings.notices.zalo
    if zalo is None or not (zalo.app_id and zalo.oa_secret_key):
        raise _refuse(404, "not_configured", "Máy chủ chưa bật nhận sự kiện từ Zalo.",
                      "Zalo events are not configured here (set ZALO_APP_ID and ZALO_OA_SECRET_KEY).")
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise _refuse(413, "too_large", "Sự kiện Zalo gửi đến quá lớn.", "The Zalo event is too large.")
    now = datetime.now(timezone.utc)
    event = verified_event(zalo, await request.body(), request.headers.get(SIGNATURE_HEADER, ""), now)
    if event.get("event_name") != RECEIVED:
        return JSONResponse({"ok": True, "recorded": "ignored"})  # another OA event: not a receipt
    return JSONResponse({"ok": True, "recorded": await record_delivery(event, now)})


api_routes = [  # under /api
    Route("/notices/zalo/events", post_zalo_event, methods=["POST"]),
]
