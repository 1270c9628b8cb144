"""One push message: the JSON the service worker shows, encrypted (RFC 8291, aes128gcm) by the webpush package.

Push services refuse bodies over 4096 bytes. The encrypted body is the plaintext plus 103 bytes (salt,
record size, the sender's key, the padding delimiter and the AEAD tag), so the JSON is kept to
MAX_PLAINTEXT bytes by shortening the body text, never by dropping the title or the link.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from webpush import WebPush
from webpush.types import WebPushKeys, WebPushSubscription

from server.notify.push.vapid import VapidSigner

MAX_BODY = 4096  # what push services accept (RFC 8291 §4: one record of at most 4096 bytes)
OVERHEAD = 16 + 4 + 1 + 65 + 1 + 16
MAX_PLAINTEXT = MAX_BODY - OVERHEAD
URGENCIES = ("very-low", "low", "normal", "high")
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # RFC 8030 §5.4: at most 32 characters of base64url


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    url: str
    tag: str  # the topic, reused as the notification tag so a newer notice replaces an older one on screen too
    ttl: int
    urgency: str = "normal"


@dataclass(frozen=True)
class PushRequest:
    endpoint: str
    body: bytes
    headers: dict[str, str]


def payload(notice: Notice) -> bytes:
    """The JSON the service worker reads, shortened to fit: the body text gives way first."""
    def encode(body: str) -> bytes:
        return json.dumps({"title": notice.title, "body": body, "url": notice.url, "tag": notice.tag},
                          ensure_ascii=False, separators=(",", ":")).encode()

    data = encode(notice.body)
    body = notice.body
    while len(data) > MAX_PLAINTEXT and body:
        # Cut by the excess in characters (a Vietnamese letter is 1–3 bytes, so this converges in a few steps).
        body = body[: max(0, len(body) - max(1, (len(data) - MAX_PLAINTEXT) // 3 + 1) - 1)]
        data = encode(body + "…" if body else "")
    if len(data) > MAX_PLAINTEXT:
        raise ValueError("push notice too large even without its body")
    return data


class MessageBuilder:
    """Encrypts for one subscription with the webpush package; the VAPID header comes from VapidSigner."""

    def __init__(self, signer: VapidSigner) -> None:
        self.signer = signer
        # WebPush wants the key pair for its own VAPID header, which is not used (see vapid.py).
        self._webpush = WebPush(private_key=signer.private_pem, public_key=signer.public_pem,
                                subscriber="unused@motcua.local")

    def build(self, notice: Notice, endpoint: str, p256dh: str, auth: str) -> PushRequest:
        if notice.urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}")
        if not TOPIC.match(notice.tag):
            raise ValueError("topic must be 1–32 characters of the base64url alphabet")
        subscription = WebPushSubscription(endpoint=endpoint, keys=WebPushKeys(p256dh=p256dh, auth=auth))
        body = self._webpush._encrypt(payload(notice), subscription)  # RFC 8291 aes128gcm, one record
        assert len(body) <= MAX_BODY
        return PushRequest(endpoint, body, {
            "Authorization": self.signer.header(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(notice.ttl),
            "Urgency": notice.urgency,
            "Topic": notice.tag,
        })

