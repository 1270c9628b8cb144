"""A Web Push service for tests: a real HTTP server on loopback that checks what a push service checks.

For each request it verifies the VAPID header (RFC 8292: the ES256 signature against the key in `k`,
`aud` = this service's origin, `exp` in the future and within 24 hours, `sub` a mailto: or https: contact),
then decrypts the aes128gcm body (RFC 8291) with the private key of the subscription the test made, and
keeps what it found. Each subscription can be told what to answer next (201, 404, 410, 429, 500…).
"""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, private_key: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """RFC 8291 §3–4 and RFC 8188: one aes128gcm record, as the browser decrypts it."""
    salt, record_size, id_length = body[:16], struct.unpack("!L", body[16:20])[0], body[20]
    sender_key = body[21:21 + id_length]
    ciphertext = body[21 + id_length:]
    if id_length != 65 or len(ciphertext) > record_size:
        raise ValueError("bad aes128gcm header")
    receiver_key = private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                         serialization.PublicFormat.UncompressedPoint)
    shared = private_key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_key))
    ikm = _hkdf(auth, shared, b"WebPush: info\x00" + receiver_key + sender_key, 32)
    key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    padded = AESGCM(key).decrypt(nonce, ciphertext, None)
    stripped = padded.rstrip(b"\x00")
    if not stripped.endswith(b"\x02"):  # the last record's delimiter
        raise ValueError("bad padding delimiter")
    return stripped[:-1]


class _Server(ThreadingHTTPServer):
    # Workers open dozens of connections at once; the default backlog of 5 drops SYNs and costs 1 s retries.
    request_queue_size = 512


@dataclass
class Subscription:
    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # what to answer next, in order

    def to_json(self) -> dict:
        """As the browser's PushSubscription.toJSON() gives it."""
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}


@dataclass
class Received:
    token: str
    status: int  # what the service answered
    headers: dict[str, str]
    body_length: int
    claims: dict | None = None
    payload: dict | None = None
    error: str = ""
    at: float = 0.0


class PushService:
    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real push services do

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status, extra = service.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "PushService":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self, *answers: int | tuple[int, dict[str, str]]) -> Subscription:
        """A new subscription with its own keys; `answers` are the statuses its next requests get (then 201)."""
        token = b64url(os.urandom(12))
        subscription = Subscription(token, f"{self.origin}/push/{token}", ec.generate_private_key(ec.SECP256R1()),
                                    os.urandom(16), [a if isinstance(a, tuple) else (a, {}) for a in answers])
        with self.lock:
            self.subscriptions[token] = subscription
        return subscription

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        token = path.rsplit("/", 1)[-1]
        record = Received(token, 201, headers, len(body), at=time.time())
        subscription = self.subscriptions.get(token)
        answer: tuple[int, dict[str, str]] = (201, {})
        try:
            if subscription is None:
                answer = (404, {})
                raise ValueError("unknown subscription")
            record.claims = self.verify_vapid(headers.get("authorization", ""))
            if headers.get("content-encoding") != "aes128gcm":
                raise ValueError("content-encoding is not aes128gcm")
            if len(body) > 4096:
                answer = (413, {})
                raise ValueError("body over 4096 bytes")
            record.payload = json.loads(decrypt(body, subscription.private_key, subscription.auth))
            with self.lock:
                if subscription.answers:
                    answer = subscription.answers.pop(0)
        except Exception as error:  # recorded for the test to see; the sender gets a 4xx like a real service's
            record.error = f"{type(error).__name__}: {error}"
            if answer[0] == 201:
                answer = (400, {})
        record.status = answer[0]
        with self.changed:
            self.received.append(record)
            self.changed.notify_all()
        return answer

    def verify_vapid(self, header: str) -> dict:
        if not header.startswith("vapid "):
            raise ValueError("no vapid authorization")
        parts = dict(part.strip().split("=", 1) for part in header[len("vapid "):].split(","))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        claims = jwt.decode(parts["t"], public, algorithms=["ES256"], audience=self.origin,
                            options={"require": ["aud", "exp", "sub"]})
        if claims["exp"] > time.time() + 24 * 3600:
            raise ValueError("exp more than 24 hours ahead")
        if not str(claims["sub"]).startswith(("mailto:", "https://")):
            raise ValueError("sub is not a mailto: or https: contact")
        claims["k"] = parts["k"]
        return claims

    def wait_for(self, predicate, timeout: float = 30.0) -> list[Received]:
        """Block until predicate(received) is true (a condition, not a fixed sleep); returns the requests."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"push service: condition not met in {timeout} s; got {self.received!r}")
                self.changed.wait(left)
            return list(self.received)

    def for_token(self, token: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.token == token]
