"""The S3 backend (AWS, SeaweedFS, Garage, Ceph) through boto3, every call in a thread pool."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from server.config import StorageSettings
from server.attachments.storage.base import (
    CHUNK_SIZE, PutTarget, StorageError, StorageUnavailable, ObjectNotFound, StorageUnsupported, UploadRejected, Part,
    content_disposition, _check_expires, _check_part_number,
)


def _s3_client(settings: StorageSettings) -> Any:  # a boto3 S3 client: boto3 has no type information
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=settings.region,
        # SigV4 everywhere: Garage and recent AWS regions refuse the older SigV2 presigned URLs.
        signature_version="s3v4",
        s3={"addressing_style": "path" if settings.path_style else "auto"},
        # "when_required": many S3-compatible servers reject the newer default checksum headers, and a
        # browser's presigned PUT could not send them anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=3,
        read_timeout=10,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.client("s3", endpoint_url=settings.endpoint_url, aws_access_key_id=settings.access_key,
                        aws_secret_access_key=settings.secret_key, config=config)


_NOT_FOUND = {"NoSuchKey", "NotFound", "404", "NoSuchUpload"}
_UNSUPPORTED = {"NotImplemented", "MethodNotAllowed"}
_UNAVAILABLE = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "NoSuchBucket"}
_REJECTED = {"EntityTooSmall", "EntityTooLarge", "InvalidPart", "InvalidPartOrder", "MalformedXML"}


def _translate(error: Exception) -> Exception:
    """Map boto3's errors to the three kinds the routes answer differently."""
    from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _NOT_FOUND:
            return ObjectNotFound(code)
        if code in _UNSUPPORTED or status in (405, 501):
            return StorageUnsupported(f"the S3 server does not implement this operation ({code})")
        if code in _REJECTED:
            return UploadRejected(code)
        if code in _UNAVAILABLE or status >= 500:
            hint = ": run `motcua storage init`" if code == "NoSuchBucket" else ""
            return StorageUnavailable(f"S3 answered {status} {code}{hint}")
        return StorageError(f"S3 answered {status} {code}")
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return StorageUnavailable(f"S3 is unreachable: {error}")
    return StorageError(str(error))


class S3Storage:
    name = "s3"

    def __init__(self, settings: StorageSettings) -> None:
        self.bucket = settings.bucket
        self.client = _s3_client(settings)

    async def _call(self, operation: str, **params: Any) -> Any:
        """The boto3 operation's answer (untyped: a dict as botocore parses it)."""
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, operation)

        def call() -> Any:
            try:
                return method(**params)
            except (BotoCoreError, ClientError) as error:
                raise _translate(error) from error
        return await run_in_threadpool(call)

    async def _presign(self, operation: str, expires: int, **params: Any) -> str:
        _check_expires(expires)
        # Signing is local, but resolving credentials may query an instance-metadata service: off the loop.
        url: str = await run_in_threadpool(self.client.generate_presigned_url, operation,
                                           Params={"Bucket": self.bucket, **params}, ExpiresIn=expires)
        return url

    async def check(self) -> None:
        await self._call("head_bucket", Bucket=self.bucket)

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Bucket=self.bucket, Key=key)
        except ObjectNotFound:
            return False
        return True

    async def size(self, key: str) -> int:
        response = await self._call("head_object", Bucket=self.bucket, Key=key)
        return int(response["ContentLength"])

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=key)

    async def open_read(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncGenerator[bytes, None]:
        """Start the GET (raising ObjectNotFound now) and return an iterator over the body's chunks."""
        response = await self._call("get_object", Bucket=self.bucket, Key=key)
        return self._body_chunks(response["Body"], chunk_size)

    async def _body_chunks(self, body: Any, chunk_size: int) -> AsyncGenerator[bytes, None]:
        from botocore.exceptions import BotoCoreError

        def read() -> bytes:
            try:
                chunk: bytes = body.read(chunk_size)
                return chunk
            except BotoCoreError as error:
                raise _translate(error) from error
        try:
            while chunk := await run_in_threadpool(read):
                yield chunk
        finally:
            body.close()

    async def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        def upload() -> None:
            from botocore.exceptions import BotoCoreError, ClientError

            extra = {"ContentType": content_type} if content_type else {}
            try:
                with open(path, "rb") as body:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
            except (BotoCoreError, ClientError) as error:
                raise _translate(error) from error
        await run_in_threadpool(upload)

    async def presign_put(self, key: str, size: int, content_type: str, expires: int) -> PutTarget:
        # Content-Length and Content-Type are signed: S3 refuses a body of any other size or declared type.
        url = await self._presign("put_object", expires, Key=key, ContentLength=int(size), ContentType=content_type)
        return {"method": "PUT", "url": url, "headers": {"Content-Type": content_type}}

    async def create_multipart(self, key: str) -> str:
        response = await self._call("create_multipart_upload", Bucket=self.bucket, Key=key)
        upload_id: str = response["UploadId"]
        return upload_id

    async def presign_part(self, key: str, upload_id: str, part_number: int, expires: int,
                           size: int | None = None) -> str:
        """With `size`, the part's Content-Length is signed and S3 refuses any other length."""
        _check_part_number(part_number)
        extra = {"ContentLength": int(size)} if size is not None else {}
        return await self._presign("upload_part", expires, Key=key, UploadId=upload_id, PartNumber=part_number,
                                   **extra)

    async def list_parts(self, key: str, upload_id: str) -> list[Part]:
        parts: list[Part] = []
        marker = 0
        while True:
            response = await self._call("list_parts", Bucket=self.bucket, Key=key, UploadId=upload_id,
                                        PartNumberMarker=marker)
            parts += [Part(int(p["PartNumber"]), p["ETag"].strip('"'), int(p["Size"]))
                      for p in response.get("Parts", [])]
            if not response.get("IsTruncated"):
                return sorted(parts)
            marker = int(response["NextPartNumberMarker"])

    async def complete_multipart(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        listed = [{"PartNumber": int(number), "ETag": '"%s"' % etag.strip('"')} for number, etag in parts]
        await self._call("complete_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id,
                         MultipartUpload={"Parts": listed})

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await self._call("abort_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id)

    async def presign_get(self, key: str, expires: int, filename: str | None = None,
                          content_type: str | None = None) -> str:
        params = {"Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        return await self._presign("get_object", expires, **params)

    async def promote(self, staging: str, final: str, content_type: str | None = None) -> bool:
        """Server-side copy to the content-addressed key, then delete staging; False if already stored."""
        if not await self.exists(staging):
            raise ObjectNotFound(staging)
        if not await self.exists(final):
            # The declared type was never trusted: store the verified one.
            metadata = {"MetadataDirective": "REPLACE", "ContentType": content_type} if content_type else {}
            await self._call("copy_object", Bucket=self.bucket, Key=final,
                             CopySource={"Bucket": self.bucket, "Key": staging}, **metadata)
            created = True
        else:
            created = False
        await self.delete(staging)
        return created
