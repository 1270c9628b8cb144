"""The VAPID header (RFC 8292): a signed JWT saying which server sends, for the push service's origin.

The webpush package signs its own JWT, but with an audience that drops the port and a subject that
always gets "mailto:" put in front; a push service checks both, so the token is made here, once per
push service origin and reused until it nears its expiry (one ES256 signature per origin, not per message).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import jwt
from webpush.vapid import VAPID

TOKEN_LIFETIME = 12 * 60 * 60  # RFC 8292 allows at most 24 h; half leaves room for clock skew
RENEW_BEFORE = 60 * 60


def audience(endpoint: str) -> str:
    """The origin of the push service: scheme, host and a non-default port."""
    parts = urlsplit(endpoint)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


class VapidSigner:
    def __init__(self, private_pem: bytes, public_pem: bytes, subject: str) -> None:
        self._vapid = VAPID(private_key=private_pem, public_key=public_pem)
        self.private_pem, self.public_pem = private_pem, public_pem
        self.subject = subject
        self.public_key = VAPID.get_application_server_key(self._vapid.public_key)  # applicationServerKey
        self._tokens: dict[str, tuple[str, float]] = {}

    def header(self, endpoint: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        aud = audience(endpoint)
        cached = self._tokens.get(aud)
        if cached is None or cached[1] - now < RENEW_BEFORE:
            expires = int(now) + TOKEN_LIFETIME
            token = jwt.encode({"aud": aud, "exp": expires, "sub": self.subject}, self.private_pem, algorithm="ES256")
            cached = (token, expires)
            self._tokens[aud] = cached
        return f"vapid t={cached[0]}, k={self.public_key}"
