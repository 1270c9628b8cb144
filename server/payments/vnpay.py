"""VNPAY's payment gateway, version 2.1.0 (docs/payments.md "Gateway"): the signed redirect and the IPN.

Every message is a query string of `vnp_*` parameters signed with `vnp_SecureHash`: HMAC-SHA512, keyed with the
merchant's secret, over the parameters sorted by name (vnp_SecureHash and vnp_SecureHashType left out), each
`name=value` URL-encoded as a form (spaces as "+"), joined with "&"; hex digits. Amounts are in đồng × 100.
The IPN (instant payment notification) is VNPAY's server calling ours; the answer is JSON `{RspCode, Message}`.

The status query (`querydr`, for an order whose IPN never came) is ours calling VNPAY's merchant API: a JSON POST
signed differently, HMAC-SHA512 over the values of fixed fields joined with "|" in VNPAY's documented order
(QUERY_FIELDS), and answered in JSON signed the same way over its own fields (ANSWER_FIELDS; a field absent from the
answer is signed as empty).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import quote_plus

import httpx

from server.config import VnpaySettings
from server.payments.gateway import Notification, Order, Queried

log = logging.getLogger(__name__)

VERSION = "2.1.0"
VIETNAM = timezone(timedelta(hours=7))
UNSIGNED = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})
QUERY_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef", "vnp_TransactionDate",
                "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
ANSWER_FIELDS = ("vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode", "vnp_TxnRef",
                 "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo", "vnp_TransactionType",
                 "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode", "vnp_PromotionAmount")
QUERY_TIMEOUT = 15.0  # seconds: a status query is a background check, never worth holding a request long


def vnp_date(moment: datetime) -> str:
    """yyyyMMddHHmmss in Vietnam time (a naive time is UTC, as records are stored)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def signed_text(params: Mapping[str, str]) -> str:
    return "&".join(f"{quote_plus(name)}={quote_plus(str(value))}" for name, value in sorted(params.items())
                    if name.startswith("vnp_") and name not in UNSIGNED and value != "")


def secure_hash(secret: str, params: Mapping[str, str]) -> str:
    return hmac.new(secret.encode(), signed_text(params).encode(), hashlib.sha512).hexdigest()


def piped_hash(secret: str, params: Mapping[str, str], fields: tuple[str, ...]) -> str:
    """The merchant API's signature: the values of `fields`, in that order, joined with "|"."""
    text = "|".join(params.get(name, "") for name in fields)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def _amount(raw: str) -> int | None:
    return int(raw) // 100 if raw.isascii() and raw.isdigit() and len(raw) <= 17 and int(raw) % 100 == 0 else None


class Vnpay:
    name = "vnpay"

    def __init__(self, settings: VnpaySettings) -> None:
        self.settings = settings

    def pay_url(self, order: Order, return_url: str, client_ip: str, now: datetime) -> str:
        params = {
            "vnp_Version": VERSION, "vnp_Command": "pay", "vnp_TmnCode": self.settings.tmn_code,
            "vnp_Amount": str(order.amount_vnd * 100), "vnp_CurrCode": "VND", "vnp_TxnRef": order.txn_ref,
            "vnp_OrderInfo": order.info, "vnp_OrderType": "other", "vnp_Locale": "vn",
            "vnp_ReturnUrl": return_url, "vnp_IpAddr": client_ip or "127.0.0.1",
            "vnp_CreateDate": vnp_date(now), "vnp_ExpireDate": vnp_date(now + timedelta(minutes=15)),
        }
        query = signed_text(params)
        return f"{self.settings.url}?{query}&vnp_SecureHash={secure_hash(self.settings.hash_secret, params)}"

    def verify(self, params: Mapping[str, str]) -> Notification | None:
        given = params.get("vnp_SecureHash", "")
        if not given or params.get("vnp_TmnCode") != self.settings.tmn_code or not hmac.compare_digest(
                given.lower(), secure_hash(self.settings.hash_secret, params)):
            return None
        success = params.get("vnp_ResponseCode") == "00" and params.get("vnp_TransactionStatus", "00") == "00"
        return Notification(params.get("vnp_TxnRef", ""), _amount(params.get("vnp_Amount", "")), success,
                            params.get("vnp_TransactionNo", "")[:64])

    def query_request(self, order: Queried, now: datetime) -> dict[str, str]:
        """The signed querydr request for `order`. vnp_TransactionDate is the vnp_CreateDate its redirect carried
        (pay_url is given the order's creation time), by which VNPAY finds the order."""
        params = {
            "vnp_RequestId": secrets.token_hex(16), "vnp_Version": VERSION, "vnp_Command": "querydr",
            "vnp_TmnCode": self.settings.tmn_code, "vnp_TxnRef": order.txn_ref,
            "vnp_TransactionDate": vnp_date(order.created_at), "vnp_CreateDate": vnp_date(now),
            "vnp_IpAddr": "127.0.0.1",  # the calling server's address; VNPAY filters by its own allow-list
            "vnp_OrderInfo": f"Truy van giao dich {order.txn_ref}",
        }
        return {**params, "vnp_SecureHash": piped_hash(self.settings.hash_secret, params, QUERY_FIELDS)}

    def verify_answer(self, answer: Any, txn_ref: str) -> Notification | None:
        """The querydr answer about `txn_ref`, or None when it is not VNPAY's signed answer about this order of this
        merchant. `success` only for a query answered (00) about a payment (01) completed (00)."""
        if not isinstance(answer, dict) or not all(isinstance(value, (str, type(None))) for value in answer.values()):
            return None
        answer = {name: value or "" for name, value in answer.items()}  # an absent field is signed as empty
        given = answer.get("vnp_SecureHash", "")
        if not given or answer.get("vnp_TmnCode") != self.settings.tmn_code or answer.get("vnp_TxnRef") != txn_ref \
                or answer.get("vnp_Command") != "querydr" or not hmac.compare_digest(
                    given.lower(), piped_hash(self.settings.hash_secret, answer, ANSWER_FIELDS)):
            return None
        success = answer.get("vnp_ResponseCode") == "00" and answer.get("vnp_TransactionStatus") == "00" \
            and answer.get("vnp_TransactionType", "01") == "01"
        return Notification(txn_ref, _amount(answer.get("vnp_Amount", "")), success,
                            answer.get("vnp_TransactionNo", "")[:64])

    async def query(self, order: Queried, now: datetime, timeout: float = QUERY_TIMEOUT) -> Notification | None:
        if not self.settings.api_url:
            return None
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(self.settings.api_url, json=self.query_request(order, now))
            answer = response.json() if len(response.content) <= 64 * 1024 else None
        except (httpx.HTTPError, ValueError) as error:
            log.warning("VNPAY querydr %s: %s", order.txn_ref, error)
            return None
        notification = self.verify_answer(answer, order.txn_ref)
        if notification is None:
            log.warning("VNPAY querydr %s: an answer that is not VNPAY's signed answer about it", order.txn_ref)
        return notification
