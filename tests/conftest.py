"""Fixtures that run real parts: a fresh database (SQLite, or PostgreSQL when DATABASE_URL says so),
the `motcua` command in a subprocess, and a real uvicorn server on loopback.

The suite runs against SQLite by default. With DATABASE_URL=postgres://… it creates a fresh database
on that server for the run and drops it afterwards, so runs never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = ADMIN_DATABASE_URL.startswith(("postgres://", "postgresql://"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def motcua_env(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "STORAGE_URL", "SECRET_KEY", "PUBLIC_URL", "MOTCUA_DATA_DIR")
           and not key.startswith("VAPID_")}
    env["PYTHONPATH"] = str(ROOT)
    env["MOTCUA_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_motcua(args: list[str], env: dict[str, str], cwd: Path | None = None,
               check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=cwd or ROOT,
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"motcua {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(ADMIN_DATABASE_URL.replace("postgresql://", "postgres://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def fresh_database(tmp_path_factory):
    """A factory of empty databases: a new SQLite file, or a new database on the PostgreSQL server."""
    created: list[str] = []

    def make() -> str:
        if not ON_POSTGRES:
            return f"sqlite://{tmp_path_factory.mktemp('db') / 'motcua.sqlite3'}"
        name = f"motcua_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        created.append(name)
        parts = urlsplit(ADMIN_DATABASE_URL)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    yield make
    for name in created:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Officer:
    phone: str
    name: str
    role: str
    unit: str


OFFICER_PASSWORD = "canbo-thu-nghiem"
VINH_YEN, VIET_TRI = "08707", "07900"  # two wards of Phú Thọ since 1 July 2025
PHU_THO = "25"  # the province: a commune forwards to its offices (liên thông)
OFFICERS = {
    "intake": Officer("0977000001", "Cán bộ Vĩnh Yên", "intake", VINH_YEN),
    "intake_elsewhere": Officer("0977000002", "Cán bộ Việt Trì", "intake", VIET_TRI),
    "leader": Officer("0977000003", "Lãnh đạo Vĩnh Yên", "leader", VINH_YEN),
    "admin": Officer("0977000004", "Quản trị Vĩnh Yên", "admin", VINH_YEN),
    # Processing, assignment and transfer (tests/test_assignment.py, tests/test_transfer.py).
    "specialist": Officer("0977000011", "Chuyên viên Vĩnh Yên Một", "specialist", VINH_YEN),
    "specialist2": Officer("0977000012", "Chuyên viên Vĩnh Yên Hai", "specialist", VINH_YEN),
    "province_leader": Officer("0977000021", "Lãnh đạo Sở Phú Thọ", "leader", PHU_THO),
    "province_specialist": Officer("0977000022", "Chuyên viên Sở Phú Thọ", "specialist", PHU_THO),
}

# A complete, valid form for TEST.0001 (tests/data/catalog-test.json).
VALID_FORM = {
    "full_name": "Nguyễn Thị Mai", "birth_date": "2001-05-04", "sex": "female", "cccd": "026301123456",
    "phone": "0912 345 678", "address": {"commune_code": VINH_YEN, "detail": "Số 1, đường Kim Ngọc"},
    "members": [{"full_name": "Nguyễn Văn Bình"}],
}


@dataclass
class RunningServer:
    url: str
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> None:
        stop_process(self.process)


def start_server(env: dict[str, str], cwd: Path, data_dir: Path) -> RunningServer:
    port = free_port()
    log = open(data_dir.parent / f"server-{port}.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--workers", "1"],
                               env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    server = RunningServer(url=f"http://127.0.0.1:{port}", env=env, data_dir=data_dir, process=process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {Path(log.name).read_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code in (200, 503):
                return server
        except httpx.TransportError:
            time.sleep(0.1)  # polling for the port to open; not a fixed wait for a result
    server.stop()
    raise AssertionError(f"server did not answer within 60 s: {Path(log.name).read_text()}")


SUITE_RATE_LIMITS = ",".join(f"{action}.{scope}=100000/60" for action in ("signin", "signup", "track", "sync")
                             for scope in ("account", "device", "address"))


@pytest.fixture(scope="session")
def seeded_env(tmp_path_factory, fresh_database):
    """Environment of a migrated and seeded motcua instance with an officer in a second unit."""
    data_dir = tmp_path_factory.mktemp("instance") / "data"
    # The whole suite signs the same officers in from one address, far more often than a person would: the limits
    # stay on (their code runs on every request) but high; tests/test_rate_limits.py checks them at real levels.
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS=SUITE_RATE_LIMITS)
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(ROOT / "tests" / "data" / "catalog-test.json")], env)
    for officer in OFFICERS.values():
        run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                    "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
    return env


@pytest.fixture(scope="session")
def server(seeded_env):
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    running = start_server(seeded_env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


class Api:
    """A browser-like API client: keeps cookies and sends the CSRF token like the app does."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.csrf = self.http.get("/api/session").json()["csrf_token"]

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def send(self, method: str, path: str, json=None, **kwargs) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        response = self.http.request(method, path, json=json, headers=headers, **kwargs)
        if response.headers.get("content-type", "").startswith("application/json"):
            token = response.json().get("csrf_token") if isinstance(response.json(), dict) else None
            self.csrf = token or self.csrf
        return response

    def post(self, path: str, json=None, **kwargs) -> httpx.Response:
        return self.send("POST", path, json=json, **kwargs)

    def sign_in(self, phone: str, password: str) -> httpx.Response:
        response = self.post("/api/session", {"phone": phone, "password": password})
        assert response.status_code == 200, response.text
        return response


