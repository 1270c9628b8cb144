"""infra/stack: two app instances behind a proxy on one database and an S3 server, all on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, Api, free_port, unique_phone

STACK = ROOT / "infra" / "stack"


def stack(*args: str, directory: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOTCUA_PYTHON": sys.executable}
    env.pop("DATABASE_URL", None)
    return subprocess.run(["bash", str(STACK), *args, "--dir", str(directory)], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory, fresh_database):
    directory = tmp_path_factory.mktemp("stack")
    started = stack("start", "--instances", "2", "--port", str(free_port()), "--database", fresh_database(),
                    directory=directory)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield directory, re.search(r"http://127\.0\.0\.1:\d+", started.stdout).group(0)
    finally:
        stopped = stack("stop", directory=directory)
        assert stopped.returncode == 0, stopped.stderr


def instance_url(directory: Path, number: int) -> str:
    return f"http://127.0.0.1:{(directory / f'app{number}.port').read_text().strip()}"


def test_the_proxy_answers_for_both_instances(running_stack):
    directory, url = running_stack
    health = httpx.get(f"{url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["checks"]["storage"]["backend"] == "s3"
    assert health.headers["x-content-type-options"] == "nosniff", "the app's headers pass through the proxy"
    for number in (1, 2):
        assert httpx.get(f"{instance_url(directory, number)}/healthz", timeout=10).status_code == 200
    status = stack("status", directory=directory).stdout
    assert "app1 running" in status and "app2 running" in status and "proxy running" in status


def test_a_sign_in_on_one_instance_is_valid_on_the_other(running_stack):
    directory, url = running_stack
    client = Api(instance_url(directory, 1))
    created = client.post("/api/accounts", {"phone": unique_phone(), "password": "mat-khau-dai-hon", "full_name": "Vi Thị Lan"})
    assert created.status_code == 201, created.text
    client.http.base_url = instance_url(directory, 2)
    assert client.get("/api/session").json()["user"]["phone"] == created.json()["user"]["phone"]
    client.http.base_url = url
    assert client.get("/api/session").json()["user"]["full_name"] == "Vi Thị Lan"


def test_the_service_worker_is_never_cached_and_hashed_assets_are(running_stack):
    _, url = running_stack
    assert "no-cache" in httpx.get(f"{url}/sw.js", timeout=10).headers["cache-control"]
    shell = httpx.get(f"{url}/app", timeout=10).text
    asset = re.search(r"/static/[\w/.-]+\.[0-9a-f]{10}\.js", shell).group(0)
    assert "immutable" in httpx.get(f"{url}{asset}", timeout=10).headers["cache-control"]


def test_the_proxy_refuses_oversized_bodies_itself_with_json_and_headers(running_stack):
    _, url = running_stack
    response = httpx.post(f"{url}/api/sync", content=b"x" * (3 * 1024 * 1024),
                          headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "Dữ liệu gửi lên quá lớn."
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_killed_instance_is_routed_around_and_comes_back(running_stack):
    directory, url = running_stack
    assert stack("kill-instance", "1", directory=directory).returncode == 0
    try:
        answers = [httpx.get(f"{url}/api/procedures?limit=1", timeout=30).status_code for _ in range(6)]
        assert answers == [200] * 6, "nginx retries the request on the live instance"
    finally:
        restarted = stack("start-instance", "1", directory=directory)
    assert restarted.returncode == 0, restarted.stderr
    assert httpx.get(f"{instance_url(directory, 1)}/healthz", timeout=10).status_code == 200


def test_stopping_the_stack_ends_every_process(tmp_path, fresh_database):
    directory = tmp_path / "stack"
    started = stack("start", "--instances", "2", "--port", str(free_port()), "--database", fresh_database(),
                    "--no-seed", directory=directory)
    assert started.returncode == 0, started.stdout + started.stderr
    pids = [int(path.read_text()) for path in directory.glob("*.pid")]
    assert len(pids) == 5  # two instances, the worker, the S3 server, the proxy
    assert stack("stop", directory=directory).returncode == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
