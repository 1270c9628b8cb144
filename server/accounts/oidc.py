"""Signing in with the province's OpenID Connect identity provider (the national single sign-on, VNeID).

Authorization code flow with PKCE (S256): /auth/oidc/start keeps a random state, nonce and code verifier in a
short-lived signed cookie and sends the browser to the provider; /auth/oidc/callback checks the state, exchanges
the code at the token endpoint with the client secret, and verifies the ID token with authlib: its signature
against the provider's published keys (JWKS, from the discovery document, cached; fetched again once when a token
names a key we do not know, so the provider can rotate its keys), and its iss, aud, exp, iat and nonce.

The account is found by the personal identification number (số định danh cá nhân, 12 digits) the provider
asserts, kept in users.cccd: OIDC_PERSONAL_ID_CLAIM names the claim; by default `sub` when it is 12 digits,
else `personal_id`. A number nobody has yet makes a citizen account with the asserted name and phone.

Every failure is an ApiError with a Vietnamese message that says what to do (sign in again); never a 500.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import warnings

import httpx

# authlib 1.9 announces on import that authlib.jose and its httpx client move elsewhere in 2.0; pyproject.toml keeps
# authlib < 2, where both still work. Without this every `motcua` command would print the notice to stderr.
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401 - it sets "always" for its warnings on import: ours must come after
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import (BadSignatureError, DecodeError, ExpiredTokenError, InvalidClaimError,
                                     InvalidTokenError, JoseError, MissingClaimError)
    from authlib.oauth2.rfc7636 import create_s256_code_challenge
    from authlib.common.errors import AuthlibBaseError
from itsdangerous import BadData, URLSafeTimedSerializer
from tortoise.exceptions import IntegrityError

from server.accounts.users import is_personal_id
from server.config import OidcSettings
from server.models import CITIZEN, User
from server.vietnamese import fold, nfc, normalize_phone
from server.web.errors import ApiError

FLOW_COOKIE = "motcua_oidc_flow"
ID_TOKEN_COOKIE = "motcua_oidc_id"  # kept for the provider's sign-out (id_token_hint); sent only to /auth/oidc
COOKIE_PATH = "/auth/oidc"
FLOW_MAX_AGE = 600  # ten minutes to sign in at the provider
METADATA_MAX_AGE = 3600
LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
# A citizen signed in by the provider whose phone is unknown or already another account's gets this in place of a
# phone: "#" and the personal id, which no phone number normalises to, so nobody can sign in with it by password.
NO_PHONE_PREFIX = "#"
UNUSABLE_PASSWORD = "!"  # verify_password refuses it: the account signs in only through the provider
TRY_AGAIN = "Vui lòng bấm “Đăng nhập bằng VNeID / tài khoản định danh” để đăng nhập lại."
TRY_AGAIN_EN = "Please sign in with VNeID again."


def failure(status: int, code: str, message: str, message_en: str) -> ApiError:
    return ApiError(status, code, message, message_en)


def refused(code: str, what: str, what_en: str) -> ApiError:
    return failure(400, code, f"{what} {TRY_AGAIN}", f"{what_en} {TRY_AGAIN_EN}")


def not_configured() -> ApiError:
    return failure(404, "oidc_off", "Đăng nhập bằng VNeID / tài khoản định danh chưa được bật ở đây. "
                   "Hãy đăng nhập bằng số điện thoại và mật khẩu.",
                   "Sign-in with VNeID is not enabled here. Sign in with your phone number and password.")


def provider_unavailable() -> ApiError:
    return failure(502, "oidc_unavailable", "Không kết nối được với hệ thống định danh. Vui lòng thử lại sau ít phút.",
                   "The identity provider cannot be reached. Try again in a few minutes.")


# -- the provider's discovery document and keys, cached per issuer ----------------------------------------------

@dataclass
class _Provider:
    metadata: dict[str, Any]
    fetched_at: float
    jwks: dict[str, Any] | None = None


_providers: dict[str, _Provider] = {}


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url, headers={"accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError):
        raise provider_unavailable() from None
    if not isinstance(body, dict):
        raise provider_unavailable()
    return body


async def provider_metadata(settings: OidcSettings) -> dict[str, Any]:
    known = _providers.get(settings.issuer)
    if known and time.monotonic() - known.fetched_at < METADATA_MAX_AGE:
        return known.metadata
    metadata = await _get_json(settings.issuer.rstrip("/") + "/.well-known/openid-configuration")
    if metadata.get("issuer") != settings.issuer or not all(
            isinstance(metadata.get(name), str) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
        raise failure(502, "oidc_misconfigured", "Hệ thống định danh trả lời không đúng chuẩn (sai địa chỉ nhà cung cấp). "
                      "Vui lòng báo cho bộ phận quản trị.", "The identity provider's discovery document does not match "
                      "OIDC_ISSUER. Tell the administrators.")
    _providers[settings.issuer] = _Provider(metadata=metadata, fetched_at=time.monotonic(),
                                            jwks=known.jwks if known else None)
    return metadata


async def _keys(settings: OidcSettings, kid: str | None) -> dict[str, Any]:
    """The provider's published keys; fetched again once when the token names a key not among the cached ones."""
    metadata = await provider_metadata(settings)
    entry = _providers[settings.issuer]
    if entry.jwks is not None and (kid is None or any(key.get("kid") == kid for key in entry.jwks.get("keys", []))):
        return entry.jwks
    entry.jwks = await _get_json(metadata["jwks_uri"])
    return entry.jwks


