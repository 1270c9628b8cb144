"""A stand-in for Zalo's ZNS API on loopback, run as its own process
(tests/zalo_server.py PORT TOKEN TEMPLATES [APP_ID OA_SECRET_KEY APP_SECRET]).

It checks the documented request of `POST /message/template`: the header `access_token`, a JSON body with `phone`
(84 and nine digits), `template_id` (one of TEMPLATES, comma-separated), `template_data` (an object of strings) and
an optional `tracking_id` (at most 48 characters); it answers like Zalo: HTTP 200 with `{error: 0, message: "Success",
data: {msg_id, sent_time, quota}}`, or a negative code: -124 invalid access token, -118 the phone has no Zalo account,
-115 out of quota, -100 a malformed request. Test controls:
`GET /__test/messages`; `POST /__test/mode?no_zalo=84…,84…&quota=0|1&fail=N&fail_every=M` (`fail`: the next N requests
get HTTP 500; `fail_every`: every Mth request does, for benchmarks);
`POST /__test/reset`.

Token renewal, as Zalo's OAuth v4 for Official Accounts: `POST /v4/oa/access_token` needs the header `secret_key`
(APP_SECRET) and a form body `refresh_token`, `app_id` (APP_ID), `grant_type=refresh_token`; it answers
`{access_token, refresh_token, expires_in: "<seconds as a string>"}` or `{error: <negative>, error_name, message}`.
A refresh token is single-use: spent or unknown → -14014 "Invalid refresh token" (the code integrators' clients see
for it; no official list was at hand). Issued access tokens expire after `expires_in` seconds (90000 unless
`POST /__test/mode?expires_in=N`), and ZNS then answers -124. `POST /__test/mode?refresh_token=R` makes R a valid
refresh token; `oauth_delay=S` holds each renewal S seconds (to overlap concurrent ones); `expire_initial=1` makes
TOKEN itself expired. `GET /__test/messages` lists the renewals under `renewals` (refresh token used, answer code).

Delivery receipts, as Zalo calls the OA's webhook: `POST /__test/mode?webhook=URL` makes every accepted message
followed by a signed `user_received_message` event posted to URL (header `X-ZEvent-Signature: mac=` + sha256 of
app_id + body + timestamp + OA secret key); `POST /__test/deliver?msg_id=…&webhook=URL&tamper=1&age=SECONDS`
posts one now (tampered: the body changed after signing; age: a timestamp that many seconds old) and answers with
the status and body the webhook answered. `GET /__test/messages` lists the webhook's answers under `receipts`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

PHONE = re.compile(r"^84\d{9}$")


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.messages: list[dict] = []
        self.refused: list[dict] = []
        self.no_zalo: set[str] = set()
        self.quota_used_up = False
        self.fail = 0
        self.fail_every = 0
        self.requests = 0
        self.failed = 0
        self.next_id = 1
        self.webhook = ""
        self.receipts: list[dict] = []
        self.refresh_tokens: set[str] = set()  # valid, not yet used
        self.issued: dict[str, float] = {}  # access token → when it expires (time.time())
        self.expires_in = 90000
        self.oauth_delay = 0.0
        self.initial_expired = False
        self.renewals: list[dict] = []
        self.next_token = 1


STATE = State()
TOKEN = sys.argv[2] if len(sys.argv) > 2 else "zalo-test-token"
TEMPLATES = set((sys.argv[3] if len(sys.argv) > 3 else "100001").split(","))
APP_ID = sys.argv[4] if len(sys.argv) > 4 else "zalo-test-app"
OA_SECRET = sys.argv[5] if len(sys.argv) > 5 else "zalo-test-oa-secret"
APP_SECRET = sys.argv[6] if len(sys.argv) > 6 else "zalo-test-app-secret"


def post_receipt(url: str, msg_id: str, phone: str = "", *, tamper: bool = False, age: float = 0) -> dict:
    """One signed user_received_message event to the OA's webhook, as Zalo sends it; the webhook's answer."""
    stamp = str(int((time.time() - age) * 1000))
    event = {"event_name": "user_received_message", "app_id": APP_ID, "timestamp": stamp,
             "sender": {"id": "oa-579745863508352884"}, "recipient": {"id": "user-" + phone[-4:]},
             "user_id_by_app": "app-user-" + phone[-4:],
             "message": {"msg_id": msg_id, "delivery_time": stamp}}
    raw = json.dumps(event).encode()
    mac = "mac=" + hashlib.sha256(APP_ID.encode() + raw + stamp.encode() + OA_SECRET.encode()).hexdigest()
    if tamper:
        raw = raw.replace(msg_id.encode(), (msg_id + "x").encode())
    request = Request(url, data=raw, method="POST",
                      headers={"Content-Type": "application/json", "X-ZEvent-Signature": mac})
    try:
        with urlopen(request, timeout=10) as response:
            answer = {"status": response.status, "body": response.read().decode()}
    except HTTPError as error:
        answer = {"status": error.code, "body": error.read().decode()}
    except OSError as error:
        answer = {"status": 0, "body": str(error)}
    with STATE.lock:
        STATE.receipts.append({"msg_id": msg_id, **answer})
    return answer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: dict, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/__test/messages":
            with STATE.lock:
                return self._answer({"messages": STATE.messages, "refused": STATE.refused,
                                     "requests": STATE.requests, "failed": STATE.failed, "receipts": STATE.receipts,
                                     "renewals": STATE.renewals})
        self._answer({"error": 404}, 404)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path == "/__test/reset":
            with STATE.lock:
                STATE.reset()
            return self._answer({"ok": True})
        if parts.path == "/__test/mode":
            query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
            with STATE.lock:
                if "no_zalo" in query:
                    STATE.no_zalo = set(filter(None, query["no_zalo"].split(",")))
                if "quota" in query:
                    STATE.quota_used_up = query["quota"] == "0"
                if "fail" in query:
                    STATE.fail = int(query["fail"])
                if "fail_every" in query:
                    STATE.fail_every = int(query["fail_every"])
                if "webhook" in query:
                    STATE.webhook = query["webhook"]
                if "refresh_token" in query:
                    STATE.refresh_tokens.add(query["refresh_token"])
                if "expires_in" in query:
                    STATE.expires_in = int(query["expires_in"])
                if "oauth_delay" in query:
                    STATE.oauth_delay = float(query["oauth_delay"])
                if "expire_initial" in query:
                    STATE.initial_expired = query["expire_initial"] == "1"
            return self._answer({"ok": True})
        if parts.path == "/__test/deliver":
            query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
            return self._answer(post_receipt(query["webhook"], query["msg_id"], tamper=query.get("tamper") == "1",
                                             age=float(query.get("age", "0"))))
        if parts.path == "/v4/oa/access_token":
            return self._answer(self._renew(raw))
        if parts.path != "/message/template":
            return self._answer({"error": 404}, 404)
        with STATE.lock:
            STATE.requests += 1
            if STATE.fail > 0 or (STATE.fail_every and STATE.requests % STATE.fail_every == 0):
                STATE.fail = max(0, STATE.fail - 1)
                STATE.failed += 1
                return self._answer({"error": "server"}, 500)
        answer = self._check(raw)
        self._answer(answer)
        with STATE.lock:
            webhook = STATE.webhook
        if webhook and answer.get("error") == 0:
            # The phone received it a moment later: Zalo tells the OA's webhook (after the send was answered).
            threading.Timer(0.3, post_receipt, (webhook, answer["data"]["msg_id"],
                                                json.loads(raw).get("phone", ""))).start()

    def _renew(self, raw: bytes) -> dict:
        def refuse(code: int, name: str, used: str = "") -> dict:
            with STATE.lock:
                STATE.renewals.append({"refresh_token": used, "error": code})
            return {"error": code, "error_name": name, "message": name}

        if self.headers.get("secret_key") != APP_SECRET:
            return refuse(-14003, "Invalid secret key")
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return refuse(-14001, "Content-Type must be application/x-www-form-urlencoded")
        form = {key: values[-1] for key, values in parse_qs(raw.decode(errors="replace")).items()}
        if form.get("app_id") != APP_ID:
            return refuse(-14002, "Invalid app_id")
        if form.get("grant_type") != "refresh_token":
            return refuse(-14001, "grant_type must be refresh_token")
        with STATE.lock:
            delay = STATE.oauth_delay
        time.sleep(delay)
        used = form.get("refresh_token", "")
        with STATE.lock:
            if used not in STATE.refresh_tokens:
                STATE.renewals.append({"refresh_token": used, "error": -14014})
                return {"error": -14014, "error_name": "Invalid refresh token", "message": "Invalid refresh token"}
            STATE.refresh_tokens.discard(used)  # single-use
            number = STATE.next_token
            STATE.next_token += 1
            access, refresh = f"zalo-access-{number:04d}", f"zalo-refresh-{number:04d}"
            STATE.refresh_tokens.add(refresh)
            STATE.issued[access] = time.time() + STATE.expires_in
            STATE.renewals.append({"refresh_token": used, "error": 0, "access_token": access, "issued": refresh})
            return {"access_token": access, "refresh_token": refresh, "expires_in": str(STATE.expires_in)}

    def _token_valid(self, token: str | None) -> bool:
        with STATE.lock:
            if token == TOKEN:
                return not STATE.initial_expired
            return token in STATE.issued and STATE.issued[token] > time.time()

    def _check(self, raw: bytes) -> dict:
        def refuse(code: int, message: str, body: object = None) -> dict:
            with STATE.lock:
                STATE.refused.append({"error": code, "message": message, "body": body})
            return {"error": code, "message": message}

        if not self._token_valid(self.headers.get("access_token")):
            return refuse(-124, "Access token is invalid")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return refuse(-100, "Content-Type must be application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            return refuse(-100, "Body is not JSON")
        if not isinstance(body, dict):
            return refuse(-100, "Body is not a JSON object", body)
        phone, template, data = body.get("phone"), body.get("template_id"), body.get("template_data")
        tracking = body.get("tracking_id", "")
        if not isinstance(phone, str) or not PHONE.match(phone):
            return refuse(-108, "Phone number is invalid", body)
        if template not in TEMPLATES:
            return refuse(-112, "Template id is invalid", body)
        if not isinstance(data, dict) or not all(isinstance(key, str) and isinstance(value, str)
                                                 for key, value in data.items()):
            return refuse(-100, "template_data must be an object of strings", body)
        if not isinstance(tracking, str) or len(tracking) > 48:
            return refuse(-100, "tracking_id must be a string of at most 48 characters", body)
        with STATE.lock:
            if phone in STATE.no_zalo:
                return refuse(-118, "Zalo account not existed", body)
            if STATE.quota_used_up:
                return refuse(-115, "Out of quota", body)
            msg_id = f"z{STATE.next_id:08d}"
            STATE.next_id += 1
            STATE.messages.append({**body, "msg_id": msg_id, "at": time.time()})
        return {"error": 0, "message": "Success",
                "data": {"msg_id": msg_id, "sent_time": str(int(time.time() * 1000)),
                         "quota": {"dailyQuota": "1000", "remainingQuota": str(1000 - len(STATE.messages))}}}


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
