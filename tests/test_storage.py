"""One storage suite, three backends: the local folder, moto and s3rver (real S3 servers on loopback).

Bytes travel over HTTP with httpx as a browser would send them: to the S3 server for the S3 backends, and
to the real motcua app (server/app.py, its /files routes, on a migrated database: used upload links are
recorded there) for the file backend.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import httpx
import pytest
from starlette.applications import Starlette

from server import db
from server.app import create_app
from server.config import Settings, StorageSettings, load_settings
from server.attachments.storage import (MiB, PART_SIZE, FileStorage, InvalidToken, ObjectNotFound, S3Storage, StorageUnavailable,
                            StorageUnsupported, TokenExpired, UploadRejected, init_bucket, key_for, staging_key)
from tests.conftest import motcua_env, run_motcua
from tests.s3_servers import START, S3Server

SECRET = "s" * 48
PUBLIC_URL = "https://motcua.example.vn"


# --- backends ------------------------------------------------------------------------------------

@dataclass
class Backend:
    kind: str
    storage: FileStorage | S3Storage
    checks_expiry: bool
    has_list_parts: bool
    app: Starlette | None = None
    settings: Settings | None = None

    async def send(self, method: str, url: str, content: bytes = b"", headers: dict | None = None) -> httpx.Response:
        if url.startswith("/"):  # a signed local URL, relative to the app
            # The app's lifespan would connect the database; ASGITransport does not run it, so connect here.
            await db.connect(self.settings, shared=True)
            try:
                transport = httpx.ASGITransport(app=self.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://motcua.test") as client:
                    return await client.request(method, url, content=content, headers=headers)
            finally:
                await db.disconnect()
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.request(method, url, content=content, headers=headers)


@pytest.fixture(scope="module")
def s3_servers(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("s3-servers")
    servers = {kind: start(log_dir) for kind, start in START.items()}
    yield servers
    for server in servers.values():
        server.stop()


def s3_settings(server: S3Server, bucket: str) -> StorageSettings:
    return StorageSettings(kind="s3", bucket=bucket, endpoint_url=server.endpoint, path_style=True,
                           access_key=server.access_key, secret_key=server.secret_key)


def make_bucket(server: S3Server) -> S3Storage:
    settings = s3_settings(server, f"motcua-{uuid.uuid4().hex[:12]}")
    full = Settings(data_dir=Path("."), database_url="", storage=settings, secret_key=SECRET, vapid_private_pem=b"",
                    vapid_public_pem=b"", vapid_subject="", public_url=PUBLIC_URL)
    asyncio.run(init_bucket(full))
    return S3Storage(settings)


@pytest.fixture(scope="module")
def files_database(tmp_path_factory, fresh_database) -> str:
    """A migrated database for the real app's /files routes (SQLite, or PostgreSQL with DATABASE_URL)."""
    url = fresh_database()
    run_motcua(["migrate"], motcua_env(tmp_path_factory.mktemp("files-db"), url))
    return url


@pytest.fixture(params=["file", "moto", "s3rver"])
def backend(request, tmp_path) -> Backend:
    if request.param == "file":
        # The real app with the embedded default: its FileStorage under this test's own data folder.
        settings = load_settings(motcua_env(tmp_path / "data", request.getfixturevalue("files_database"),
                                            SECRET_KEY=SECRET))
        app = create_app(settings)
        assert isinstance(app.state.storage, FileStorage)
        return Backend("file", app.state.storage, checks_expiry=True, has_list_parts=True, app=app, settings=settings)
    server = request.getfixturevalue("s3_servers")[request.param]
    return Backend(request.param, make_bucket(server), server.checks_expiry, server.has_list_parts)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def read_all(storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in await storage.open_read(key)])


@contextmanager
def signed_in_the_past(seconds: int):
    """URLs signed inside this block carry a signing time `seconds` ago (both signers' clocks)."""
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    import itsdangerous.timed

    with mock.patch("botocore.auth.get_current_datetime", lambda remove_tzinfo=True: past.replace(tzinfo=None)), \
            mock.patch.object(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(past.timestamp())):
        yield


