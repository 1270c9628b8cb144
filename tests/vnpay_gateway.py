"""A VNPAY-like payment gateway for tests, run as its own process on loopback (`python -m tests.vnpay_gateway
--port P --tmn TMN --secret S`). It implements the protocol independently of server/payments/vnpay.py:

- GET /paymentv2/vpcpay.html?vnp_…: the signed redirect. It checks the documented request shape (version 2.1.0,
  command pay, this merchant's vnp_TmnCode, vnp_Amount a whole number of đồng × 100, VND, a vnp_TxnRef, an order
  text, a locale, an absolute return URL, the client address, vnp_CreateDate yyyyMMddHHmmss, and vnp_SecureHash:
  HMAC-SHA512 of the sorted, form-encoded parameters) and answers 400 with the reason, or 200 and keeps the order.
- POST /simulate {"txn_ref", "response_code", "amount_vnd"?, "tamper"?, "ipn_url"?, "times"?}: the citizen "pays":
  the gateway signs its callback parameters (for `amount_vnd`, default the order's), breaks the signature when
  `tamper`, calls the merchant's IPN URL `times` times (0: none) and answers {"ipn": [their JSON answers],
  "return_url": the signed URL the browser would be sent back to}. The outcome is kept for status queries;
  `tamper_query` makes the gateway sign its later query answers about this order with another key.
- POST /merchant_webapi/api/transaction {querydr JSON}: the status query. It checks the documented request (every
  field, version 2.1.0, command querydr, this merchant, vnp_SecureHash: HMAC-SHA512 of QUERY_FIELDS' values joined
  with "|") and answers 97 for a bad signature, 91 for an order it does not know under that vnp_TxnRef and
  vnp_TransactionDate (the redirect's vnp_CreateDate), else 00 with vnp_TransactionStatus 00 (paid), 02 (failed) or
  01 (not paid yet), signed over ANSWER_FIELDS the same way. GET /queries: how many queries it answered, by order.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote_plus, urlsplit
from urllib.request import urlopen

QUERY_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef", "vnp_TransactionDate",
                "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
ANSWER_FIELDS = ("vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode", "vnp_TxnRef",
                 "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo", "vnp_TransactionType",
                 "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode", "vnp_PromotionAmount")
REQUIRED = ("vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CurrCode", "vnp_TxnRef", "vnp_OrderInfo",
            "vnp_OrderType", "vnp_Locale", "vnp_ReturnUrl", "vnp_IpAddr", "vnp_CreateDate", "vnp_SecureHash")


def sign(secret: str, params: dict[str, str]) -> str:
    text = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(params.items())
                    if k.startswith("vnp_") and k not in ("vnp_SecureHash", "vnp_SecureHashType") and v)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def sign_piped(secret: str, params: dict[str, str], fields: tuple[str, ...]) -> str:
    text = "|".join(params.get(name, "") for name in fields)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


class Gateway:
    def __init__(self, tmn: str, secret: str) -> None:
        self.tmn, self.secret = tmn, secret
        self.orders: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()
        self.transaction = 14000000
        self.outcomes: dict[str, dict[str, str]] = {}  # txn_ref → {"status", "number", "amount"} once "paid"
        self.tampered: set[str] = set()
        self.queries: dict[str, int] = {}

    def check(self, params: dict[str, str]) -> str | None:
        missing = [name for name in REQUIRED if not params.get(name)]
        if missing:
            return f"missing {', '.join(missing)}"
        if params["vnp_Version"] != "2.1.0" or params["vnp_Command"] != "pay":
            return "vnp_Version must be 2.1.0 and vnp_Command pay"
        if params["vnp_TmnCode"] != self.tmn:
            return "unknown vnp_TmnCode"
        if not re.fullmatch(r"[1-9]\d*00", params["vnp_Amount"]):
            return "vnp_Amount must be a whole number of dong times 100"
        if params["vnp_CurrCode"] != "VND" or params["vnp_Locale"] not in ("vn", "en"):
            return "vnp_CurrCode must be VND and vnp_Locale vn or en"
        if not re.fullmatch(r"\d{14}", params["vnp_CreateDate"]):
            return "vnp_CreateDate must be yyyyMMddHHmmss"
        if urlsplit(params["vnp_ReturnUrl"]).scheme not in ("http", "https"):
            return "vnp_ReturnUrl must be absolute"
        if not hmac.compare_digest(params["vnp_SecureHash"], sign(self.secret, params)):
            return "invalid vnp_SecureHash"
        return None

    def simulate(self, body: dict) -> dict:
        order = self.orders.get(body.get("txn_ref", ""))
        if order is None:  # a notification for an order the gateway never saw (the test forges one)
            order = {"vnp_TxnRef": body.get("txn_ref", ""), "vnp_Amount": "100", "vnp_OrderInfo": "x",
                     "vnp_ReturnUrl": body.get("return_url", "http://127.0.0.1/")}
        with self.lock:
            self.transaction += 1
            number = str(self.transaction)
        amount = body.get("amount_vnd")
        params = {"vnp_Amount": str(amount * 100) if amount is not None else order["vnp_Amount"],
                  "vnp_BankCode": "NCB", "vnp_OrderInfo": order["vnp_OrderInfo"],
                  "vnp_PayDate": "20261125101010", "vnp_ResponseCode": body.get("response_code", "00"),
                  "vnp_TmnCode": self.tmn, "vnp_TransactionNo": number,
                  "vnp_TransactionStatus": body.get("response_code", "00"), "vnp_TxnRef": order["vnp_TxnRef"]}
        if body.get("txn_ref") in self.orders:
            self.outcomes[order["vnp_TxnRef"]] = {"status": params["vnp_TransactionStatus"], "number": number,
                                                  "amount": params["vnp_Amount"]}
            if body.get("tamper_query"):
                self.tampered.add(order["vnp_TxnRef"])
        params["vnp_SecureHashType"] = "HmacSHA512"
        params["vnp_SecureHash"] = sign(self.secret, params)
        if body.get("tamper"):
            params["vnp_Amount"] = str(int(params["vnp_Amount"]) + 100_000)  # changed after signing
        query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in params.items())
        answers = []
        for _ in range(int(body.get("times", 1))):
            with urlopen(f"{body['ipn_url']}?{query}", timeout=30) as response:  # noqa: S310 - loopback test URL
                answers.append(json.loads(response.read()))
        return {"ipn": answers, "return_url": f"{order['vnp_ReturnUrl']}?{query}"}


    def query(self, body: object) -> dict[str, str]:
        if not isinstance(body, dict) or not all(isinstance(body.get(name), str) and body.get(name)
                                                 for name in (*QUERY_FIELDS, "vnp_SecureHash")):
            return self.answer_query({}, "99", "missing or malformed fields")
        if body["vnp_Version"] != "2.1.0" or body["vnp_Command"] != "querydr" or body["vnp_TmnCode"] != self.tmn:
            return self.answer_query(body, "02", "wrong version, command or merchant")
        if not re.fullmatch(r"\d{14}", body["vnp_TransactionDate"]) or not re.fullmatch(r"\d{14}",
                                                                                        body["vnp_CreateDate"]):
            return self.answer_query(body, "03", "dates must be yyyyMMddHHmmss")
        if not hmac.compare_digest(body["vnp_SecureHash"], sign_piped(self.secret, body, QUERY_FIELDS)):
            return self.answer_query(body, "97", "invalid signature")
        ref = body["vnp_TxnRef"]
        with self.lock:
            self.queries[ref] = self.queries.get(ref, 0) + 1
        order = self.orders.get(ref)
        if order is None or order["vnp_CreateDate"] != body["vnp_TransactionDate"]:
            return self.answer_query(body, "91", "transaction not found")
        outcome = self.outcomes.get(ref, {"status": "01", "number": "0", "amount": order["vnp_Amount"]})
        return self.answer_query(body, "00", "QueryDR Success", order, outcome)

    def answer_query(self, body: dict, code: str, message: str, order: dict[str, str] | None = None,
                     outcome: dict[str, str] | None = None) -> dict[str, str]:
        answer = {"vnp_ResponseId": secrets.token_hex(16), "vnp_Command": "querydr", "vnp_ResponseCode": code,
                  "vnp_Message": message, "vnp_TmnCode": self.tmn, "vnp_TxnRef": str(body.get("vnp_TxnRef", ""))}
        if order is not None and outcome is not None:
            answer.update({"vnp_Amount": outcome["amount"], "vnp_OrderInfo": order["vnp_OrderInfo"],
                           "vnp_BankCode": "NCB", "vnp_PayDate": "20261125101010" if outcome["status"] == "00" else "",
                           "vnp_TransactionNo": outcome["number"], "vnp_TransactionType": "01",
                           "vnp_TransactionStatus": outcome["status"]})
        key = "not-the-merchants-secret" if answer["vnp_TxnRef"] in self.tampered else self.secret
        answer["vnp_SecureHash"] = sign_piped(key, answer, ANSWER_FIELDS)
        return answer


def serve(port: int, tmn: str, secret: str) -> None:
    gateway = Gateway(tmn, secret)

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path == "/queries":
                return self.answer(200, gateway.queries)
            if parts.path != "/paymentv2/vpcpay.html":
                return self.answer(404, {"error": "not found"})
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            problem = gateway.check(params)
            if problem:
                return self.answer(400, {"error": problem})
            gateway.orders[params["vnp_TxnRef"]] = params
            return self.answer(200, {"accepted": params["vnp_TxnRef"]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if self.path == "/merchant_webapi/api/transaction":
                return self.answer(200, gateway.query(body))
            if self.path != "/simulate":
                return self.answer(404, {"error": "not found"})
            return self.answer(200, gateway.simulate(body))

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tmn", required=True)
    parser.add_argument("--secret", required=True)
    options = parser.parse_args()
    serve(options.port, options.tmn, options.secret)
