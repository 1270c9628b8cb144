"""Request rate limits per account, per device and per address, shared by every app instance.

Counted in the database (`RateWindow`), so two instances behind one proxy see the same counts. Each rule is a
fixed window aligned to the clock (a window of 60 s starts at :00), counted with one atomic upsert per request:
`INSERT … ON CONFLICT (key) DO UPDATE … RETURNING hits` (SQLite ≥ 3.35 and PostgreSQL).

Rural subscribers share one carrier address (CGNAT), so the per-address limits are far higher than the
per-account and per-device ones, and a request refused for its account or device is taken back from its
address's count: one person hammering cannot use up a commune's budget. IPv6 addresses count per /64, the
block a carrier gives one subscriber.

This is separate from server/accounts/throttle.py, which slows and locks *failed* sign-ins; here every attempt counts.

Operators may change a limit, or turn them all off for a benchmark, with MOTCUA_RATE_LIMITS
(docs/operations.md): `MOTCUA_RATE_LIMITS="sync.address=20000/60,signin.account=10/600"` or `off`.
"""

from __future__ import annotations

import ipaddress
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from starlette.requests import Request
from tortoise.expressions import CombinedExpression, F

from server.db.sql import Params
from server.web.errors import ApiError
from server.models import RateWindow
from server.accounts.sessions import CSRF_COOKIE
from server.vietnamese import normalize_phone

ACCOUNT, DEVICE, ADDRESS = "account", "device", "address"


@dataclass(frozen=True)
class Rule:
    hits: int  # allowed per window
    seconds: int  # window length


# action → scope → rule. A scope missing from a request (no device cookie yet) is simply not counted.
DEFAULT_LIMITS: dict[str, dict[str, Rule]] = {
    # Every sign-in attempt, right or wrong (throttle.py adds the slowing after failures).
    "signin": {ACCOUNT: Rule(20, 600), DEVICE: Rule(30, 600), ADDRESS: Rule(1000, 600)},
    # Creating accounts: a person needs one; a commune's registration day may bring a few hundred.
    "signup": {DEVICE: Rule(10, 3600), ADDRESS: Rule(500, 3600)},
    # Looking up a dossier by its code and the last digits of a phone or CCCD number (tra cứu hồ sơ): guessing
    # is the threat, so the "account" here is the dossier code looked up.
    "track": {ACCOUNT: Rule(10, 600), DEVICE: Rule(30, 60), ADDRESS: Rule(600, 60)},
    # Sync rounds: the app syncs when it regains a signal and every few minutes; a backlog takes a few rounds.
    "sync": {ACCOUNT: Rule(240, 60), DEVICE: Rule(120, 60), ADDRESS: Rule(12000, 60)},
    # Claiming a walk-in dossier by its code (server/dossiers/claims.py): each request sends an SMS, so few per
    # account an hour, and at most 3 codes an hour to one dossier's phone (the "account" of claim_dossier is the
    # dossier); entering the one-time code: few tries per account (each code also allows only 5).
    "claim": {ACCOUNT: Rule(5, 3600), DEVICE: Rule(10, 3600), ADDRESS: Rule(300, 3600)},
    "claim_dossier": {ACCOUNT: Rule(3, 3600)},
    "claim_confirm": {ACCOUNT: Rule(10, 600), DEVICE: Rule(20, 600), ADDRESS: Rule(600, 600)},
}

CLEANUP_CHANCE = 0.001  # now and then, delete ended windows so the table stays small
_limits: dict[str, dict[str, Rule]] | None = None


class RateLimitSettingError(ValueError):
    pass


