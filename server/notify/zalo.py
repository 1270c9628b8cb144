"""Zalo Notification Service (ZNS) template messages from the province's Official Account (docs/push.md "Channels").

`POST {ZALO_API_URL}/message/template` with the header `access_token` and the JSON
`{phone: "84…", template_id, template_data, tracking_id}`; Zalo answers HTTP 200 with `{error, message, data}`:
`error` 0 and `data.msg_id` when it took the message, a negative code when not. The codes acted on here (from Zalo's
published list as integrators quote it; verify against the OA's own documentation): -124 the access token is
invalid or expired, -118 the number has no Zalo account, -115 the OA's ZNS quota is used up, -108 the number is
malformed. None of these gets better by trying the same message again soon, so each fails this channel and the
notice falls to the next one (after -124, server/notify/zalo_tokens.py first renews the token and tries once more);
HTTP 429/5xx and network errors are retried with backoff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from server.config import ZaloSettings

SENT, RETRY, FAILED = "sent", "retry", "failed"
KNOWN_ERRORS = {-124: "invalid access token", -118: "the phone number has no Zalo account",
                -115: "ZNS quota used up", -108: "invalid phone number"}
PARAM_LIMIT = 400  # a template parameter's length cap (ZNS refuses longer values)


@dataclass(frozen=True)
class Sent:
    result: str  # SENT | RETRY | FAILED
    message_id: str = ""
    error: str = ""
    code: int | None = None  # Zalo's error code when it refused the message


def zalo_phone(phone: str) -> str:
    """0912345678 → 84912345678, the form ZNS takes."""
    return "84" + phone[1:] if phone.startswith("0") else phone.lstrip("+")


def request_body(settings: ZaloSettings, *, phone: str, kind: str, title: str, body: str, code: str,
                 tracking_id: str) -> dict[str, object]:
    """The template's parameters: the notice's title, its text and the dossier's code (the template names them
    `tieu_de`, `noi_dung`, `ma_ho_so`; docs/operations.md "Zalo Official Account")."""
    return {"phone": zalo_phone(phone), "template_id": settings.templates.get(kind, settings.template_id),
            "template_data": {"tieu_de": title[:PARAM_LIMIT], "noi_dung": body[:PARAM_LIMIT],
                              "ma_ho_so": code[:PARAM_LIMIT]},
            "tracking_id": tracking_id[:48]}


async def send(client: httpx.AsyncClient, settings: ZaloSettings, body: dict[str, object],
               access_token: str | None = None) -> Sent:
    """Send one template message with this access token (the current one from server/notify/zalo_tokens.py)."""
    token = settings.access_token if access_token is None else access_token
    try:
        response = await client.post(settings.api_url + "/message/template", json=body,
                                     headers={"access_token": token})
    except httpx.HTTPError as error:
        return Sent(RETRY, error=f"Zalo unreachable: {type(error).__name__}: {error}"[:300])
    if response.status_code == 429 or response.status_code >= 500:
        return Sent(RETRY, error=f"Zalo answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except (json.JSONDecodeError, ValueError):
        return Sent(RETRY, error=f"Zalo answered HTTP {response.status_code} without JSON")
    if not isinstance(answer, dict):
        return Sent(FAILED, error="Zalo answered something other than a JSON object")
    code = answer.get("error")
    if code == 0:
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        return Sent(SENT, message_id=str((data or {}).get("msg_id", "")))
    reason = KNOWN_ERRORS.get(code, str(answer.get("message", ""))) if isinstance(code, int) else "malformed answer"
    return Sent(FAILED, error=f"Zalo error {code}: {reason}"[:300], code=code if isinstance(code, int) else None)
