"""The SMPP test server (tests/smpp/server.cjs, run by tests/gateways.py `SmppGateway`) as a fixture, and what a
phone would read from it: the tests that need an SMS — a notice's (tests/test_notice_channels.py), a one-time code
to claim a walk-in dossier (tests/test_claims.py, tests/test_pwa_claim.py) — read it from what the gateway received
from the motcua server's worker over SMPP, never from our own tables."""

from __future__ import annotations

import re
import time

import pytest

from tests.gateways import SmppGateway


@pytest.fixture(scope="module")
def smpp_gateway(tmp_path_factory):
    gateway = SmppGateway(tmp_path_factory.mktemp("smpp")).start()
    yield gateway
    gateway.stop()


def intl(phone: str) -> str:
    """A Vietnamese mobile number as the worker addresses it: 84…, without the leading 0."""
    return "84" + phone[1:]


def texts_to(gateway: SmppGateway, phone: str, count: int = 1, timeout: float = 30.0) -> list[str]:
    """The texts the gateway received for `phone`, in the order it received them, once there are at least `count`
    (the worker sends them a moment after the request that queued them)."""
    deadline = time.monotonic() + timeout
    while True:
        texts = [m["text"] for m in gateway.messages() if m["destination_addr"] == intl(phone)]
        if len(texts) >= count:
            return texts
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(texts)} of {count} texts reached the SMPP server for {phone}")
        time.sleep(0.1)  # polling the gateway, not waiting for a fixed time


def code_in(text: str) -> str:
    """The 6-digit one-time code of a claim text."""
    match = re.search(r": (\d{6})\.", text)  # after the dossier code, which has 6 digits of its own
    assert match, text
    return match.group(1)


def last_code(gateway: SmppGateway, phone: str, count: int = 1) -> str:
    """The one-time code in the `count`-th text sent to `phone` (the latest once that many arrived)."""
    return code_in(texts_to(gateway, phone, count)[count - 1])
