"""Where attachment bytes live: one interface, two backends (a local folder, or S3 through boto3).

Objects are private and addressed by content hash (DESIGN.md, Attachments). Devices send bytes straight
to the store with a short-lived signed URL (presigned S3 URL, or a signed local URL on the embedded
default), into a staging key; the server verifies the bytes (server/attachment_check.py) and only then
`promote`s them to their content-addressed key, where the same content is stored once.

Every method that touches the store is async and runs boto3 or file I/O in a thread pool: the event loop
never waits on a disk or a network. Errors come out as three kinds the routes can answer differently:
`StorageUnavailable` (503 with Retry-After), `ObjectNotFound` (404), `StorageUnsupported` (the server lacks
an operation). See docs/storage.md.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool

from server.config import Settings, StorageSettings

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
    async def presign_put(self, key: str, size: int, content_type: str, expires: int) -> dict: ...
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

class FileStorage:
    """The embedded default: objects are files under `root`; URLs are signed with the app's SECRET_KEY.

    Signed URLs are relative to the app (/files/upload/<token>, /files/download/<token>); the routes that
    serve them call `verify_upload_token` / `verify_download_token` and `write_stream` / `write_part` /
    `open_read`.
    """

    name = "file"
    UPLOAD_SALT = "motcua.files.upload"
    DOWNLOAD_SALT = "motcua.files.download"

    def __init__(self, root: Path, secret_key: str | None = None, url_prefix: str = "/files") -> None:
        self.root = root
        self.secret_key = secret_key
        self.url_prefix = url_prefix.rstrip("/")

    # paths

    def path_for(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not str(path).startswith(str(self.root.resolve()) + os.sep):
            raise ValueError("key escapes the storage folder")
        return path

    def _multipart_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise ObjectNotFound("no such multipart upload")
        return self.root / ".multipart" / upload_id

    def _require_root(self) -> None:
        # The folder exists from start-up on; if it is gone, the volume is unmounted or broken.
        if not self.root.is_dir():
            raise StorageUnavailable(f"storage folder {self.root} is missing or not a folder")

    # the common interface

    async def check(self) -> None:
        def probe() -> None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                    pass
            except OSError as error:
                raise StorageUnavailable(f"cannot write to {self.root}: {error.strerror}") from error
        await run_in_threadpool(probe)

    async def exists(self, key: str) -> bool:
        def probe() -> bool:
            self._require_root()
            return self.path_for(key).is_file()
        return await run_in_threadpool(probe)

    async def size(self, key: str) -> int:
        def probe() -> int:
            self._require_root()
            try:
                return self.path_for(key).stat().st_size
            except (FileNotFoundError, NotADirectoryError):
                raise ObjectNotFound(key) from None
        return await run_in_threadpool(probe)

    async def delete(self, key: str) -> None:
        def remove() -> None:
            self._require_root()
            self.path_for(key).unlink(missing_ok=True)
        await run_in_threadpool(remove)

    async def open_read(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncGenerator[bytes, None]:
        """Open the object (raising ObjectNotFound now) and return an iterator over its chunks."""
        def open_file():
            self._require_root()
            try:
                return open(self.path_for(key), "rb")
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound(key) from None
        handle = await run_in_threadpool(open_file)
        return _read_chunks(handle, chunk_size)

    async def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        def copy() -> None:
            self._require_root()
            with open(path, "rb") as source:
                _atomic_write(self.path_for(key), lambda out: shutil.copyfileobj(source, out, CHUNK_SIZE))
        await run_in_threadpool(copy)

    async def presign_put(self, key: str, size: int, content_type: str, expires: int) -> dict:
        self.path_for(key)
        _check_expires(expires)
        token = self._sign_upload(key, size, expires)
        return {"method": "PUT", "url": f"{self.url_prefix}/upload/{token}", "headers": {"Content-Type": content_type}}

    async def create_multipart(self, key: str) -> str:
        self.path_for(key)

        def create() -> str:
            self._require_root()
            upload_id = secrets.token_hex(16)
            folder = self._multipart_dir(upload_id)
            folder.mkdir(parents=True)
            (folder / "key").write_text(key)
            return upload_id
        return await run_in_threadpool(create)

    async def presign_part(self, key: str, upload_id: str, part_number: int, expires: int,
                           size: int | None = None) -> str:
        _check_part_number(part_number)
        _check_expires(expires)
        await run_in_threadpool(self._upload_folder, key, upload_id)
        token = self._sign_upload(key, PART_SIZE if size is None else size, expires,
                                  part_number=part_number, upload_id=upload_id)
        return f"{self.url_prefix}/upload/{token}"

    async def list_parts(self, key: str, upload_id: str) -> list[Part]:
        def scan() -> list[Part]:
            return self._parts(self._upload_folder(key, upload_id))
        return await run_in_threadpool(scan)

    async def complete_multipart(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        def assemble() -> None:
            folder = self._upload_folder(key, upload_id)
            stored = {part.part_number: part for part in self._parts(folder)}
            chosen = _validate_completion(parts, stored)

            def concatenate(out) -> None:
                for part in chosen:
                    with open(folder / f"{part.part_number:05d}.{part.etag}.part", "rb") as source:
                        shutil.copyfileobj(source, out, CHUNK_SIZE)
            _atomic_write(self.path_for(key), concatenate)
            shutil.rmtree(folder, ignore_errors=True)
        await run_in_threadpool(assemble)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        def remove() -> None:
            shutil.rmtree(self._upload_folder(key, upload_id), ignore_errors=True)
        await run_in_threadpool(remove)

    async def presign_get(self, key: str, expires: int, filename: str | None = None,
                          content_type: str | None = None) -> str:
        self.path_for(key)
        _check_expires(expires)
        payload = {"k": key, "e": expires, "f": filename, "t": content_type}
        token = self._serializer(self.DOWNLOAD_SALT).dumps(payload)
        return f"{self.url_prefix}/download/{token}"

    async def promote(self, staging: str, final: str, content_type: str | None = None) -> bool:
        """Move verified bytes to their content-addressed key; False if that content was already stored."""
        def move() -> bool:
            self._require_root()
            source, target = self.path_for(staging), self.path_for(final)
            if not source.is_file():
                raise ObjectNotFound(staging)
            if target.is_file():
                source.unlink(missing_ok=True)
                return False
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)  # atomic on one file system; same content makes a race harmless
            return True
        return await run_in_threadpool(move)

    # local upload helpers, used by the /files routes

    async def write_stream(self, key: str, chunks: AsyncIterable[bytes], max_size: int) -> int:
        """Write a request body to `key` through a temp file and an atomic rename; refuse beyond max_size."""
        size, _ = await self._stream_to(self.path_for(key), chunks, max_size)
        return size

    async def write_part(self, key: str, upload_id: str, part_number: int, chunks: AsyncIterable[bytes],
                         max_size: int = PART_SIZE) -> str:
        """Store one multipart part; returns its ETag (MD5 hex, as S3 does). Re-sending a part replaces it."""
        _check_part_number(part_number)
        folder = await run_in_threadpool(self._upload_folder, key, upload_id)
        incoming = folder / f".{part_number:05d}.{secrets.token_hex(4)}.incoming"
        _, etag = await self._stream_to(incoming, chunks, max_size)

        def install() -> None:
            for old in folder.glob(f"{part_number:05d}.*.part"):
                old.unlink(missing_ok=True)
            os.replace(incoming, folder / f"{part_number:05d}.{etag}.part")
        await run_in_threadpool(install)
        return etag

    def verify_upload_token(self, token: str, now: float | None = None) -> UploadGrant:
        payload = self._verify(token, self.UPLOAD_SALT, now)
        return UploadGrant(key=payload["k"], max_size=payload["m"], part_number=payload.get("p"),
                           upload_id=payload.get("u"), nonce=payload["n"])

    def verify_download_token(self, token: str, now: float | None = None) -> DownloadGrant:
        payload = self._verify(token, self.DOWNLOAD_SALT, now)
        return DownloadGrant(key=payload["k"], filename=payload.get("f"), content_type=payload.get("t"))

    # internals

    def _serializer(self, salt: str):
        from itsdangerous import URLSafeTimedSerializer

        if not self.secret_key:
            raise StorageError("FileStorage needs the SECRET_KEY to sign URLs: "
                               "make_storage(settings.storage, secret_key=settings.secret_key)")
        return URLSafeTimedSerializer(self.secret_key, salt=salt)

    def _sign_upload(self, key: str, max_size: int, expires: int, part_number: int | None = None,
                     upload_id: str | None = None) -> str:
        payload = {"k": key, "m": int(max_size), "e": expires, "n": secrets.token_urlsafe(12)}
        if part_number is not None:
            payload |= {"p": part_number, "u": upload_id}
        return self._serializer(self.UPLOAD_SALT).dumps(payload)

    def _verify(self, token: str, salt: str, now: float | None) -> dict:
        from itsdangerous import BadSignature

        try:
            payload, signed_at = self._serializer(salt).loads(token, return_timestamp=True)
        except BadSignature:
            raise InvalidToken("the link is not valid") from None
        age = (time.time() if now is None else now) - signed_at.timestamp()
        if age > payload["e"]:
            raise TokenExpired("the link has expired")
        return payload

    def _upload_folder(self, key: str, upload_id: str) -> Path:
        self._require_root()
        folder = self._multipart_dir(upload_id)
        try:
            recorded = (folder / "key").read_text()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound("no such multipart upload") from None
        if recorded != key:
            raise ObjectNotFound("no such multipart upload for this key")
        return folder

    @staticmethod
    def _parts(folder: Path) -> list[Part]:
        parts = []
        for path in folder.glob("*.part"):
            number, etag, _ = path.name.split(".")
            parts.append(Part(int(number), etag, path.stat().st_size))
        return sorted(parts)

    async def _stream_to(self, target: Path, chunks: AsyncIterable[bytes], max_size: int) -> tuple[int, str]:
        """Stream into a temp file next to `target`, then rename; returns (size, md5 hex)."""
        def open_temp():
            self._require_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            return tempfile.NamedTemporaryFile(dir=target.parent, prefix=".upload-", delete=False)
        handle = await run_in_threadpool(open_temp)
        digest, size = hashlib.md5(usedforsecurity=False), 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise UploadRejected(f"more than the {max_size} bytes allowed")
                digest.update(chunk)
                await run_in_threadpool(handle.write, chunk)

            def finish() -> None:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                os.replace(handle.name, target)
            await run_in_threadpool(finish)
        except BaseException:
            handle.close()
            Path(handle.name).unlink(missing_ok=True)
            raise
        return size, digest.hexdigest()


async def _read_chunks(handle, chunk_size: int) -> AsyncGenerator[bytes, None]:
    try:
        while chunk := await run_in_threadpool(handle.read, chunk_size):
            yield chunk
    finally:
        handle.close()


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".write-")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _validate_completion(parts: Sequence[tuple[int, str]], stored: dict[int, Part]) -> list[Part]:
    """The same rules S3 applies on CompleteMultipartUpload, so the local backend refuses what S3 refuses."""
    if not parts:
        raise UploadRejected("no parts to assemble")
    numbers = [number for number, _ in parts]
    if numbers != sorted(set(numbers)):
        raise UploadRejected("parts must be listed in ascending order, each once")
    chosen = []
    for number, etag in parts:
        part = stored.get(number)
        if part is None or part.etag != etag.strip('"'):
            raise UploadRejected(f"part {number} was not uploaded or its ETag differs")
        chosen.append(part)
    if any(part.size < MIN_PART_SIZE for part in chosen[:-1]):
        raise UploadRejected(f"every part but the last must be at least {MIN_PART_SIZE} bytes")
    return chosen


# --- S3 ------------------------------------------------------------------------------------------

def _s3_client(settings: StorageSettings):
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

    async def _call(self, operation: str, **params):
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, operation)

        def call():
            try:
                return method(**params)
            except (BotoCoreError, ClientError) as error:
                raise _translate(error) from error
        return await run_in_threadpool(call)

    async def _presign(self, operation: str, expires: int, **params) -> str:
        _check_expires(expires)
        # Signing is local, but resolving credentials may query an instance-metadata service: off the loop.
        return await run_in_threadpool(self.client.generate_presigned_url, operation,
                                       Params={"Bucket": self.bucket, **params}, ExpiresIn=expires)

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

    async def _body_chunks(self, body, chunk_size: int) -> AsyncGenerator[bytes, None]:
        from botocore.exceptions import BotoCoreError

        def read() -> bytes:
            try:
                return body.read(chunk_size)
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

    async def presign_put(self, key: str, size: int, content_type: str, expires: int) -> dict:
        # Content-Length and Content-Type are signed: S3 refuses a body of any other size or declared type.
        url = await self._presign("put_object", expires, Key=key, ContentLength=int(size), ContentType=content_type)
        return {"method": "PUT", "url": url, "headers": {"Content-Type": content_type}}

    async def create_multipart(self, key: str) -> str:
        response = await self._call("create_multipart_upload", Bucket=self.bucket, Key=key)
        return response["UploadId"]

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


def make_storage(settings: StorageSettings, secret_key: str | None = None) -> Storage:
    """The configured backend; FileStorage needs `secret_key` (the app's SECRET_KEY) to sign local URLs."""
    if settings.kind == "s3":
        return S3Storage(settings)
    assert settings.path is not None
    return FileStorage(settings.path, secret_key=secret_key)


# --- `motcua storage init` -----------------------------------------------------------------------

STAGING_LIFETIME_DAYS = 2  # unverified uploads and abandoned multipart uploads are removed after this


def cors_rules(origins: Sequence[str]) -> dict:
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
        params: dict = {"Bucket": bucket}
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
