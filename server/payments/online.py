"""Paying at a gateway (docs/payments.md "Gateway"): orders, and the notifications that record payments.

An order is started by the dossier's owner for the fee fixed on it. The gateway's server-to-server notification,
once its signature is verified (server/payments/gateway.py), is checked against the order (known, same amount) and
recorded once: the order moves from pending under a conditional update, so the same notification twice, or two at
once, pays once. The payment goes through the one write path: `payment_done {channel: gateway, gateway_order}` on
behalf of the owner who paid, which the Policy accepts only for a paid order of this dossier and this fee
(server/payments/obligation.py). A return to our site without a notification never counts as paid.

A notification can be lost. For an order still pending a while after it started, the gateway is asked
(`query_pending`, the command `motcua payments query-pending`; also once when the citizen's browser comes back): its
signed answer that the order was paid is recorded exactly as that notification would have been (`notified`: the same
conditional update, the same payment_done), so a query and a late notification pay once between them. An answer
that the order is not paid (yet) changes nothing: the order stays pending, for its notification or the next query.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tortoise.transactions import in_transaction

from server.models import Dossier, PaymentOrder, User
from server.payments.gateway import Gateway, Notification, Order, Queried
from server.workflow import changes

# The IPN answers VNPAY expects (RspCode): what happened to the notification.
CONFIRMED, NOT_FOUND, ALREADY, BAD_AMOUNT, BAD_SIGNATURE = "00", "01", "02", "04", "97"
MESSAGES = {CONFIRMED: "Confirm Success", NOT_FOUND: "Order not found", ALREADY: "Order already confirmed",
            BAD_AMOUNT: "Invalid amount", BAD_SIGNATURE: "Invalid signature"}


async def start_order(dossier: Dossier, provider: str) -> tuple[PaymentOrder, Order]:
    assert dossier.fee_amount_vnd is not None
    txn_ref = f"{datetime.now(timezone.utc):%y%m%d}{secrets.token_hex(6).upper()}"
    row = await PaymentOrder.create(dossier_id=dossier.id, provider=provider, txn_ref=txn_ref,
                                    amount_vnd=dossier.fee_amount_vnd)
    return row, Order(txn_ref, dossier.fee_amount_vnd, f"Nop phi ho so {dossier.code or ''}".strip())


async def notified(notification: Notification) -> str:
    """Record a verified notification; the RspCode to answer."""
    async with in_transaction():
        order = await PaymentOrder.get_or_none(txn_ref=notification.txn_ref[:40])
        if order is None:
            return NOT_FOUND
        if notification.amount_vnd != order.amount_vnd:
            return BAD_AMOUNT
        if order.status != "pending":
            return ALREADY
        status = "paid" if notification.success else "failed"
        now = datetime.now(timezone.utc)
        taken = await PaymentOrder.filter(id=order.id, status="pending").update(
            status=status, transaction_no=notification.transaction_no, confirmed_at=now)
        if not taken:
            return ALREADY  # another notification of this order got there first
        if not notification.success:
            return CONFIRMED
        dossier = await Dossier.get(id=order.dossier_id)
        owner = await User.get_or_none(id=dossier.owner_id) if dossier.owner_id else None
        try:
            if owner is None:
                raise changes.Refused({"code": "no_owner", "reason": {"vi": "", "en": ""}})
            await changes.apply(owner, [changes.command(dossier.id, "payment_done",
                                                        {"channel": "gateway", "gateway_order": order.id})],
                                commune_codes=set())  # payment_done reads no form
        except changes.Refused:
            # Paid at the gateway, but the dossier no longer awaits this payment (withdrawn, paid at the desk…):
            # the money is received all the same, so the notification is confirmed and an officer looks at it.
            await PaymentOrder.filter(id=order.id).update(status="unapplied")
    return CONFIRMED


@dataclass
class QueryReport:
    asked: int = 0
    confirmed: int = 0  # paid, recorded now
    pending: int = 0  # the gateway says not paid (yet)
    unanswered: int = 0  # no answer, or one whose signature is not the gateway's
    refused: int = 0  # paid, but not the order's amount, or already confirmed meanwhile


async def query_order(gateway: Gateway, order: PaymentOrder, now: datetime, timeout: float = 15.0) -> str:
    """Ask the gateway about a pending `order`: "confirmed", "pending", "unanswered" or "refused"."""
    dossier = await Dossier.get_or_none(id=order.dossier_id)
    code = dossier.code if dossier and dossier.code else ""
    notification = await gateway.query(Queried(order.txn_ref, order.created_at, f"Nop phi ho so {code}".strip()), now,
                                       timeout)
    if notification is None:
        return "unanswered"
    if not notification.success:
        return "pending"
    return "confirmed" if await notified(notification) == CONFIRMED else "refused"


async def query_pending(gateway: Gateway, older_than: timedelta, limit: int = 500) -> QueryReport:
    """Ask the gateway about this gateway's orders still pending `older_than` after they started, oldest first."""
    now = datetime.now(timezone.utc)
    report = QueryReport()
    for order in await PaymentOrder.filter(provider=gateway.name, status="pending",
                                           created_at__lte=now - older_than).order_by("created_at", "id").limit(limit):
        report.asked += 1
        outcome = await query_order(gateway, order, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report
