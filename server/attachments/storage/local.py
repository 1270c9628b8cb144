"""The embedded default backend: objects are files in a folder, and devices reach them through
links signed with the app's SECRET_KEY (/files/upload/<token>, /files/download/<token>, served by
server/attachments/file_routes.py), the stand-in for S3's presigned URLs.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from starlette.concurrency import run_in_threadpool

from server.attachments.storage.base import (
    MIN_PART_SIZE, PART_SIZE, CHUNK_SIZE, _UPLOAD_ID, PutTarget, StorageError, StorageUnavailable, ObjectNotFound,
    UploadRejected, InvalidToken, TokenExpired, Part, UploadGrant, DownloadGrant, _check_expires,
    _check_part_number,
)

if TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer


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
        def open_file() -> BinaryIO:
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

    async def presign_put(self, key: str, size: int, content_type: str, expires: int) -> PutTarget:
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

            def concatenate(out: BinaryIO) -> None:
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

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
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

    def _verify(self, token: str, salt: str, now: float | None) -> dict[str, Any]:
        from itsdangerous import BadSignature

        payload: dict[str, Any]
        signed_at: datetime
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
        def open_temp() -> IO[bytes]:
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


async def _read_chunks(handle: BinaryIO, chunk_size: int) -> AsyncGenerator[bytes, None]:
    try:
        while chunk := await run_in_threadpool(handle.read, chunk_size):
            yield chunk
    finally:
        handle.close()


def _atomic_write(target: Path, write: Callable[[BinaryIO], object]) -> None:
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