def unique_phone() -> str:
    return "09" + str(uuid.uuid4().int)[:8]


def officer_api(server, key: str) -> Api:
    client = Api(server.url)
    client.sign_in(OFFICERS[key].phone, OFFICER_PASSWORD)
    return client


@pytest.fixture
def api(server) -> Api:
    return Api(server.url)


@pytest.fixture
def citizen(server) -> Api:
    client = Api(server.url)
    phone = unique_phone()
    response = client.post("/api/accounts", {"phone": phone, "password": "matkhau-an-toan", "full_name": "Nguyễn Văn An"})
    assert response.status_code == 201, response.text
    client.phone = phone
    return client


# Browser tests drive a real Chromium against a real server on a shared, loaded machine; a tap can land while a
# screen redraws. As Playwright's own runner does on CI, each may run again (twice at most) before it fails the run.
# Every rerun is listed by name at the end of the run, so a flaky test stays visible: fix it, don't live with it.
BROWSER_FIXTURES = {"browser", "context", "phone", "browser_page"}
BROWSER_RERUNS = 2


def pytest_collection_modifyitems(items):
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.flaky(reruns=BROWSER_RERUNS, reruns_delay=1))


def pytest_terminal_summary(terminalreporter):
    """Which screens axe-core checked in this run (tests/a11y.py), so a run shows what its accessibility check covered;
    and which browser tests passed only when run again."""
    from tests import a11y

    rerun = sorted({report.nodeid for report in terminalreporter.stats.get("rerun", [])})
    if rerun:
        terminalreporter.write_line(f"browser tests that failed and were run again ({len(rerun)}): {', '.join(rerun)}",
                                    yellow=True)
    if a11y.checked:
        terminalreporter.write_line(f"axe-core checked {len(a11y.checked)} screens: {', '.join(sorted(a11y.checked))}")


def pytest_sessionfinish(session, exitstatus):
    """Stop the worker thread of any SQLite connection a test left open. aiosqlite runs each connection in a
    non-daemon thread; one left behind (a connection made on one event loop and replaced on another) would keep
    the interpreter from exiting after the last test, and CI would wait for ever.

    Also fails the run when axe-core found a serious violation in a browser context no fixture checked (tests/a11y.py).
    """
    import gc

    from tests import a11y

    if a11y.unasserted:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["accessibility (axe-core) violations found outside a checked fixture:", *map(str, a11y.unasserted)]
        if reporter:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = 1

    import aiosqlite

    for candidate in gc.get_objects():
        if isinstance(candidate, aiosqlite.Connection) and candidate._running:
            candidate.stop()
