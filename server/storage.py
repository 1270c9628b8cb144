"""Where attachment bytes live: one interface, two backends (a local folder, or S3 through boto3).

Objects are private and addressed by content hash (DESIGN.md, Attachments). This module holds the
interface and the reachability check; uploads and downloads build on it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from server.config import StorageSettings


class Storage(Protocol):
    name: str

    async def check(self) -> None:
        """Raise if the store cannot be reached or written."""


class FileStorage:
    name = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    async def check(self) -> None:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        await run_in_threadpool(probe)

    def path_for(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not str(path).startswith(str(self.root.resolve()) + os.sep):
            raise ValueError("key escapes the storage folder")
        return path


class S3Storage:
    name = "s3"

    def __init__(self, settings: StorageSettings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.bucket
        # "when_required": many S3-compatible servers reject the newer default checksum headers.
        config = Config(
            region_name=settings.region,
            s3={"addressing_style": "path" if settings.path_style else "auto"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 2},
        )
        self.client = boto3.client("s3", endpoint_url=settings.endpoint_url, aws_access_key_id=settings.access_key,
                                   aws_secret_access_key=settings.secret_key, config=config)

    async def check(self) -> None:
        await run_in_threadpool(self.client.head_bucket, Bucket=self.bucket)


def make_storage(settings: StorageSettings) -> Storage:
    if settings.kind == "s3":
        return S3Storage(settings)
    assert settings.path is not None
    return FileStorage(settings.path)
