"""/api/push/… and /api/notices: a user's push subscriptions (one per phone or browser) and their inbox.

Every route is for a signed-in user about their own things: another user's subscription or notice is
answered as unknown (404), the same as a missing one.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.notify import channels
from server.web.errors import ApiError
from server.models import Device, Notification, PushJob, PushSubscription, User
from server.web.requests import int_param, read_json_object
from server.web.guard import requires

MAX_SUBSCRIPTIONS = 20  # phones and browsers per account; the oldest goes when a new one comes


def insecure_endpoints_allowed(request: Request) -> bool:
    """Tests run a push service on plain-HTTP loopback; a deployment never sets this."""
    allowed: bool = request.app.state.settings.push_insecure_endpoints
    return allowed


def _bad(code: str, vi: str, en: str, path: str) -> ApiError:
    return ApiError(400, code, vi, en, details=[{"path": path, "code": code}])


def _b64url(value: object, path: str) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise _bad("invalid_key", f"Khoá đăng ký nhận thông báo ({path}) bị thiếu hoặc sai.",
                   f"{path} is missing or malformed.", path)
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise _bad("invalid_key", f"Khoá đăng ký nhận thông báo ({path}) không phải base64url.",
                   f"{path} is not base64url.", path) from None


def _endpoint(value: object, allow_http: bool) -> str:
    schemes = ("https", "http") if allow_http else ("https",)
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        _ = parts and parts.port  # a port out of range raises here
    except ValueError:
        parts = None
    if parts is None or not isinstance(value, str) or len(value) > 1000 or parts.scheme not in schemes or not parts.hostname or parts.username:
        raise _bad("invalid_endpoint", "Địa chỉ nhận thông báo của trình duyệt không hợp lệ (cần https://…).",
                   "The browser's push endpoint is not valid (an https:// URL is needed).", "endpoint")
    return value


def parse_subscription(body: dict[str, Any], *, allow_http: bool = False) -> dict[str, Any]:
    """PushSubscription.toJSON() from the browser: {endpoint, expirationTime, keys: {p256dh, auth}}."""
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise _bad("invalid_key", "Thiếu khoá đăng ký nhận thông báo (keys).", "keys is required.", "keys")
    p256dh, auth = _b64url(keys.get("p256dh"), "keys.p256dh"), _b64url(keys.get("auth"), "keys.auth")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise _bad("invalid_key", "Khoá keys.p256dh không phải khoá P-256 của trình duyệt.",
                   "keys.p256dh is not a P-256 public key.", "keys.p256dh") from None
    if len(auth) != 16:
        raise _bad("invalid_key", "Khoá keys.auth phải dài 16 byte.", "keys.auth must be 16 bytes.", "keys.auth")
    label = body.get("label", "")
    if not isinstance(label, str) or len(label) > 200:
        raise _bad("invalid_label", "Tên thiết bị dài quá 200 ký tự.", "label is longer than 200 characters.", "label")
    locale = body.get("locale", "vi")
    if locale not in ("vi", "en"):
        raise _bad("invalid_locale", "Ngôn ngữ phải là vi hoặc en.", "locale must be vi or en.", "locale")
    device_id = body.get("device_id")
    if device_id is not None and not (isinstance(device_id, str) and 0 < len(device_id) <= 64):
        raise _bad("invalid_device", "Mã thiết bị không hợp lệ.", "device_id is not valid.", "device_id")
    return {"endpoint": _endpoint(body.get("endpoint"), allow_http), "p256dh": keys["p256dh"], "auth": keys["auth"],
            "label": label.strip(), "locale": locale, "device_id": device_id}


def subscription_json(subscription: PushSubscription) -> dict[str, Any]:
    return {"id": subscription.id, "endpoint": subscription.endpoint, "label": subscription.label,
            "device_id": subscription.device_id, "locale": subscription.locale,
            "created_at": subscription.created_at.isoformat(),
            "last_success_at": subscription.last_success_at.isoformat() if subscription.last_success_at else None}


def notice_json(notice: Notification, channels_tried: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": notice.id, "kind": notice.kind, "title": notice.title, "body": notice.body, "url": notice.url,
            "dossier_id": notice.dossier_id, "created_at": notice.created_at.isoformat(),
            "read_at": notice.read_at.isoformat() if notice.read_at else None,
            # how it reached the person: [{channel, status, at, error}] in the order tried (docs/push.md "Channels")
            "channels": channels_tried or []}


@requires("catalog.read")
async def get_key(request: Request, _: User | None) -> JSONResponse:
    """The VAPID public key as the browser's applicationServerKey (public: it identifies this server)."""
    return JSONResponse({"public_key": request.app.state.settings.vapid_application_server_key})