# --- the suite -----------------------------------------------------------------------------------

def test_put_exists_size_read_delete(backend, tmp_path):
    data = os.urandom(300_000)
    source = tmp_path / "thumb.bin"
    source.write_bytes(data)
    key, missing = key_for(sha256(data)), key_for(sha256(b"never stored"))

    async def scenario():
        await backend.storage.put_file(key, source, content_type="image/jpeg")
        assert await backend.storage.exists(key)
        assert await backend.storage.size(key) == len(data)
        chunks = [chunk async for chunk in await backend.storage.open_read(key, chunk_size=64 * 1024)]
        assert b"".join(chunks) == data and len(chunks) > 1  # streamed, not one blob
        assert not await backend.storage.exists(missing)
        with pytest.raises(ObjectNotFound):
            await backend.storage.size(missing)
        with pytest.raises(ObjectNotFound):
            await backend.storage.open_read(missing)
        await backend.storage.delete(key)
        assert not await backend.storage.exists(key)
        await backend.storage.delete(key)  # deleting twice is fine

    asyncio.run(scenario())
    assert key == f"objects/{sha256(data)[:2]}/{sha256(data)[2:4]}/{sha256(data)}"


def test_presigned_put_upload_like_a_browser(backend):
    data, key = os.urandom(120_000), staging_key(uuid.uuid4().hex)

    async def scenario():
        request = await backend.storage.presign_put(key, len(data), "image/jpeg", expires=300)
        assert request["method"] == "PUT" and request["headers"] == {"Content-Type": "image/jpeg"}
        response = await backend.send(request["method"], request["url"], data, request["headers"])
        assert response.status_code == 200, response.text
        assert await read_all(backend.storage, key) == data

    asyncio.run(scenario())


def test_multipart_upload_resumes_after_a_cut(backend):
    data = os.urandom(12 * MiB)
    chunks = [data[i:i + PART_SIZE] for i in range(0, len(data), PART_SIZE)]
    assert [len(c) for c in chunks] == [5 * MiB, 5 * MiB, 2 * MiB]
    key = staging_key(uuid.uuid4().hex)

    async def upload_part(upload_id: str, number: int) -> str:
        url = await backend.storage.presign_part(key, upload_id, number, expires=300, size=len(chunks[number - 1]))
        response = await backend.send("PUT", url, chunks[number - 1])
        assert response.status_code == 200, response.text
        return response.headers["ETag"].strip('"')

    async def scenario():
        upload_id = await backend.storage.create_multipart(key)
        etags = {number: await upload_part(upload_id, number) for number in (1, 2)}
        # The connection drops here. On coming back the device asks which parts the store already holds.
        if backend.has_list_parts:
            parts = await backend.storage.list_parts(key, upload_id)
            assert [(p.part_number, p.etag, p.size) for p in parts] == [(1, etags[1], 5 * MiB), (2, etags[2], 5 * MiB)]
        else:
            # s3rver has no ListParts: the device resumes from the ETags it kept (docs/storage.md).
            with pytest.raises(StorageUnsupported):
                await backend.storage.list_parts(key, upload_id)
        etags[3] = await upload_part(upload_id, 3)  # only the missing part is sent again
        await backend.storage.complete_multipart(key, upload_id, sorted(etags.items()))
        assert await backend.storage.size(key) == len(data)
        assert sha256(await read_all(backend.storage, key)) == sha256(data)

    asyncio.run(scenario())


def test_abort_multipart(backend):
    key = staging_key(uuid.uuid4().hex)

    async def scenario():
        upload_id = await backend.storage.create_multipart(key)
        if not backend.has_list_parts:  # s3rver implements neither ListParts nor AbortMultipartUpload
            with pytest.raises(StorageUnsupported):
                await backend.storage.abort_multipart(key, upload_id)
            return
        await backend.storage.abort_multipart(key, upload_id)
        with pytest.raises(ObjectNotFound):
            await backend.storage.list_parts(key, upload_id)

    asyncio.run(scenario())


