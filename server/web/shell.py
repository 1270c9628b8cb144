"""The installable app: its shell page (/app), the service worker, the manifest and the hashed static files.

Everything here is computed once when the server starts (server/web/assets.py): the shell and the service
worker name the content-hashed URLs, so a release is a new service worker, and an unchanged file is never
downloaded twice (docs/pwa.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from server.web.assets import Asset, Assets, accepts, brotli_compress, compress
from server.resources import PWA_DIR

STATIC_DIR = PWA_DIR / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHELL_URL = "/app"


class Release:
    """One start-up's view of pwa/: hashed assets, the rendered shell, the service worker and the manifest.

    `app_dir`: the shipped pwa/, or MOTCUA_PWA_DIR (settings.pwa_dir; tests serve a second release from a copy).
    """

    def __init__(self, static_dir: Path | None = None, templates_dir: Path | None = None, *,
                 app_dir: Path | None = None) -> None:
        app_dir = app_dir or PWA_DIR
        static_dir = static_dir or app_dir / "static"
        templates_dir = templates_dir or app_dir / "templates"
        self.static_dir = static_dir
        self.assets = Assets(static_dir)
        env = Environment(loader=FileSystemLoader(str(templates_dir)), autoescape=select_autoescape(["html"]))
        env.globals["asset"] = self.assets.url
        # Modules that app.js imports only on demand (the officers' screens) are neither preloaded nor precached:
        # a citizen's phone on 2G never downloads them; an officer's app fetches them while online (docs/pwa.md).
        # The website's own script (the install offer of base.html) is not the app's: never preloaded nor precached.
        self.on_demand = on_demand_modules(static_dir, "js/app.js")
        website = {path for path in WEBSITE_MODULES if (static_dir / path).exists()}
        modules = sorted(a.url for a in self.assets.all()
                         if a.path.startswith("js/") and a.path.endswith(".js") and a.path not in self.on_demand
                         and a.path not in website)
        # modulepreload: every module is asked for at once, not one import level per round trip on 2G.
        self.shell = env.get_template("app.html").render(modules=modules).encode()
        manifest = json.loads((static_dir / "manifest.webmanifest").read_text(encoding="utf-8"))
        for icon in manifest.get("icons", []):
            icon["src"] = self.assets.url(icon["src"].removeprefix("/static/"))
        self.manifest = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        # Style sheets of server-rendered pages (documents, statistics) are not the app's: only the shell's own.
        self.precache = [SHELL_URL] + sorted(
            a.url for a in self.assets.all()
            if (a.path.endswith(".js") and a.path not in self.on_demand and a.path not in website)
            or (a.path.endswith(".css") and a.url.encode() in self.shell))
        self.version = hashlib.sha256(self.assets.digest().encode() + self.shell).hexdigest()[:12]
        header = (f"self.__PRECACHE = {json.dumps(self.precache)};\n"
                  f"self.__ON_DEMAND = {json.dumps(sorted(self.assets.url(path) for path in self.on_demand))};\n"
                  f"self.__VERSION = {json.dumps(self.version)};\n")
        # sw.js is a module worker: its `import … from "./js/sync.js"` points at the hashed module.
        worker = self.assets.rewrite_imports("sw.js", (static_dir / "sw.js").read_text(encoding="utf-8"))
        self.service_worker = header.encode() + worker.encode()


# Scripts of the server-rendered pages (loaded unhashed from /static/; document.js: the printable documents),
# not of the app.
WEBSITE_MODULES = ("js/install.js", "js/site-menu.js", "document.js")

STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;(]*?\bfrom\s*["'](\.{1,2}/[^"']+)["']|^\s*import\s*["'](\.{1,2}/[^"']+)["']""",
                           re.MULTILINE)
DYNAMIC_IMPORT = re.compile(r"""\bimport\s*\(\s*["'](\.{1,2}/[^"']+)["']\s*\)""")


def _imports(static_dir: Path, path: str, pattern: re.Pattern[str]) -> set[str]:
    text = (static_dir / path).read_text(encoding="utf-8")
    folder = PurePosixPath(path).parent
    found = set()
    for match in pattern.finditer(text):
        target = next(group for group in match.groups() if group)
        found.add(os.path.normpath(str(folder / target)).replace(os.sep, "/"))
    return found


def _static_closure(static_dir: Path, roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(_imports(static_dir, path, STATIC_IMPORT) - seen)
    return seen


def on_demand_modules(static_dir: Path, entry: str) -> set[str]:
    """Modules reached only through the entry's `import("./x.js")`, not through its static imports."""
    eager = _static_closure(static_dir, {entry})
    dynamic = set().union(*(_imports(static_dir, path, DYNAMIC_IMPORT) for path in eager))
    return _static_closure(static_dir, dynamic) - eager


def _send(request: Request, body: bytes, media_type: str, cache: str, gzipped: bytes | None = None,
          **headers: str) -> Response:
    all_headers = {"cache-control": cache, "vary": "Accept-Encoding", **headers}
    accepted = request.headers.get("accept-encoding", "")
    # Brotli where the browser takes it (every current one: HTTPS and loopback), else gzip; both only when smaller.
    if gzipped is not None and accepts(accepted, "br") and len(brotli := brotli_compress(body)) < len(body):
        body, all_headers["content-encoding"] = brotli, "br"
    elif gzipped is not None and accepts(accepted, "gzip") and len(gzipped) < len(body):
        body, all_headers["content-encoding"] = gzipped, "gzip"
    return Response(body, media_type=media_type, headers=all_headers)


def make_routes(release: Release | None = None) -> list[Route]:
    release = release or Release()
    shell_gz = compress(release.shell)
    sw_gz = compress(release.service_worker)
    manifest_gz = compress(release.manifest)
    etag = f'"{release.version}"'

    async def shell(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"etag": etag, "cache-control": REVALIDATE})
        return _send(request, release.shell, "text/html; charset=utf-8", REVALIDATE, shell_gz, etag=etag)

    async def service_worker(request: Request) -> Response:
        return _send(request, release.service_worker, "text/javascript", REVALIDATE, sw_gz,
                     **{"service-worker-allowed": "/"})

    async def manifest(request: Request) -> Response:
        return _send(request, release.manifest, "application/manifest+json", REVALIDATE, manifest_gz)

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

