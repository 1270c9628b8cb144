"""Security headers on every kind of response (server/web/security_headers.py): pages, JSON, errors the app
makes (401, 404, 405, 413, 429), redirects, static and hashed files, 304s, the service worker; HSTS only
over TLS (the proxy says so with X-Forwarded-Proto, which uvicorn trusts from loopback)."""

from __future__ import annotations

import re

import httpx
import pytest

PAGE_CSP = re.compile(r"script-src 'self'(;|$)")


def assert_document_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert PAGE_CSP.search(csp) and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp, csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["permissions-policy"].startswith("camera=(self)")


def assert_api_headers(response: httpx.Response) -> None:
    """A JSON answer is never rendered as a document: nosniff only; the document policies (CSP, frame options,
    referrer and permissions policies) would be bytes on every sync round for nothing (issue 13)."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    for name in ("content-security-policy", "referrer-policy", "permissions-policy", "x-frame-options"):
        assert name not in response.headers, name


def assert_asset_headers(response: httpx.Response) -> None:
    """A script or style sheet is not a document: nosniff and the referrer policy (a module's imports follow it),
    not the document policies, ~435 bytes on each of a first visit's ~35 files (docs/benchmarks.md "Catalog")."""
    assert response.headers["content-type"].startswith(("text/javascript", "text/css")), response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    for name in ("content-security-policy", "permissions-policy", "x-frame-options"):
        assert name not in response.headers, name


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as client:
        yield client


def test_pages_files_and_redirects(http):
    app = http.get("/app")
    etag = app.headers["etag"]
    asset = re.search(r"/static/[\w/.-]+\.[0-9a-f]{10}\.js", app.text).group(0)
    responses = {
        "page": http.get("/"), "catalog page": http.get("/procedures"), "app shell": app,
        "not modified": http.get("/app", headers={"If-None-Match": etag}),
        "service worker": http.get("/sw.js"), "manifest": http.get("/manifest.webmanifest"),
        "redirect": http.get("/dossiers"), "page not found": http.get("/khong-co-trang-nay"),
        "method not allowed page": http.delete("/procedures"), "health": http.get("/healthz"),
        "icon": http.get("/static/icons/icon-192.png"),
        # A worker's script: its response's CSP is the worker's own.
        "worker script": http.get(re.search(r"/static/js/photo-worker\.[0-9a-f]{10}\.js", http.get("/sw.js").text).group(0)),
    }
    assets = {"hashed asset": http.get(asset), "plain static file": http.get("/static/app.css"), "head": http.head(asset)}
    for kind, response in assets.items():
        try:
            assert_asset_headers(response)
        except (AssertionError, KeyError) as error:
            raise AssertionError(f"{kind} ({response.status_code} {response.url.path}): {error!r}") from None
    assert responses["not modified"].status_code == 304 and responses["redirect"].status_code == 303
    for kind, response in responses.items():
        try:
            assert_document_headers(response)
        except (AssertionError, KeyError) as error:
            raise AssertionError(f"{kind} ({response.status_code} {response.url.path}): {error!r}") from None


def test_json_answers_and_errors(http, citizen):
    responses = {
        "ok": http.get("/api/procedures"),
        "401": http.get("/api/dossiers"),
        "403 csrf": http.post("/api/session", json={}),
        "404": citizen.get("/api/dossiers/00000000-0000-0000-0000-000000000000"),
        "404 route": http.get("/api/khong-co"),
        "405": http.delete("/api/procedures"),
        "413": citizen.post("/api/dossiers", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                            headers={"content-type": "application/json"}),
        "sync": citizen.post("/api/sync", {"device_id": "headers-test", "mutations": []}),
    }
    assert responses["413"].status_code == 413 and responses["401"].status_code == 401
    for kind, response in responses.items():
        try:
            assert_api_headers(response)
        except (AssertionError, KeyError) as error:
            raise AssertionError(f"{kind} ({response.status_code}): {error!r}") from None


def test_hsts_only_over_tls(http):
    assert "strict-transport-security" not in http.get("/").headers
    for path in ("/", "/api/procedures", "/healthz"):
        over_tls = http.get(path, headers={"X-Forwarded-Proto": "https"})
        assert over_tls.headers["strict-transport-security"].startswith("max-age=31536000")