def parse_limits(value: str | None) -> dict[str, dict[str, Rule]]:
    """DEFAULT_LIMITS changed by a MOTCUA_RATE_LIMITS value: `off`, or `action.scope=hits/seconds,…`."""
    limits = {action: dict(rules) for action, rules in DEFAULT_LIMITS.items()}
    value = (value or "").strip()
    if value.lower() in ("off", "0", "false", "none"):
        return {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            name, rule = item.split("=")
            action, scope = name.strip().split(".")
            hits, seconds = (int(number) for number in rule.split("/"))
        except ValueError:
            raise RateLimitSettingError(
                f"MOTCUA_RATE_LIMITS: cannot read {item!r}; write action.scope=hits/seconds, e.g. sync.device=120/60"
            ) from None
        if action not in DEFAULT_LIMITS or scope not in (ACCOUNT, DEVICE, ADDRESS) or hits < 1 or seconds < 1:
            raise RateLimitSettingError(
                f"MOTCUA_RATE_LIMITS: {item!r}: actions are {', '.join(DEFAULT_LIMITS)}; scopes account, device, "
                "address; hits and seconds at least 1"
            )
        limits[action][scope] = Rule(hits, seconds)
    return limits


def limits() -> dict[str, dict[str, Rule]]:
    """MOTCUA_RATE_LIMITS as read at start-up (server/config.py); tests may set `_limits` instead."""
    if _limits is not None:
        return _limits
    from server import config

    configured = config.current().rate_limits
    return DEFAULT_LIMITS if configured is None else configured


def address_key(host: str) -> str:
    """An IPv4 address as is; an IPv6 address by its /64 (one subscriber's block)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def device_of(request: Request) -> str | None:
    """A browser is known by its random CSRF cookie (set by GET /api/session or any page)."""
    value = request.cookies.get(CSRF_COOKIE)
    return value[:64] if value else None


def client_host(request: Request) -> str:
    # uvicorn's proxy_headers puts the X-Forwarded-For client here when the proxy is trusted (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "unknown"


async def check_sign_in(request: Request, phone_raw: object) -> None:
    phone = normalize_phone(phone_raw) if isinstance(phone_raw, str) else None
    await check(request, "signin", account=phone)


async def check(request: Request, action: str, *, account: object = None, device: object = None) -> None:
    """Count this request for `action`; raise 429 with Retry-After when any of its keys is over its limit."""
    rules = limits().get(action)
    if not rules:
        return
    device = device if device is not None else device_of(request)
    wanted = {ACCOUNT: account, DEVICE: device, ADDRESS: address_key(client_host(request))}
    now = time.time()
    counted: list[tuple[str, str, Rule, int]] = []  # scope, key, rule, window start (epoch seconds)
    for scope, rule in rules.items():
        who = wanted.get(scope)
        if who is None or who == "":
            continue
        start = int(now // rule.seconds * rule.seconds)
        counted.append((scope, f"{action}:{scope}:{str(who)[:120]}", rule, start))
    if not counted:
        return
    hits = await _count([(key, start) for _, key, _, start in counted])
    over = [(scope, key, rule, start) for scope, key, rule, start in counted if hits[key] > rule.hits]
    if not over:
        if random.random() < CLEANUP_CHANCE:
            await forget_ended(now)
        return
    if any(scope != ADDRESS for scope, *_ in over):
        # Refused for the account or device: give the address its hit back, so it is not spent by one person.
        for scope, key, _, start in counted:
            if scope == ADDRESS:
                await _uncount(key, start)
    retry_after = max(int(start + rule.seconds - now) + 1 for _, _, rule, start in over)
    raise too_many(retry_after)


def too_many(seconds: int) -> ApiError:
    wait = f"{seconds} giây" if seconds < 60 else f"{(seconds + 59) // 60} phút"
    return ApiError(429, "too_many_requests",
                    f"Đã gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau {wait}.",
                    f"Too many requests in a short time. Try again in {seconds} seconds.",
                    headers={"Retry-After": str(seconds)})


def _timestamp(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


async def _count(windows: list[tuple[str, int]]) -> dict[str, int]:
    """One statement for all keys. Keys in sorted order, so concurrent upserts on PostgreSQL lock rows in
    the same order and cannot deadlock. A row whose window is older than this one starts again at 1; a row
    already in this window (or a later one, if another instance's clock is ahead) counts up."""
    connection = RateWindow._meta.db
    params = Params(connection)
    values = [f"({params.add(key)}, {params.add(_timestamp(start))}, 1)" for key, start in sorted(windows)]
    sql = (
        f"INSERT INTO rate_windows (key, window_started, hits) VALUES {', '.join(values)} "
        "ON CONFLICT (key) DO UPDATE SET "
        "hits = CASE WHEN rate_windows.window_started >= excluded.window_started THEN rate_windows.hits + 1 ELSE 1 END, "
        "window_started = CASE WHEN rate_windows.window_started >= excluded.window_started "
        "THEN rate_windows.window_started ELSE excluded.window_started END "
        "RETURNING key, hits"
    )
    rows = await connection.execute_query_dict(sql, params.values)  # execute_query drops RETURNING rows on PostgreSQL
    return {row["key"]: int(row["hits"]) for row in rows}


async def _uncount(key: str, start: int) -> None:
    await RateWindow.filter(key=key, window_started=_timestamp(start), hits__gt=0).update(hits=_minus_one())


def _minus_one() -> CombinedExpression:
    return F("hits") - 1


async def forget_ended(now: float) -> None:
    """Delete windows that have surely ended: begun longer ago than the longest window in use (and a day)."""
    longest = max((rule.seconds for rules in limits().values() for rule in rules.values()), default=0)
    await RateWindow.filter(window_started__lt=_timestamp(now - max(longest, 86400))).delete()
