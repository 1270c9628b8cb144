"""The Zalo Official Account's access token, renewed before it expires (docs/push.md "Zalo's access token").

An OA access token lives about 25 hours (`expires_in` 90000 s). It is renewed with Zalo's OAuth v4 for Official
Accounts: `POST https://oauth.zaloapp.com/v4/oa/access_token` (ZALO_OAUTH_URL) with the header `secret_key: <the
app's secret key>` and the form body `refresh_token=…&app_id=…&grant_type=refresh_token`; Zalo answers JSON
`{"access_token", "refresh_token", "expires_in": "90000"}` (expires_in a string of seconds) or, when it refuses,
`{"error": <negative code>, "error_name"/"error_description"/"message"}` (-14014 "Invalid refresh token" for a
consumed or expired one). That is the shape integrators' code uses against Zalo (public clients post exactly this
form with the `secret_key` header and read a string `expires_in`); no official page was at hand to cite, so check
it against the OA's own documentation (developers.zalo.me, "Official Account API: Access Token").

The refresh token is SINGLE-USE: each renewal answers with the next one (valid about 3 months) and the used one is
dead. Several instances and workers send, so the pair lives in the database (`zalo_tokens`, one row, seeded from
ZALO_ACCESS_TOKEN / ZALO_REFRESH_TOKEN) and a renewal holds the row's lock (PostgreSQL `SELECT … FOR UPDATE`; SQLite
transactions here are BEGIN IMMEDIATE) from reading the refresh token until the new pair is written in that same
transaction. Whoever waited on the lock reads the row again and takes the pair the first one wrote instead of
spending a dead refresh token. The lock is held across the HTTP call to Zalo on purpose (at most the client's
timeout, about once a day): releasing it in between would let a second process spend the same refresh token.

Renewal happens when the token expires within RENEW_BEFORE, or after ZNS answered -124 (the message is then tried
once more with the new token). A refused renewal is logged as an error with Zalo's answer and the message fails
over to the next channel as before. If Zalo answered with a new pair but writing it failed, the new refresh token
exists only in this process: that is logged CRITICAL with its last four characters, and the OA must be authorised
again (docs/operations.md "Zalo Official Account") unless the token is recovered.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.config import ZaloSettings
from server.models import ZaloToken
from server.notify import zalo
from server.notify.outbox import now_utc

log = logging.getLogger("motcua.zalo")

ROW = 1
RENEW_BEFORE = timedelta(hours=1)
EXPIRED = -124  # ZNS: the access token is invalid or expired
DEFAULT_LIFETIME = 90000  # seconds, when Zalo's answer has no readable expires_in


def fingerprint(refresh_token: str) -> str:
    """Which ZALO_REFRESH_TOKEN the row was seeded from (a hash: the token itself stays out of the column)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()


async def _row(settings: ZaloSettings) -> ZaloToken:
    """The current pair; seeded from the settings the first time, and again when the settings carry another refresh
    token than the one the row was seeded from (the OA was authorised again, the old chain is dead)."""
    seed = fingerprint(settings.refresh_token)
    row = await ZaloToken.get_or_none(id=ROW)
    if row is not None and row.seed == seed:
        return row
    if row is None:
        try:
            return await ZaloToken.create(id=ROW, access_token=settings.access_token,
                                          refresh_token=settings.refresh_token, expires_at=None, seed=seed,
                                          updated_at=now_utc())
        except IntegrityError:
            pass  # another process seeded it at the same moment
    async with in_transaction():
        row = await ZaloToken.select_for_update().get(id=ROW)
        if row.seed != seed:
            log.warning("Zalo: ZALO_REFRESH_TOKEN changed; the stored token pair is replaced by the settings' one")
            row.access_token, row.refresh_token, row.expires_at = settings.access_token, settings.refresh_token, None
            row.seed, row.updated_at = seed, now_utc()
            await row.save()
    return row


def _fresh(row: ZaloToken, now: datetime) -> bool:
    """Whether this access token can be used without renewing: an expiry not known (a token given by hand) counts
    as fresh until ZNS says -124."""
    return bool(row.access_token) and (row.expires_at is None or row.expires_at - now > RENEW_BEFORE)


