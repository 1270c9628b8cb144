"""Headers every response carries: no inline script, no framing, no sniffing, no referrer leaks."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # No Referer at all, not even to ourselves (the server never reads it): each of the app's sync requests is
    # ~40 bytes shorter. No user-agent client hints (sec-ch-ua, -mobile, -platform: ~120 bytes on every request
    # from a page over HTTPS); the server does not use them either (issue 13: bytes as the app really syncs).
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), ch-ua=(), ch-ua-mobile=(), "
                            b"ch-ua-platform=()"),
    (b"x-frame-options", b"DENY"),
]


# Other answers under /api (files, PDFs, plain text) could be rendered as documents: the strictest short policy.
API_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=()"),
]

# A JSON answer is never rendered as a document (nosniff keeps a browser from guessing otherwise), so the
# policies that govern documents (CSP, frame options, referrer and permissions policies) do nothing on it,
# and a phone on 2G pays for every header byte of every sync round (issue 13).
JSON_HEADERS = [(b"x-content-type-options", b"nosniff")]
JSON_TYPES = (b"application/json", b"application/problem+json")

# A script or style sheet under /static/ is not a document either: CSP, frame options and the permissions policy
# govern documents and workers only, and a first visit fetches ~35 of these files, ~435 bytes of those headers
# each over HTTP/1.1 (~15 KB; docs/benchmarks.md "Catalog"). The referrer policy stays: a module script's own
# imports follow it. A worker's script (photo-worker.js) keeps every header: its CSP is the worker's.
ASSET_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
ASSET_TYPES = (b"text/javascript", b"text/css")


def _worker_script(path: str) -> bool:
    return path.rsplit("/", 1)[-1].split(".", 1)[0].endswith("worker")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        api = scope["path"].startswith("/api/")
        asset = scope["path"].startswith("/static/") and not _worker_script(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name for name, _ in headers}
                chosen = HEADERS
                if api:
                    kind = next((value for name, value in headers if name == b"content-type"), b"")
                    chosen = JSON_HEADERS if kind.split(b";")[0].strip().lower() in JSON_TYPES else API_HEADERS
                elif asset:
                    kind = next((value for name, value in headers if name == b"content-type"), b"")
                    chosen = ASSET_HEADERS if kind.split(b";")[0].strip().lower() in ASSET_TYPES else HEADERS
                headers += [(name, value) for name, value in chosen if name not in present]
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
