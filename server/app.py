"""The Starlette application: routes, middleware and the connection to the database."""

from __future__ import annotations

import contextlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server import db, pages, pwa_routes
from server.api import attachments as attachments_api
from server.api import calendar as calendar_api
from server.api import catalog as catalog_api
from server.api import code_blocks as code_blocks_api
from server.api import documents as documents_api
from server.api import documents_reuse as documents_reuse_api
from server.api import tracking as tracking_api
from server.api import dossiers as dossiers_api
from server.api import files as files_api
from server.api import openapi
from server.api import ratings as ratings_api
from server.api import session as session_api
from server.api import statistics as statistics_api
from server.api import sync as sync_api
from server.api import push as push_api
from server.config import Settings
from server.errors import ApiError, api_error_handler, database_unavailable_errors, database_unavailable_handler
from server.health import healthz
from server.push.worker import InProcessWorker, worker_mode
from server.requests import BodySizeLimit
from server.security_headers import SecurityHeaders
from server.storage import make_storage

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"


def create_app(settings: Settings, *, require_current_schema: bool = True) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await db.connect(settings, require_current=require_current_schema, shared=True)
        # The embedded default sends its own pushes; with MOTCUA_PUSH_WORKER=external `motcua worker` does.
        push_worker = InProcessWorker(settings) if worker_mode() == "inprocess" else None
        if push_worker:
            push_worker.start()
        try:
            yield
        finally:
            if push_worker:
                await push_worker.close()
            await db.disconnect()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/openapi.json", openapi.openapi_json, methods=["GET"]),
        *session_api.routes,
        *catalog_api.routes,
        *dossiers_api.routes,
        *sync_api.routes,
        *calendar_api.routes,
        *code_blocks_api.routes,
        *push_api.routes,
        *attachments_api.routes,
        *documents_reuse_api.routes,
        *documents_api.routes, *tracking_api.routes,
        *ratings_api.routes,
        *statistics_api.routes,  # /statistics, /statistics.csv, /api/statistics (leaders)
        *files_api.routes,
        *pages.routes,
        *pwa_routes.routes,  # /app, /sw.js, /manifest.webmanifest and hashed /static/<name>.<hash>.<ext>
        Mount("/static", StaticFiles(directory=PWA_DIR / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        # Pages and JSON answers are compressed for 2G phones; /api/sync and hashed assets compress themselves,
        # and images and PDFs are compressed already.
        middleware=[Middleware(GZipMiddleware, minimum_size=500, compresslevel=6,
                               exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf")),
                    Middleware(SecurityHeaders), Middleware(BodySizeLimit)],
        exception_handlers={ApiError: api_error_handler, 404: pages.not_found, 405: pages.method_not_allowed,
                            **{kind: database_unavailable_handler for kind in database_unavailable_errors()}},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.storage = make_storage(settings.storage, secret_key=settings.secret_key)
    return app
