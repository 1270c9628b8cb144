"""GET /healthz: is the database reachable, is the object store reachable."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise.connection import get_connection


async def healthz(request: Request) -> JSONResponse:
    checks: dict[str, dict[str, object]] = {}
    try:
        await asyncio.wait_for(get_connection("default").execute_query("SELECT 1"), timeout=5)
        checks["database"] = {"ok": True}
    except Exception as error:  # any failure means "not reachable"; say which
        checks["database"] = {"ok": False, "error": type(error).__name__}
    storage = request.app.state.storage
    try:
        await asyncio.wait_for(storage.check(), timeout=5)
        checks["storage"] = {"ok": True, "backend": storage.name}
    except Exception as error:
        checks["storage"] = {"ok": False, "backend": storage.name, "error": type(error).__name__}
    healthy = all(check["ok"] for check in checks.values())
    return JSONResponse({"ok": healthy, "checks": checks}, status_code=200 if healthy else 503)
