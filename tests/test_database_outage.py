"""The database going away for a moment (a restart, a fail-over) gives devices a 503 they retry, not a 500.

The app reaches a PostgreSQL database through a TCP proxy that the test stops and starts again, as a database
restart looks to the app. It runs in both passes of the suite: in the SQLite pass it uses the PostgreSQL server
of the machine (127.0.0.1:5432, which .ci/run starts first), since an SQLite file cannot go away from under its
own process.
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import ADMIN_DATABASE_URL, ON_POSTGRES, ROOT, free_port, motcua_env, run_motcua, start_server
from tests.processes import stop_process

POSTGRES = ADMIN_DATABASE_URL if ON_POSTGRES else "postgres://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_database():
    """A fresh database on the PostgreSQL server, dropped afterwards."""
    import asyncio
    import uuid

    import asyncpg

    name = f"motcua_test_outage_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        try:
            connection = await asyncpg.connect(POSTGRES.replace("postgresql://", "postgres://", 1))
        except OSError as error:
            raise AssertionError(f"this test needs the PostgreSQL server at {POSTGRES} (.ci/run starts it): {error}") from error
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def start_proxy(port: int) -> subprocess.Popen:
    proxy = subprocess.Popen([sys.executable, str(ROOT / "infra" / "tcp_proxy.py"), str(port), "5432"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with __import__("socket").create_connection(("127.0.0.1", port), timeout=1):
                return proxy
        except OSError:
            time.sleep(0.05)  # polling for the port to open
    raise AssertionError("the TCP proxy did not start")


def test_requests_get_503_with_retry_after_while_the_database_is_away_and_work_again_after(
        tmp_path, postgres_database):
    port = free_port()
    proxy = start_proxy(port)
    database = postgres_database.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
    env = motcua_env(tmp_path / "data", database)
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    server = start_server(env, cwd=tmp_path, data_dir=tmp_path / "data")
    try:
        http = httpx.Client(base_url=server.url, timeout=30)
        assert http.get("/api/procedures?q=ho%20tich").status_code == 200

        stop_process(proxy)  # the database "restarts": every pooled connection is cut, new ones are refused
        answer = http.get("/api/procedures?q=ho%20tich")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "cơ sở dữ liệu" in answer.json()["error"]["message"]

        proxy = start_proxy(port)
        deadline = time.monotonic() + 30
        while (status := http.get("/api/procedures?q=ho%20tich").status_code) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)  # the device's retry after Retry-After, shortened
        assert status == 200
    finally:
        server.stop()
        stop_process(proxy)