@requires("account.read_own")
async def post_subscription(request: Request, user: User) -> JSONResponse:
    values = parse_subscription(await read_json_object(request),
                                allow_http=insecure_endpoints_allowed(request))
    device_id = values.pop("device_id")
    if device_id and not await Device.filter(id=device_id, user_id=user.id).exists():
        device_id = None  # a phone that has not synced yet: the subscription stands on its own
    async with in_transaction():
        existing = await PushSubscription.select_for_update().get_or_none(endpoint=values["endpoint"])
        if existing is not None:
            # The same browser again (or a shared phone now signed in as someone else): it follows the account.
            if existing.user_id != user.id:
                await PushJob.filter(subscription_id=existing.id, status="queued").update(status="gone")
            await PushSubscription.filter(id=existing.id).update(user_id=user.id, device_id=device_id, **values)
            subscription, status = await PushSubscription.get(id=existing.id), 200
        else:
            try:
                subscription = await PushSubscription.create(user_id=user.id, device_id=device_id, **values)
            except IntegrityError:
                raise ApiError(409, "subscription_race", "Thiết bị vừa đăng ký cùng lúc; vui lòng thử lại.",
                               "The same subscription arrived twice at once; try again.") from None
            status = 201
            stale = await PushSubscription.filter(user_id=user.id).order_by("-id").offset(MAX_SUBSCRIPTIONS).values_list(
                "id", flat=True)
            if stale:
                await PushSubscription.filter(id__in=list(stale)).delete()
    return JSONResponse(subscription_json(subscription), status_code=status)


@requires("account.read_own")
async def list_subscriptions(request: Request, user: User) -> JSONResponse:
    items = await PushSubscription.filter(user_id=user.id).order_by("-id")
    return JSONResponse({"items": [subscription_json(s) for s in items]})


def _id(request: Request, maximum: int = 2**63 - 1) -> int:
    raw = request.path_params["id"]
    # Beyond the column's integer range there is no row (PostgreSQL would refuse to compare it: a 500).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > maximum:
        raise ApiError(404, "not_found", "Không tìm thấy mục này.", "Not found.")
    return int(raw)


@requires("account.read_own")
async def delete_subscription(request: Request, user: User) -> JSONResponse:
    deleted = await PushSubscription.filter(id=_id(request, maximum=2**31 - 1), user_id=user.id).delete()
    if not deleted:
        raise ApiError(404, "unknown_subscription", "Không tìm thấy thiết bị này trong danh sách thiết bị của tài khoản.",
                       "No such device among yours.")
    return JSONResponse({"deleted": True})


@requires("account.read_own")
async def list_notices(request: Request, user: User) -> JSONResponse:
    limit = int_param(request, "limit", 50, minimum=1, maximum=200)
    offset = int_param(request, "offset", 0, minimum=0, maximum=1_000_000)
    items = await Notification.filter(user_id=user.id).order_by("-created_at", "-id").offset(offset).limit(limit)
    unread = await Notification.filter(user_id=user.id, read_at__isnull=True).count()
    tried = await channels.deliveries_of([n.id for n in items])
    return JSONResponse({"items": [notice_json(n, tried.get(n.id)) for n in items], "unread": unread})


@requires("account.read_own")
async def get_channels(request: Request, user: User) -> JSONResponse:
    """The notice channels the province offers and those this person stopped."""
    return JSONResponse(channels.choices(user))


@requires("account.read_own")
async def put_channels(request: Request, user: User) -> JSONResponse:
    """{"stopped": ["sms", "zalo"]}: stop Zalo or SMS notices (push is stopped per device); [] allows them again."""
    body = await read_json_object(request)
    stopped = body.get("stopped")
    if not isinstance(stopped, list) or not all(isinstance(item, str) for item in stopped) or len(stopped) > 5:
        raise _bad("invalid_channels", "Danh sách kênh ngừng nhận (stopped) phải là danh sách, ví dụ [\"sms\"].",
                   "stopped must be a list of channel names, e.g. [\"sms\"].", "stopped")
    unknown = [item for item in stopped if item not in channels.PAID]
    if unknown:
        raise _bad("invalid_channels", f"Chỉ ngừng được tin nhắn SMS (sms) hoặc Zalo (zalo), không có kênh “{unknown[0][:20]}”. "
                   "Thông báo trên ứng dụng được tắt trong mục Thiết bị.",
                   f"Only sms and zalo can be stopped, not {unknown[0][:20]!r}; push is turned off per device.", "stopped")
    await channels.set_stopped(user, set(stopped))
    return JSONResponse(channels.choices(user))


@requires("account.read_own")
async def read_notice(request: Request, user: User) -> JSONResponse:
    notice = await Notification.get_or_none(id=_id(request), user_id=user.id)
    if notice is None:
        raise ApiError(404, "unknown_notice", "Không tìm thấy thông báo này.", "No such notice.")
    if notice.read_at is None:
        notice.read_at = datetime.now(timezone.utc)
        await Notification.filter(id=notice.id, read_at__isnull=True).update(read_at=notice.read_at)
    return JSONResponse(notice_json(notice))


api_routes = [  # under /api
    Route("/push/key", get_key, methods=["GET"]),
    Route("/push/subscriptions", post_subscription, methods=["POST"]),
    Route("/push/subscriptions", list_subscriptions, methods=["GET"]),
    Route("/push/subscriptions/{id}", delete_subscription, methods=["DELETE"]),
    Route("/notices", list_notices, methods=["GET"]),
    Route("/account/channels", get_channels, methods=["GET"]),
    Route("/account/channels", put_channels, methods=["PUT"]),
    Route("/notices/{id}/read", read_notice, methods=["POST"]),
]
