"""Sending one push request and deciding what its answer means (RFC 8030 §5, RFC 8292).

201 (or any 2xx): delivered. 404 and 410: the subscription is gone for good, remove it. 429 and 5xx:
the service is busy; try again after its Retry-After or, without one, after a growing wait. Any other
4xx (400 bad request, 403 bad VAPID, 413 too large) will not get better by retrying: give up on it.
"""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from server.notify.push.message import PushRequest

SENT, RETRY, GONE, FAILED = "sent", "retry", "gone", "failed"
BACKOFF_BASE = 30.0  # seconds before the first retry without Retry-After
BACKOFF_CAP = 6 * 3600.0
RETRY_AFTER_CAP = 24 * 3600.0


@dataclass(frozen=True)
class Outcome:
    result: str  # SENT | RETRY | GONE | FAILED
    status: int | None = None
    retry_after: float | None = None  # seconds, when the service said
    error: str = ""


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), RETRY_AFTER_CAP)


def backoff(attempts: int, retry_after_seconds: float | None = None) -> float:
    """Seconds to wait before the next try: the service's word if it gave one, else 30 s doubling, with jitter."""
    if retry_after_seconds is not None:
        return retry_after_seconds
    wait: float = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return wait * random.uniform(0.8, 1.2)  # so that many jobs failed together do not return together


def classify(response: httpx.Response) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(SENT, status)
    reason = f"{status} {response.text[:200]}".strip()
    if status in (404, 410):
        return Outcome(GONE, status, error=reason)
    if status == 429 or status >= 500:
        return Outcome(RETRY, status, retry_after(response.headers.get("retry-after")), reason)
    return Outcome(FAILED, status, error=reason)


async def send(client: httpx.AsyncClient, request: PushRequest) -> Outcome:
    try:
        response = await client.post(request.endpoint, content=request.body, headers=request.headers)
    except httpx.HTTPError as error:  # refused, reset, timed out: the network, not the subscription
        return Outcome(RETRY, None, None, f"{type(error).__name__}: {error}"[:300])
    return classify(response)


def make_client(connections: int = 32) -> httpx.AsyncClient:
    # Redirects are not followed: a push endpoint answers itself, and following would let a subscription
    # send our requests elsewhere.
    # TCP_NODELAY: a request is written as headers then body; without it the body waits for the peer's
    # delayed ACK of the headers on every request of a kept-alive connection.
    transport = httpx.AsyncHTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                                         limits=httpx.Limits(max_connections=connections,
                                                             max_keepalive_connections=connections))
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(15.0, connect=10.0), follow_redirects=False)
