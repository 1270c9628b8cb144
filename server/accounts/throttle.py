"""Slowing and then locking repeated failed sign-ins, per phone number and per address.

Kept in the database so every app instance sees the same counts. Rural subscribers often share one
carrier address, so the per-address limits are far higher than the per-number ones: one person
mistyping cannot lock a commune out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from server.web.errors import ApiError
from server.models import SignInThrottle


@dataclass(frozen=True)
class Limit:
    free_failures: int  # failures allowed before any waiting
    lock_after: int  # failures after which the key is locked for lock_for
    lock_for: timedelta
    window: timedelta = timedelta(minutes=15)


PER_PHONE = Limit(free_failures=3, lock_after=10, lock_for=timedelta(minutes=15))
PER_ADDRESS = Limit(free_failures=30, lock_after=200, lock_for=timedelta(minutes=15))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _wait_after(failures: int, limit: Limit) -> timedelta:
    """Slowed: each failure past the free ones doubles the wait (5 s, 10 s, 20 s …); then locked."""
    if failures >= limit.lock_after:
        return limit.lock_for
    if failures <= limit.free_failures:
        return timedelta(0)
    return min(timedelta(seconds=5 * 2 ** (failures - limit.free_failures - 1)), limit.lock_for)


async def check_allowed(keys: list[tuple[str, Limit]]) -> None:
    now = _now()
    for key, _ in keys:
        row = await SignInThrottle.get_or_none(key=key)
        if row and row.locked_until and row.locked_until > now:
            seconds = int((row.locked_until - now).total_seconds()) + 1
            raise ApiError(
                429, "too_many_attempts",
                f"Đã đăng nhập sai nhiều lần. Vui lòng thử lại sau {_say_wait(seconds)}.",
                f"Too many failed sign-ins. Try again in {seconds} seconds.",
                headers={"Retry-After": str(seconds)},
            )


async def record_failure(keys: list[tuple[str, Limit]]) -> None:
    now = _now()
    for key, limit in keys:
        row = await SignInThrottle.get_or_none(key=key)
        if row is None or now - row.window_started > limit.window:
            row = row or SignInThrottle(key=key)
            row.failures, row.window_started, row.locked_until = 0, now, None
        row.failures += 1
        wait = _wait_after(row.failures, limit)
        row.locked_until = now + wait if wait else None
        await row.save()


async def record_success(key: str) -> None:
    await SignInThrottle.filter(key=key).delete()


def _say_wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} giây"
    return f"{(seconds + 59) // 60} phút"
