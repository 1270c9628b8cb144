"""Static files under content-hashed names, computed when the server starts (no build step).

A file's URL carries a hash of its bytes (`/static/js/app.3f2a1b9c0d.js`), so it can be cached for a year
and a new release never mixes old and new files. JavaScript modules import each other by relative names
(`./forms.js`), and start workers by relative URL (`new URL("./photo-worker.js", import.meta.url)`); those are
rewritten to the hashed URLs before hashing, so a changed module also changes the
hash of every module that imports it (a Merkle tree: the service worker's precache list changes with them).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HASH_LENGTH = 10
# Served under their own names by server/web/shell.py: a service worker must keep its URL, and the manifest
# is linked from the shell, which is itself revalidated.
UNHASHED = frozenset({"sw.js", "manifest.webmanifest"})
COMPRESSIBLE = frozenset({".js", ".css", ".json", ".webmanifest", ".svg", ".html", ".txt"})
# `import … from "./x.js"`, `export … from "./x.js"`, `import "./x.js"`, `import("./x.js")`.
MODULE_SPECIFIER = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}/[^"'\s]+)\2""")
# `new URL("./x.js", import.meta.url)`: a module worker's script (photo.js starts photo-worker.js). Hashed too, so the
# page starts the very file the service worker precached, and a changed worker changes its starter's hash.
MODULE_URL = re.compile(r"""(\bnew\s+URL\(\s*)(["'])(\.{1,2}/[^"'\s]+)\2(?=\s*,\s*import\.meta\.url\s*\))""")
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".webmanifest": "application/manifest+json",
               ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json"}


@dataclass(frozen=True)
class Asset:
    path: str  # the logical name under pwa/static, e.g. "js/app.js"
    url: str  # "/static/js/app.3f2a1b9c0d.js"
    body: bytes
    gzipped: bytes | None  # None when compressing does not pay (images)
    media_type: str
    digest: str


def media_type_of(path: str) -> str:
    suffix = PurePosixPath(path).suffix
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def compress(body: bytes) -> bytes:
    # mtime=0: the same bytes give the same compressed bytes on every instance behind a proxy.
    return gzip.compress(body, compresslevel=9, mtime=0)


@functools.lru_cache(maxsize=512)
def brotli_compress(body: bytes) -> bytes:
    """The Brotli form of an asset, made on its first request and kept (quality 11 is ~15 % smaller than gzip -9
    on the app's modules but ~1 s for all of them: not paid at start-up, where the tests start many servers)."""
    import brotli

    compressed: bytes = brotli.compress(body, quality=11)
    return compressed


def accepts(accept_encoding: str, encoding: str) -> bool:
    """Whether an Accept-Encoding header names `encoding` (without q=0)."""
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() == encoding and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False


def hashed_url(path: str, digest: str) -> str:
    pure = PurePosixPath(path)
    return "/static/" + str(pure.with_name(f"{pure.stem}.{digest}{pure.suffix}"))


class Assets:
    """Every file under `directory` (except UNHASHED), by logical path and by hashed URL."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._by_path: dict[str, Asset] = {}
        self._building: set[str] = set()
        for file in sorted(directory.rglob("*")):
            if file.is_file() and not file.name.startswith("."):
                path = file.relative_to(directory).as_posix()
                if path not in UNHASHED:
                    self._build(path)
        self._by_url = {asset.url: asset for asset in self._by_path.values()}

    def _build(self, path: str) -> Asset:
        if path in self._by_path:
            return self._by_path[path]
        if path in self._building:
            raise ValueError(f"modules import each other in a cycle through {path}")
        self._building.add(path)
        body = (self.directory / path).read_bytes()
        if path.endswith(".js"):
            body = self._rewrite_imports(path, body.decode()).encode()
        digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
        suffix = PurePosixPath(path).suffix
        asset = Asset(path=path, url=hashed_url(path, digest), body=body,
                      gzipped=compress(body) if suffix in COMPRESSIBLE else None,
                      media_type=media_type_of(path), digest=digest)
        self._building.discard(path)
        self._by_path[path] = asset
        return asset

    def _rewrite_imports(self, path: str, text: str) -> str:
        folder = PurePosixPath(path).parent

        def replace(match: re.Match[str]) -> str:
            target = _normalise(folder / match.group(3))
            if not (self.directory / target).is_file():
                raise ValueError(f"{path} imports {match.group(3)}, which does not exist")
            return f"{match.group(1)}{match.group(2)}{self._build(target).url}{match.group(2)}"

        return MODULE_URL.sub(replace, MODULE_SPECIFIER.sub(replace, text))

    def rewrite_imports(self, path: str, text: str) -> str:
        """A file served under its own name (the module service worker) importing hashed modules."""
        return self._rewrite_imports(path, text)

    def url(self, path: str) -> str:
        """The hashed URL of a file under pwa/static; templates call it as asset("js/app.js")."""
        return self._by_path[path.lstrip("/")].url

    def by_url(self, url: str) -> Asset | None:
        return self._by_url.get(url)

    def all(self) -> list[Asset]:
        return list(self._by_path.values())

    def digest(self) -> str:
        """One hash of every asset: changes whenever any file changes."""
        return hashlib.sha256("\n".join(sorted(a.url for a in self._by_path.values())).encode()).hexdigest()


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                raise ValueError(f"{path} leaves the static folder")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)