def test_promote_stores_the_same_content_once(backend):
    data = os.urandom(50_000)
    final = key_for(sha256(data))
    first, second = staging_key(uuid.uuid4().hex), staging_key(uuid.uuid4().hex)

    async def scenario():
        for key in (first, second):
            request = await backend.storage.presign_put(key, len(data), "application/octet-stream", expires=300)
            assert (await backend.send("PUT", request["url"], data, request["headers"])).status_code == 200
        assert await backend.storage.promote(first, final, content_type="image/png") is True
        assert await backend.storage.promote(second, final, content_type="image/png") is False
        assert not await backend.storage.exists(first) and not await backend.storage.exists(second)
        assert await read_all(backend.storage, final) == data
        with pytest.raises(ObjectNotFound):
            await backend.storage.promote(first, final)

    asyncio.run(scenario())


def test_presigned_get_download(backend, tmp_path):
    data = os.urandom(70_000)
    source = tmp_path / "photo.jpg"
    source.write_bytes(data)
    key = key_for(sha256(data))

    async def scenario():
        await backend.storage.put_file(key, source)
        url = await backend.storage.presign_get(key, expires=60, filename="Giấy khai sinh.jpg", content_type="image/jpeg")
        return await backend.send("GET", url), url

    response, url = asyncio.run(scenario())
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/jpeg"
    assert "filename*=UTF-8''Gi%E1%BA%A5y%20khai%20sinh.jpg" in response.headers["content-disposition"]
    if "/files/download/" in url:  # served from the app's own origin: sandboxed, whatever the bytes are
        assert response.headers["content-security-policy"].startswith("sandbox")


def test_expired_urls_are_refused(backend, tmp_path):
    data = os.urandom(1000)
    source = tmp_path / "x.bin"
    source.write_bytes(data)
    key = key_for(sha256(data))

    async def scenario():
        await backend.storage.put_file(key, source)
        with signed_in_the_past(600):  # signed ten minutes ago, valid for five
            put = await backend.storage.presign_put(staging_key(uuid.uuid4().hex), len(data), "image/jpeg", expires=300)
            get = await backend.storage.presign_get(key, expires=300)
        fresh = await backend.storage.presign_get(key, expires=300)
        return put, get, fresh, [await backend.send("PUT", put["url"], data, put["headers"]),
                                 await backend.send("GET", get), await backend.send("GET", fresh)]

    put, get, fresh, (put_response, get_response, fresh_response) = asyncio.run(scenario())
    assert fresh_response.status_code == 200 and fresh_response.content == data
    if backend.checks_expiry:
        assert put_response.status_code == 403 and get_response.status_code == 403
        assert "expired" in put_response.text and "expired" in get_response.text
    else:
        # moto does not check the expiry of presigned URLs: all we can assert is what the URL states.
        assert "X-Amz-Expires=300" in put["url"] and "X-Amz-Expires=300" in get


def test_unavailable_store_is_not_mistaken_for_a_missing_object(backend, tmp_path_factory):
    key = key_for(sha256(b"x"))
    if backend.kind == "file":
        storage = backend.storage

        def stop() -> None:  # the volume goes away; a plain file in its place keeps mkdir from recreating it
            storage.root.rename(storage.root.with_name("unmounted"))
            storage.root.write_text("not a folder any more")
    else:
        # A server of our own, stopped mid-test: the shared one stays up for the other tests.
        server = START[backend.kind](tmp_path_factory.mktemp("stopped"))
        storage, stop = make_bucket(server), server.stop

    async def scenario():
        assert not await storage.exists(key)  # reachable: a missing object is simply absent
        stop()
        for call in (storage.check(), storage.exists(key), storage.size(key), storage.open_read(key),
                     storage.delete(key), storage.create_multipart(staging_key(uuid.uuid4().hex))):
            with pytest.raises(StorageUnavailable):
                await call

    asyncio.run(scenario())