def forget_provider_keys() -> None:
    _providers.clear()


# -- the flow ------------------------------------------------------------------------------------------------

def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="motcua-oidc-flow")


def redirect_uri(base_url: str) -> str:
    return base_url.rstrip("/") + "/auth/oidc/callback"


async def start(settings: OidcSettings, secret_key: str, base_url: str, next_url: str) -> tuple[str, str]:
    """The provider's authorization URL and the signed flow cookie's value."""
    metadata = await provider_metadata(settings)
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    async with AsyncOAuth2Client(settings.client_id, settings.client_secret, scope=settings.scope,
                                 redirect_uri=redirect_uri(base_url), code_challenge_method="S256") as client:
        url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state, nonce=nonce,
                                                 code_verifier=verifier)
    cookie = _serializer(secret_key).dumps({"state": state, "nonce": nonce, "verifier": verifier, "next": next_url})
    assert create_s256_code_challenge(verifier) in url  # PKCE S256, not plain
    return url, cookie


def read_flow(secret_key: str, cookie: str | None, state: str | None) -> dict[str, str]:
    if not cookie:
        raise refused("oidc_no_flow", "Không tìm thấy lượt đăng nhập đang dở (có thể trình duyệt đã chặn cookie "
                      "hoặc Ông/Bà mở liên kết ở trình duyệt khác).", "No sign-in in progress was found.")
    try:
        flow = _serializer(secret_key).loads(cookie, max_age=FLOW_MAX_AGE)
    except BadData:
        raise refused("oidc_flow_expired", "Lượt đăng nhập đã quá 10 phút hoặc không hợp lệ.",
                      "The sign-in took more than 10 minutes or is not valid.") from None
    if not isinstance(flow, dict) or not isinstance(state, str) or not hmac.compare_digest(
            state.encode(), str(flow.get("state", "")).encode()):
        raise refused("oidc_wrong_state", "Lượt đăng nhập không khớp (mã state sai), có thể do một trang khác "
                      "gửi tới.", "The sign-in does not match (wrong state).")
    return flow


async def exchange_code(settings: OidcSettings, base_url: str, code: str, verifier: str) -> dict[str, Any]:
    metadata = await provider_metadata(settings)
    try:
        async with AsyncOAuth2Client(settings.client_id, settings.client_secret, timeout=10,
                                     token_endpoint_auth_method="client_secret_basic") as client:
            token = await client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code", code=code,
                                             redirect_uri=redirect_uri(base_url), code_verifier=verifier)
    except httpx.HTTPError:
        raise provider_unavailable() from None
    except (AuthlibBaseError, ValueError):
        raise refused("oidc_code_refused", "Hệ thống định danh không chấp nhận mã đăng nhập (có thể đã dùng "
                      "hoặc đã hết hạn).", "The identity provider refused the sign-in code.") from None
    if not isinstance(token.get("id_token"), str):
        raise refused("oidc_no_id_token", "Hệ thống định danh không gửi thông tin đăng nhập (ID token).",
                      "The identity provider sent no ID token.")
    return dict(token)


def _header(token: str) -> dict[str, Any]:
    try:
        encoded = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, IndexError):
        header = None
    if not isinstance(header, dict):
        raise refused("oidc_token_invalid", "Thông tin đăng nhập (ID token) không đọc được.", "The ID token is unreadable.")
    return header


