"""One error pipeline (server/web/errors.py): an unexpected exception answers JSON under /api and the error page
elsewhere, both with a request id that the "motcua" log has with the traceback; a locked SQLite database answers
503 with Retry-After, never a plain-text 500."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from starlette.routing import Route
from starlette.testclient import TestClient

from server import db
from server.app import create_app
from server.config import load_settings
from server.models import RateWindow


class Boom(RuntimeError):
    pass


async def _boom(request):
    raise Boom("kaput 42")


def _app_with_failing_routes(tmp_path, **env):
    app = create_app(load_settings({"MOTCUA_DATA_DIR": str(tmp_path / "data"), **env}))
    # Test-only routes, ahead of the app's own.
    app.router.routes[:0] = [Route("/api/test-boom", _boom), Route("/test-boom", _boom)]
    return app


def test_unexpected_error_on_api_answers_json_with_a_logged_request_id(tmp_path, caplog):
    client = TestClient(_app_with_failing_routes(tmp_path), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="motcua"):
        response = client.get("/api/test-boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "internal"
    assert "Máy chủ" in error["message"] and error["message_en"]
    rid = error["request_id"]
    assert rid and response.headers["x-request-id"] == rid
    records = [record for record in caplog.records if record.name == "motcua" and rid in record.getMessage()]
    assert records, caplog.text
    record = records[0]
    assert record.request_id == rid and record.method == "GET" and record.path == "/api/test-boom"
    assert record.exc_info and record.exc_info[0] is Boom
    assert "kaput 42" in caplog.text  # the traceback is in the log, not in the answer
    assert "kaput" not in response.text


def test_unexpected_error_on_a_page_answers_the_error_page_with_the_request_id(tmp_path, caplog):
    client = TestClient(_app_with_failing_routes(tmp_path), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="motcua"):
        response = client.get("/test-boom", headers={"X-Request-ID": "req-from-proxy-1"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "req-from-proxy-1" in response.text and "Máy chủ gặp lỗi" in response.text
    assert "kaput" not in response.text
    assert "req-from-proxy-1" in caplog.text


def test_locked_sqlite_database_answers_503_with_retry_after(tmp_path):
    path = tmp_path / "locked.sqlite3"
    settings = load_settings({"MOTCUA_DATA_DIR": str(tmp_path / "data"),
                              "DATABASE_URL": f"sqlite://{path}?busy_timeout=200"})
    async def migrate() -> None:  # on its own event loop: close what it opened before the app opens its own
        await db.migrate(settings)
        await db.disconnect()

    asyncio.run(migrate())
    app = create_app(settings)

    async def write_in_transaction(request):
        from starlette.responses import JSONResponse
        from tortoise.transactions import in_transaction

        async with in_transaction():
            await RateWindow.create(key="test", window_started="2026-01-01T00:00:00+00:00", hits=1)
        return JSONResponse({"ok": True})

    app.router.routes[:0] = [Route("/api/test-write", write_in_transaction, methods=["POST"])]
    with TestClient(app, raise_server_exceptions=False) as client:
        csrf = client.get("/api/session").json()["csrf_token"]
        holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than the busy timeout
        try:
            # A write transaction (BEGIN IMMEDIATE waits busy_timeout, then gives up cleanly) ...
            response = client.post("/api/test-write")
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error"]["code"] == "database_busy"
            assert response.json()["error"]["request_id"]
            # ... and an app route whose first write is a single statement (the sign-in rate limit).
            response = client.post("/api/session", json={"phone": "0900000000", "password": "x"},
                                   headers={"x-csrf-token": csrf})
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"]
            assert response.json()["error"]["code"] == "database_busy"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # The lock is gone: the same write goes through (the connection's own lock was given back).
        assert client.post("/api/test-write").json() == {"ok": True}
