"""A stand-in for Zalo's ZNS API on loopback, run as its own process (tests/zalo_server.py PORT TOKEN TEMPLATES).

It checks the documented request of `POST /message/template`: the header `access_token`, a JSON body with `phone`
(84 and nine digits), `template_id` (one of TEMPLATES, comma-separated), `template_data` (an object of strings) and
an optional `tracking_id` (at most 48 characters); it answers like Zalo: HTTP 200 with `{error: 0, message: "Success",
data: {msg_id, sent_time, quota}}`, or a negative code: -124 invalid access token, -118 the phone has no Zalo account,
-115 out of quota, -100 a malformed request. Test controls:
`GET /__test/messages`; `POST /__test/mode?no_zalo=84…,84…&quota=0|1&fail=N&fail_every=M` (`fail`: the next N requests
get HTTP 500; `fail_every`: every Mth request does, for benchmarks);
`POST /__test/reset`.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

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


STATE = State()
TOKEN = sys.argv[2] if len(sys.argv) > 2 else "zalo-test-token"
TEMPLATES = set((sys.argv[3] if len(sys.argv) > 3 else "100001").split(","))


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
                                     "requests": STATE.requests, "failed": STATE.failed})
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
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            with STATE.lock:
                if "no_zalo" in query:
                    STATE.no_zalo = set(filter(None, query["no_zalo"].split(",")))
                if "quota" in query:
                    STATE.quota_used_up = query["quota"] == "0"
                if "fail" in query:
                    STATE.fail = int(query["fail"])
                if "fail_every" in query:
                    STATE.fail_every = int(query["fail_every"])
            return self._answer({"ok": True})
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

    def _check(self, raw: bytes) -> dict:
        def refuse(code: int, message: str, body: object = None) -> dict:
            with STATE.lock:
                STATE.refused.append({"error": code, "message": message, "body": body})
            return {"error": code, "message": message}

        if self.headers.get("access_token") != TOKEN:
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
