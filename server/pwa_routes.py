"""The installable app: its shell page (/app), the service worker, the manifest and the hashed static files.

Everything here is computed once when the server starts (server/assets.py): the shell and the service
worker name the content-hashed URLs, so a release is a new service worker, and an unchanged file is never
downloaded twice (docs/pwa.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from server.assets import Asset, Assets, compress

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
STATIC_DIR = PWA_DIR / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHELL_URL = "/app"


def pwa_dir() -> Path:
    """The app's folder: `pwa/` of this checkout, or `MOTCUA_PWA_DIR` (docs/configuration.md), read at start-up.

    Tests point it at a copy to serve a second release of the app on the same database.
    """
    return Path(os.environ.get("MOTCUA_PWA_DIR") or PWA_DIR).resolve()


class Release:
    """One start-up's view of pwa/: hashed assets, the rendered shell, the service worker and the manifest."""

    def __init__(self, static_dir: Path | None = None, templates_dir: Path | None = None) -> None:
        static_dir = static_dir or pwa_dir() / "static"
        templates_dir = templates_dir or pwa_dir() / "templates"
        self.static_dir = static_dir
        self.assets = Assets(static_dir)
        env = Environment(loader=FileSystemLoader(str(templates_dir)), autoescape=select_autoescape(["html"]))
        env.globals["asset"] = self.assets.url
        modules = sorted(a.url for a in self.assets.all() if a.path.startswith("js/") and a.path.endswith(".js"))
        # modulepreload: every module is asked for at once, not one import level per round trip on 2G.
        self.shell = env.get_template("app.html").render(modules=modules).encode()
        manifest = json.loads((static_dir / "manifest.webmanifest").read_text(encoding="utf-8"))
        for icon in manifest.get("icons", []):
            icon["src"] = self.assets.url(icon["src"].removeprefix("/static/"))
        self.manifest = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        self.precache = [SHELL_URL] + sorted(a.url for a in self.assets.all() if a.path.endswith((".js", ".css")))
        self.version = hashlib.sha256(self.assets.digest().encode() + self.shell).hexdigest()[:12]
        header = (f"self.__PRECACHE = {json.dumps(self.precache)};\n"
                  f"self.__VERSION = {json.dumps(self.version)};\n")
        self.service_worker = header.encode() + (static_dir / "sw.js").read_bytes()


def _send(request: Request, body: bytes, media_type: str, cache: str, gzipped: bytes | None = None,
          **headers: str) -> Response:
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    all_headers = {"cache-control": cache, "vary": "Accept-Encoding", **headers}
    if gzipped is not None and accepts_gzip and len(gzipped) < len(body):
        body, all_headers["content-encoding"] = gzipped, "gzip"
    return Response(body, media_type=media_type, headers=all_headers)


def make_routes(release: Release | None = None) -> list[Route]:
    release = release or Release()
    shell_gz = compress(release.shell)
    sw_gz = compress(release.service_worker)
    etag = f'"{release.version}"'

    async def shell(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"etag": etag, "cache-control": REVALIDATE})
        return _send(request, release.shell, "text/html; charset=utf-8", REVALIDATE, shell_gz, etag=etag)

    async def service_worker(request: Request) -> Response:
        return _send(request, release.service_worker, "text/javascript", REVALIDATE, sw_gz,
                     **{"service-worker-allowed": "/"})

    async def manifest(request: Request) -> Response:
        return _send(request, release.manifest, "application/manifest+json", REVALIDATE)

    return [
        Route(SHELL_URL, shell, methods=["GET"]),
        Route("/sw.js", service_worker, methods=["GET"]),
        Route("/manifest.webmanifest", manifest, methods=["GET"]),
        Route("/static/{path:path}", HashedStatic(release), methods=["GET", "HEAD"]),
    ]


class HashedStatic:
    """/static/<name>.<hash>.<ext> from memory, cached for a year; any other /static/ path as plain files."""

    def __init__(self, release: Release) -> None:
        self.release = release
        self.plain = StaticFiles(directory=release.static_dir)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asset: Asset | None = self.release.assets.by_url(scope["path"])
        if asset is None:
            # Unhashed names (server-rendered pages, tests) keep working as before.
            await self.plain({**scope, "path": "/" + scope["path_params"]["path"], "root_path": ""}, receive, send)
            return
        response = _send(Request(scope), asset.body, asset.media_type, IMMUTABLE, asset.gzipped)
        await response(scope, receive, send)


routes = make_routes()
