"""Where attachment bytes live: one interface, two backends (a local folder, or S3 through boto3).

Objects are private and addressed by content hash (docs/design.md "Attachments"). Devices send bytes straight
to the store with a short-lived signed URL (presigned S3 URL, or a signed local URL on the embedded
default), into a staging key; the server verifies the bytes (server/attachments/checks.py) and only then
`promote`s them to their content-addressed key, where the same content is stored once.

Every method that touches the store is async and runs boto3 or file I/O in a thread pool: the event loop
never waits on a disk or a network. Errors come out as three kinds the routes can answer differently:
`StorageUnavailable` (503 with Retry-After), `ObjectNotFound` (404), `StorageUnsupported` (the server lacks
an operation). See docs/storage.md.

One module per backend: base.py (the interface: `Storage`, its errors, grants and key rules), local.py
(`FileStorage` and its signed links), s3.py (`S3Storage`), bucket.py (`motcua storage init`). Other code imports
from this package only.
"""

from __future__ import annotations

from server.attachments.storage.base import (
    MiB, MIN_PART_SIZE, PART_SIZE, MAX_PARTS, CHUNK_SIZE, MAX_URL_LIFETIME, StorageError, StorageUnavailable,
    ObjectNotFound, StorageUnsupported, UploadRejected, InvalidToken, TokenExpired, Part, UploadGrant,
    DownloadGrant, key_for, thumbnail_key_for, staging_key, content_disposition, Storage,
)
from server.attachments.storage.bucket import STAGING_LIFETIME_DAYS, cors_rules, init_bucket
from server.attachments.storage.local import FileStorage
from server.attachments.storage.s3 import S3Storage
from server.config import StorageSettings

__all__ = [
    'MiB', 'MIN_PART_SIZE', 'PART_SIZE', 'MAX_PARTS', 'CHUNK_SIZE', 'MAX_URL_LIFETIME', 'StorageError',
    'StorageUnavailable', 'ObjectNotFound', 'StorageUnsupported', 'UploadRejected', 'InvalidToken',
    'TokenExpired', 'Part', 'UploadGrant', 'DownloadGrant', 'key_for', 'thumbnail_key_for', 'staging_key',
    'content_disposition', 'Storage', 'STAGING_LIFETIME_DAYS', 'cors_rules', 'init_bucket', 'FileStorage',
    'S3Storage', 'make_storage',
]


def make_storage(settings: StorageSettings, secret_key: str | None = None) -> Storage:
    """The configured backend; FileStorage needs `secret_key` (the app's SECRET_KEY) to sign local URLs."""
    if settings.kind == "s3":
        return S3Storage(settings)
    assert settings.path is not None
    return FileStorage(settings.path, secret_key=secret_key)
