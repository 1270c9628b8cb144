"""`motcua storage init`: make the configured store ready (bucket, CORS rules, lifecycle for staging/)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from server.config import Settings
from server.attachments.storage.base import ObjectNotFound, StorageError, StorageUnsupported
from server.attachments.storage.local import FileStorage
from server.attachments.storage.s3 import S3Storage


STAGING_LIFETIME_DAYS = 2  # unverified uploads and abandoned multipart uploads are removed after this


def cors_rules(origins: Sequence[str]) -> dict[str, Any]:
    """Browsers PUT parts and GET downloads straight to the bucket from the app's origin; they must read
    the ETag of each part to complete a multipart upload."""
    return {"CORSRules": [{
        "AllowedOrigins": list(origins),
        "AllowedMethods": ["PUT", "GET", "HEAD"],
        "AllowedHeaders": ["Content-Type", "Content-Length"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3600,
    }]}


async def init_bucket(settings: Settings, origins: Sequence[str] | None = None) -> list[str]:
    """Create the bucket if missing and set its CORS rules (and, where supported, a lifecycle rule that
    cleans staging/ and abandoned multipart uploads). Returns one line per step for the CLI to print."""
    storage_settings = settings.storage
    if storage_settings.kind != "s3":
        assert storage_settings.path is not None
        await FileStorage(storage_settings.path).check()
        return [f"file storage ready in {storage_settings.path}"]
    if origins is None:
        if not settings.public_url:
            raise StorageError("PUBLIC_URL: set it to the address citizens use (the origin browsers upload "
                               "from), e.g. https://motcua.phutho.gov.vn, then run `motcua storage init` again")
        parts = urlsplit(settings.public_url)
        origins = [f"{parts.scheme}://{parts.netloc}"]
    storage = S3Storage(storage_settings)
    bucket = storage.bucket
    done = []
    try:
        await storage.check()
        done.append(f"bucket {bucket} exists")
    except ObjectNotFound:
        params: dict[str, Any] = {"Bucket": bucket}
        if storage_settings.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": storage_settings.region}
        await storage._call("create_bucket", **params)
        done.append(f"bucket {bucket} created")
    await storage._call("put_bucket_cors", Bucket=bucket, CORSConfiguration=cors_rules(origins))
    done.append(f"CORS: PUT/GET/HEAD from {', '.join(origins)}, ETag exposed")
    lifecycle = {"Rules": [{
        "ID": "motcua-staging", "Status": "Enabled", "Filter": {"Prefix": "staging/"},
        "Expiration": {"Days": STAGING_LIFETIME_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": STAGING_LIFETIME_DAYS},
    }]}
    try:
        await storage._call("put_bucket_lifecycle_configuration", Bucket=bucket, LifecycleConfiguration=lifecycle)
        done.append(f"lifecycle: staging/ and unfinished uploads removed after {STAGING_LIFETIME_DAYS} days")
    except StorageUnsupported:
        done.append("lifecycle rules not supported by this server: clean staging/ yourself")
    return done
