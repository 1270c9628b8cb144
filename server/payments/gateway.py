"""A payment gateway behind one interface (docs/payments.md "Gateway"): VNPAY today (server/payments/vnpay.py).

A gateway turns an order into the URL the citizen's browser is sent to, and checks the signature of what it sends
back (the browser's return and the server-to-server notification). Only a verified notification, or the gateway's
own verified answer to a status query about an order whose notification never came, records a payment
(server/payments/online.py); the return only brings the citizen back to the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Protocol


@dataclass(frozen=True)
class Order:
    txn_ref: str  # our reference, unique per order
    amount_vnd: int
    info: str  # what the citizen reads at the gateway: the dossier code


@dataclass(frozen=True)
class Notification:
    """What a gateway said about an order, once its signature was verified."""

    txn_ref: str
    amount_vnd: int | None  # None: not a whole number of đồng
    success: bool
    transaction_no: str  # the gateway's own reference


@dataclass(frozen=True)
class Queried:
    """An order to ask the gateway about: its reference, when it was started (the gateway finds it by both) and
    what it was for."""

    txn_ref: str
    created_at: datetime
    info: str


class Gateway(Protocol):
    name: str

    def pay_url(self, order: Order, return_url: str, client_ip: str, now: datetime) -> str:
        """Where to send the citizen's browser to pay `order`."""
        ...

    def verify(self, params: Mapping[str, str]) -> Notification | None:
        """The notification in `params` (a return or a server-to-server call), or None when its signature is not
        the gateway's."""
        ...

    async def query(self, order: Queried, now: datetime, timeout: float = ...) -> Notification | None:
        """What the gateway says of `order` now, asked server to server (`success` only when it was paid), or None
        when it cannot be asked, did not answer within `timeout` seconds, or its answer's signature is not the
        gateway's."""
        ...
