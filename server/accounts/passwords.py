"""Password hashing with scrypt (hashlib, no extra dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# Cost chosen so one check takes about 50 ms on a small server core: slow for guessing, fine for sign-in.
N, R, P = 2**14, 8, 1
MIN_LENGTH = 8
MAX_LENGTH = 200


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        actual = hashlib.scrypt(password.encode(), salt=base64.urlsafe_b64decode(salt + "=="),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def password_problem(password: str) -> str | None:
    """A Vietnamese sentence saying what is wrong with a new password, or None."""
    if len(password) < MIN_LENGTH:
        return f"Mật khẩu cần ít nhất {MIN_LENGTH} ký tự."
    if len(password) > MAX_LENGTH:
        return f"Mật khẩu dài quá {MAX_LENGTH} ký tự."
    return None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
