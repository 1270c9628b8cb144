"""The storage interface: the `Storage` protocol every backend meets, its errors, grants and key rules."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, TypedDict
from urllib.parse import quote


MiB = 1024 * 1024
# S3 refuses a multipart part under 5 MiB unless it is the last one; the local backend enforces the same
# rule so that a device behaves identically on both.
MIN_PART_SIZE = 5 * MiB
# The part size devices use; a file larger than one part goes multipart, a smaller one is a single PUT.
PART_SIZE = MIN_PART_SIZE
MAX_PARTS = 10_000
CHUNK_SIZE = 64 * 1024  # streaming reads and writes never hold more than this per step
MAX_URL_LIFETIME = 7 * 24 * 3600  # S3's own ceiling for a presigned URL

_SHA256 = re.compile(r"[0-9a-f]{64}")
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{8,128}")


class StorageError(Exception):
    """Something went wrong with the object store that is neither transient nor a missing object."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or answers with a server error: try again later (HTTP 503)."""


class ObjectNotFound(StorageError):
    """The object, or the multipart upload, does not exist."""


class StorageUnsupported(StorageError):
    """The server does not implement this operation (e.g. s3rver has no ListParts)."""


class UploadRejected(StorageError):
    """The store refused what was sent: too large, parts too small, out of order, or an unknown part."""


class InvalidToken(StorageError):
    """A signed local URL is forged, altered or meant for another purpose."""


class TokenExpired(InvalidToken):
    """A signed local URL was genuine but its lifetime has passed."""


class Part(NamedTuple):
    part_number: int
    etag: str  # without surrounding quotes
    size: int


class UploadGrant(NamedTuple):
    """What a signed local upload URL allows: write at most `max_size` bytes to `key` (or to one part)."""
    key: str
    max_size: int
    part_number: int | None
    upload_id: str | None
    nonce: str  # record it after a successful write to make the URL single use


class PutTarget(TypedDict):
    """A presigned single PUT: the device sends the whole file to `url` with these headers."""
    method: str
    url: str
    headers: dict[str, str]


class DownloadGrant(NamedTuple):
    key: str
    filename: str | None
    content_type: str | None


# --- keys ----------------------------------------------------------------------------------------

def key_for(sha256: str) -> str:
    """The content-addressed key of an object: objects/ab/cd/<sha256>."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return f"objects/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def thumbnail_key_for(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return f"thumbnails/{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"


def staging_key(upload_id: str) -> str:
    """Where a device's bytes land before verification: staging/<upload id>."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise ValueError("upload id must be 8-128 characters of A-Z a-z 0-9 _ -")
    return f"staging/{upload_id}"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """RFC 6266 header value: an ASCII fallback plus the UTF-8 name (Vietnamese names survive)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _check_expires(expires: int) -> None:
    if not 1 <= expires <= MAX_URL_LIFETIME:
        raise ValueError(f"expires must be between 1 and {MAX_URL_LIFETIME} seconds")


def _check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PARTS:
        raise ValueError(f"part_number must be between 1 and {MAX_PARTS}")


class Storage(Protocol):
    """The interface both backends share; the routes use only this (plus FileStorage's local helpers)."""
    name: str

    async def check(self) -> None:
        """Raise if the store cannot be reached or written."""

    async def exists(self, key: str) -> bool: ...
    async def size(self, key: str) -> int: ...
    async def delete(self, key: str) -> None: ...
    async def open_read(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncGenerator[bytes, None]: ...
    async def put_file(self, key: str, path: Path, content_type: str | None = None) -> None: ...
    async def presign_put(self, key: str, size: int, content_type: str, expires: int) -> PutTarget: ...
    async def create_multipart(self, key: str) -> str: ...
    async def presign_part(self, key: str, upload_id: str, part_number: int, expires: int,
                           size: int | None = None) -> str: ...
    async def list_parts(self, key: str, upload_id: str) -> list[Part]: ...
    async def complete_multipart(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None: ...
    async def abort_multipart(self, key: str, upload_id: str) -> None: ...
    async def presign_get(self, key: str, expires: int, filename: str | None = None,
                          content_type: str | None = None) -> str: ...
    async def promote(self, staging: str, final: str, content_type: str | None = None) -> bool: ...


# --- the local folder ----------------------------------------------------------------------------