async def current_token(client: httpx.AsyncClient, settings: ZaloSettings) -> str:
    """The access token to send with, renewed first when it expires within RENEW_BEFORE."""
    if not settings.renewable:
        return settings.access_token
    row = await _row(settings)
    if _fresh(row, now_utc()):
        return row.access_token
    renewed = await renew(client, settings, stale=row.access_token)
    # A refused renewal was logged; the old token may still serve its last minutes.
    return renewed or row.access_token


async def _ask_zalo(client: httpx.AsyncClient, settings: ZaloSettings,
                    refresh_token: str) -> tuple[str, str, int] | str:
    """Zalo's new (access token, refresh token, lifetime in seconds), or why there is none."""
    try:
        response = await client.post(settings.oauth_url, headers={"secret_key": settings.app_secret},
                                     data={"refresh_token": refresh_token, "app_id": settings.app_id,
                                           "grant_type": "refresh_token"})
    except httpx.HTTPError as error:
        return f"Zalo's OAuth unreachable: {type(error).__name__}: {error}"[:300]
    try:
        answer = response.json()
    except (json.JSONDecodeError, ValueError):
        return f"Zalo's OAuth answered HTTP {response.status_code} without JSON"
    if not isinstance(answer, dict):
        return "Zalo's OAuth answered something other than a JSON object"
    access, refresh = answer.get("access_token"), answer.get("refresh_token")
    if isinstance(access, str) and access and isinstance(refresh, str) and refresh:
        try:
            lifetime = int(str(answer.get("expires_in", DEFAULT_LIFETIME)))
        except ValueError:
            lifetime = DEFAULT_LIFETIME
        return access, refresh, max(0, lifetime)
    reason = answer.get("error_name") or answer.get("error_description") or answer.get("message") or ""
    return f"Zalo's OAuth error {answer.get('error')}: {reason} (HTTP {response.status_code})"[:300]


async def renew(client: httpx.AsyncClient, settings: ZaloSettings, *, stale: str) -> str | None:
    """Renew the pair unless another process already replaced the `stale` access token; the access token to use
    now, or None when Zalo refused (logged)."""
    if not settings.renewable:
        return None
    issued: tuple[str, str, int] | None = None
    try:
        async with in_transaction():
            row = await ZaloToken.select_for_update().get(id=ROW)
            now = now_utc()
            if row.access_token != stale and _fresh(row, now):
                return row.access_token  # renewed by another process while this one waited for the lock
            answer = await _ask_zalo(client, settings, row.refresh_token)
            if isinstance(answer, str):
                log.error("Zalo: renewing the OA access token failed: %s; Zalo notices fall to the next channel "
                          "until it is renewed (the refresh token ending …%s is kept)", answer, row.refresh_token[-4:])
                return None
            issued = answer
            row.access_token, row.refresh_token = answer[0], answer[1]
            row.expires_at, row.updated_at = now + timedelta(seconds=answer[2]), now
            await row.save()
    except Exception:
        if issued is None:
            raise
        # Zalo consumed the old refresh token and the new one did not reach the database: say so as loudly as we can.
        log.critical("Zalo: the renewed token pair could NOT be stored; the new refresh token (ending …%s) exists only "
                     "in this process's memory and the stored one is spent. Set ZALO_REFRESH_TOKEN to a new one "
                     "(docs/operations.md \"Zalo Official Account\")", issued[1][-4:], exc_info=True)
        return issued[0]
    log.info("Zalo: the OA access token was renewed (valid %d s; refresh token now ending …%s)", issued[2],
             issued[1][-4:])
    return issued[0]


async def send(client: httpx.AsyncClient, settings: ZaloSettings, body: dict[str, object]) -> zalo.Sent:
    """zalo.send with the current token; after -124, one renewal and one more try."""
    try:
        token = await current_token(client, settings)
    except Exception:
        log.exception("Zalo: reading the stored access token failed; sending with ZALO_ACCESS_TOKEN")
        token = settings.access_token
    sent = await zalo.send(client, settings, body, token)
    if sent.code != EXPIRED or not settings.renewable:
        return sent
    try:
        renewed = await renew(client, settings, stale=token)
    except Exception:
        log.exception("Zalo: renewing the access token after -124 failed")
        return sent
    if renewed is None or renewed == token:
        return sent
    return await zalo.send(client, settings, body, renewed)
