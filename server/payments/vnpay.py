"""VNPAY's payment gateway, version 2.1.0 (docs/payments.md "Gateway"): the signed redirect and the IPN.

Every message is a query string of `vnp_*` parameters signed with `vnp_SecureHash`: HMAC-SHA512, keyed with the
merchant's secret, over the parameters sorted by name (vnp_SecureHash and vnp_SecureHashType left out), each
`name=value` URL-encoded as a form (spaces as "+"), joined with "&"; hex digits. Amounts are in đồng × 100.
The IPN (instant payment notification) is VNPAY's server calling ours; the answer is JSON `{RspCode, Message}`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from typing import Mapping
from urllib.parse import quote_plus

from server.config import VnpaySettings
from server.payments.gateway import Notification, Order

VERSION = "2.1.0"
VIETNAM = timezone(timedelta(hours=7))
UNSIGNED = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})


def signed_text(params: Mapping[str, str]) -> str:
    return "&".join(f"{quote_plus(name)}={quote_plus(str(value))}" for name, value in sorted(params.items())
                    if name.startswith("vnp_") and name not in UNSIGNED and value != "")


def secure_hash(secret: str, params: Mapping[str, str]) -> str:
    return hmac.new(secret.encode(), signed_text(params).encode(), hashlib.sha512).hexdigest()


class Vnpay:
    name = "vnpay"

    def __init__(self, settings: VnpaySettings) -> None:
        self.settings = settings

    def pay_url(self, order: Order, return_url: str, client_ip: str, now: datetime) -> str:
        local = now.astimezone(VIETNAM)
        params = {
            "vnp_Version": VERSION, "vnp_Command": "pay", "vnp_TmnCode": self.settings.tmn_code,
            "vnp_Amount": str(order.amount_vnd * 100), "vnp_CurrCode": "VND", "vnp_TxnRef": order.txn_ref,
            "vnp_OrderInfo": order.info, "vnp_OrderType": "other", "vnp_Locale": "vn",
            "vnp_ReturnUrl": return_url, "vnp_IpAddr": client_ip or "127.0.0.1",
            "vnp_CreateDate": local.strftime("%Y%m%d%H%M%S"),
            "vnp_ExpireDate": (local + timedelta(minutes=15)).strftime("%Y%m%d%H%M%S"),
        }
        query = signed_text(params)
        return f"{self.settings.url}?{query}&vnp_SecureHash={secure_hash(self.settings.hash_secret, params)}"

    def verify(self, params: Mapping[str, str]) -> Notification | None:
        given = params.get("vnp_SecureHash", "")
        if not given or params.get("vnp_TmnCode") != self.settings.tmn_code or not hmac.compare_digest(
                given.lower(), secure_hash(self.settings.hash_secret, params)):
            return None
        raw = params.get("vnp_Amount", "")
        amount = int(raw) // 100 if raw.isdigit() and len(raw) <= 17 and int(raw) % 100 == 0 else None
        success = params.get("vnp_ResponseCode") == "00" and params.get("vnp_TransactionStatus", "00") == "00"
        return Notification(params.get("vnp_TxnRef", ""), amount, success, params.get("vnp_TransactionNo", "")[:64])