# --- the local backend's own guarantees ----------------------------------------------------------

def test_local_upload_links_are_signed_for_one_purpose(tmp_path):
    storage = FileStorage(tmp_path, secret_key=SECRET)

    async def scenario():
        put = await storage.presign_put("staging/abcdefgh", 10, "image/jpeg", expires=60)
        get = await storage.presign_get("staging/abcdefgh", expires=60)
        return put["url"].rsplit("/", 1)[1], get.rsplit("/", 1)[1]

    upload_token, download_token = asyncio.run(scenario())
    grant = storage.verify_upload_token(upload_token)
    assert (grant.key, grant.max_size, grant.part_number) == ("staging/abcdefgh", 10, None) and grant.nonce
    with pytest.raises(InvalidToken):
        storage.verify_download_token(upload_token)  # an upload link cannot be used to download
    with pytest.raises(InvalidToken):
        storage.verify_upload_token(upload_token[:-2] + "xx")
    with pytest.raises(InvalidToken):
        FileStorage(tmp_path, secret_key="another-secret" * 4).verify_download_token(download_token)
    with pytest.raises(TokenExpired):
        storage.verify_download_token(download_token, now=datetime.datetime.now().timestamp() + 61)


def test_local_write_refuses_more_than_allowed_and_leaves_nothing(tmp_path):
    storage = FileStorage(tmp_path, secret_key=SECRET)

    async def body():
        for _ in range(10):
            yield b"x" * 1000

    async def scenario():
        with pytest.raises(UploadRejected):
            await storage.write_stream("staging/abcdefgh", body(), max_size=9_999)
        assert await storage.write_stream("staging/abcdefgh", body(), max_size=10_000) == 10_000

    asyncio.run(scenario())
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["abcdefgh"]


def test_local_multipart_refuses_a_small_part_before_the_last(tmp_path):
    storage = FileStorage(tmp_path, secret_key=SECRET)

    async def one(data: bytes):
        yield data

    async def scenario():
        upload_id = await storage.create_multipart("staging/abcdefgh")
        first = await storage.write_part("staging/abcdefgh", upload_id, 1, one(b"a" * 100))
        second = await storage.write_part("staging/abcdefgh", upload_id, 2, one(b"b" * 100))
        with pytest.raises(UploadRejected):
            await storage.complete_multipart("staging/abcdefgh", upload_id, [(1, first), (2, second)])
        with pytest.raises(UploadRejected):
            await storage.complete_multipart("staging/abcdefgh", upload_id, [(2, second), (1, first)])

    asyncio.run(scenario())


def test_storage_init_creates_the_bucket_with_cors_for_the_public_origin(s3_servers, tmp_path):
    """`motcua storage init` against a real S3 protocol server: bucket created, CORS set, then healthz is green."""
    import boto3
    from botocore.config import Config

    from tests.conftest import motcua_env, run_motcua

    server = s3_servers["moto"]
    env = motcua_env(tmp_path / "data", None, STORAGE_URL=f"s3://motcua-init?endpoint={server.endpoint}&path_style=true",
                     S3_ACCESS_KEY_ID="test", S3_SECRET_ACCESS_KEY="test", PUBLIC_URL="https://motcua.phutho.gov.vn")
    result = run_motcua(["storage", "init"], env)
    assert "bucket motcua-init created" in result.stdout
    client = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    rules = client.get_bucket_cors(Bucket="motcua-init")["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://motcua.phutho.gov.vn"] and "PUT" in rules[0]["AllowedMethods"]
    assert "bucket motcua-init exists" in run_motcua(["storage", "init"], env).stdout
    no_origin = run_motcua(["storage", "init"], {**env, "PUBLIC_URL": ""}, check=False)
    assert no_origin.returncode == 1 and "PUBLIC_URL" in no_origin.stderr
