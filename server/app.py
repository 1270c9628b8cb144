"""The Starlette application: routes, middleware and the connection to the database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from tortoise.exceptions import ValidationError

from server import db

from server.accounts import routes as accounts_routes
from server.attachments import file_routes, reuse_routes
from server.attachments import routes as attachments_routes
from server.catalog import routes as catalog_routes
from server.documents import routes as documents_routes
from server.documents import tracking_routes
from server.dossiers import claim_routes, rating_routes, sync_routes
from server.dossiers import routes as dossiers_routes
from server.notify import routes as notify_routes
from server.notify import zalo_receipts
from server.payments import routes as payments_routes
from server.statistics import routes as statistics_routes
from server.web import openapi, pages, shell
from server.workflow import calendar_routes, code_block_routes
from server.workflow import routes as workflow_routes
from server import config
from server.config import Settings
from server.web.errors import (ApiError, api_error_handler, database_busy_errors, database_busy_handler,
                               database_unavailable_errors, database_unavailable_handler, internal_error_handler,
                               setup_logging, value_does_not_fit_handler)
from server.web.admission import Admission
from server.web.health import healthz
from server.notify.push.worker import InProcessWorker
from server.web.requests import BodySizeLimit, RefuseMalformedURLs
from server.web.security_headers import SecurityHeaders
from server.attachments.storage import make_storage
from server.resources import PWA_DIR



# JSON for the app and for tools, each domain's routes under /api (docs/architecture.md).
API_ROUTES = [
    Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
    *accounts_routes.api_routes,
    *catalog_routes.api_routes,
    *dossiers_routes.api_routes, *sync_routes.api_routes, *rating_routes.api_routes, *claim_routes.api_routes,
    *calendar_routes.api_routes, *code_block_routes.api_routes, *workflow_routes.api_routes,
    *notify_routes.api_routes, *zalo_receipts.api_routes,
    *payments_routes.api_routes,
    *attachments_routes.api_routes, *reuse_routes.api_routes,
    *tracking_routes.api_routes,
    *statistics_routes.api_routes,
]
# Pages for people (HTML, PDF, CSV), the stand-in for presigned storage links, and the installable app.
PAGE_ROUTES = [
    *documents_routes.page_routes, *tracking_routes.page_routes,
    *statistics_routes.page_routes,
    *file_routes.page_routes,
    *payments_routes.page_routes,
    *pages.page_routes,
]  # and the installable app's routes (server/web/shell.py), made in create_app from settings.pwa_dir


def endpoints(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    """Every route with its full path, through the mounts: what the access table and the OpenAPI test walk."""
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from endpoints(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def create_app(settings: Settings, *, require_current_schema: bool = True) -> Starlette:
    config.install(settings)  # for domain code without a request at hand (config.current())
    setup_logging()
    app_dir = settings.pwa_dir or PWA_DIR
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect(settings, require_current=require_current_schema, shared=True)
        # The embedded default sends its own pushes; with MOTCUA_PUSH_WORKER=external `motcua worker` does.
        push_worker = InProcessWorker(settings) if settings.push_worker == "inprocess" else None
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
        Mount("/api", routes=API_ROUTES),
        *PAGE_ROUTES,
        # /app, /sw.js, /manifest.webmanifest and hashed /static/<name>.<hash>.<ext>
        *shell.make_routes(shell.Release(app_dir=app_dir)),
        Mount("/static", StaticFiles(directory=app_dir / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        # Pages and JSON answers are compressed for 2G phones; /api/sync and hashed assets compress themselves,
        # and images and PDFs are compressed already.
        middleware=[Middleware(GZipMiddleware, minimum_size=500, compresslevel=6,
                               exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf")),
                    Middleware(SecurityHeaders), Middleware(RefuseMalformedURLs), Middleware(BodySizeLimit)],
        exception_handlers={ApiError: api_error_handler, ValidationError: value_does_not_fit_handler,
                            404: pages.not_found, 405: pages.method_not_allowed,
                            **{kind: database_unavailable_handler for kind in database_unavailable_errors()},
                            **{kind: database_busy_handler for kind in database_busy_errors()},
                            # anything else: JSON or the error page with a logged request id (server/web/errors.py)
                            Exception: internal_error_handler},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sync_admission = Admission(settings.sync_concurrency)  # server/web/admission.py
    app.state.storage = make_storage(settings.storage, secret_key=settings.secret_key)
    return app