async def verify_id_token(settings: OidcSettings, id_token: str, nonce: str) -> dict[str, Any]:
    header = _header(id_token)
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    alg = header.get("alg")
    if alg in (None, "none") or not isinstance(alg, str) or alg.startswith("HS"):
        raise refused("oidc_token_invalid", "Thông tin đăng nhập (ID token) không được ký đúng cách.",
                      "The ID token is not signed with the provider's key.")
    jwks = await _keys(settings, kid)
    if kid is not None and not any(key.get("kid") == kid for key in jwks.get("keys", [])):
        raise refused("oidc_unknown_key", "Thông tin đăng nhập được ký bằng một khoá mà hệ thống định danh không "
                      "công bố, nên không thể tin được.", "The ID token is signed with a key the provider does not publish.")
    options = {"iss": {"essential": True, "value": settings.issuer},
               "aud": {"essential": True, "value": settings.client_id},
               "exp": {"essential": True}, "iat": {"essential": True},
               "nonce": {"essential": True, "value": nonce}}
    try:
        claims = JsonWebToken([alg]).decode(id_token, JsonWebKey.import_key_set(jwks), claims_options=options)
        claims.validate(leeway=LEEWAY)
    except BadSignatureError:
        raise refused("oidc_bad_signature", "Chữ ký của thông tin đăng nhập (ID token) không đúng: thông tin có thể "
                      "đã bị sửa trên đường đi.", "The ID token's signature is wrong: it may have been tampered with.") from None
    except ExpiredTokenError:
        raise refused("oidc_expired", "Thông tin đăng nhập (ID token) đã hết hạn.", "The ID token has expired.") from None
    except InvalidTokenError:
        raise refused("oidc_not_yet_valid", "Thông tin đăng nhập có thời điểm phát hành ở tương lai (đồng hồ lệch?).",
                      "The ID token was issued in the future (clock skew?).") from None
    except (InvalidClaimError, MissingClaimError) as error:
        if error.claim_name == "nonce":
            raise refused("oidc_wrong_nonce", "Thông tin đăng nhập không thuộc về lượt đăng nhập này (mã nonce sai).",
                          "The ID token belongs to another sign-in (wrong nonce).") from None
        raise refused("oidc_wrong_claims", f"Thông tin đăng nhập không dành cho cổng này (trường {error.claim_name} sai).",
                      f"The ID token is not meant for this site ({error.claim_name}).") from None
    except (DecodeError, JoseError, ValueError):
        raise refused("oidc_token_invalid", "Thông tin đăng nhập (ID token) không hợp lệ.", "The ID token is not valid.") from None
    if isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1 and claims.get("azp") != settings.client_id:
        raise refused("oidc_wrong_claims", "Thông tin đăng nhập không dành cho cổng này (trường azp sai).",
                      "The ID token is not meant for this site (azp).")
    return dict(claims)


async def userinfo(settings: OidcSettings, access_token: str | None, subject: object) -> dict[str, Any]:
    """The userinfo endpoint's claims, for providers that put only `sub` in the ID token; {} when none."""
    endpoint = (await provider_metadata(settings)).get("userinfo_endpoint")
    if not access_token or not isinstance(endpoint, str):
        return {}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(endpoint, headers={"authorization": f"Bearer {access_token}"})
        body = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}
    return body if isinstance(body, dict) and body.get("sub") == subject else {}


def personal_id(settings: OidcSettings, claims: dict[str, Any]) -> str | None:
    if settings.personal_id_claim:
        value = claims.get(settings.personal_id_claim)
    elif isinstance(claims.get("sub"), str) and is_personal_id(claims["sub"]):
        value = claims["sub"]
    else:
        value = claims.get("personal_id")
    value = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    return value if value and is_personal_id(value) else None


async def account_for(settings: OidcSettings, claims: dict[str, Any]) -> User:
    number = personal_id(settings, claims)
    if number is None:
        raise failure(400, "oidc_no_personal_id", "Hệ thống định danh không cho biết số định danh cá nhân (12 chữ số) "
                      "của Ông/Bà, nên không thể đăng nhập. Hãy đăng nhập bằng số điện thoại và mật khẩu, hoặc báo bộ "
                      "phận quản trị.", "The identity provider did not assert a 12-digit personal identification "
                      "number. Sign in with your phone number and password.")
    existing = await User.filter(cccd=number).select_related("unit").first()  # users.cccd is unique (0009)
    if existing is not None:
        return existing
    raw_name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    name = nfc(" ".join(str(raw_name).split()))[:100] or f"Công dân {number[-4:]}"
    phone = normalize_phone(claims["phone_number"]) if isinstance(claims.get("phone_number"), str) else None
    if phone is None or await User.filter(phone=phone).exists():
        phone = NO_PHONE_PREFIX + number
    try:
        return await User.create(phone=phone, full_name=name, full_name_folded=fold(name), cccd=number,
                                 password_hash=UNUSABLE_PASSWORD, role=CITIZEN)
    except IntegrityError:  # another sign-in with the same number (or phone) made its account a moment ago
        user = await User.filter(cccd=number).select_related("unit").first()
        if user is None:
            raise refused("oidc_busy", "Tài khoản đang được tạo.", "The account is being created.") from None
        return user


async def end_session_url(settings: OidcSettings, id_token: str | None, after: str) -> str | None:
    """The provider's sign-out address (RP-initiated logout), when it publishes one and we hold the ID token."""
    if not id_token:
        return None
    try:
        endpoint = (await provider_metadata(settings)).get("end_session_endpoint")
    except ApiError:
        return None  # the provider is unreachable: the local sign-out is done all the same
    if not isinstance(endpoint, str):
        return None
    query = httpx.QueryParams({"id_token_hint": id_token, "post_logout_redirect_uri": after,
                               "client_id": settings.client_id})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
