"""`pip install` of the built wheel serves the whole app: the PWA (templates, JS, CSS, icons), the pages and the
shipped data come from package data, not from a checkout.

Builds the wheel from a copy of the source tree, installs it with its dependencies into a fresh virtual
environment (no access to this checkout or its venv), runs `motcua quickstart` from an empty folder and loads
/app, a hashed asset, an unhashed /static file and the home page over HTTP.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx

from tests.conftest import ROOT, free_port
from tests.processes import stop_process

SKIP = {".git", ".venv", "build", "dist", "node_modules", "__pycache__", ".pytest_cache", ".hypothesis"}
SKIP_AT_TOP = {"data", "bench", "tests"}  # the embedded default's ./data of a checkout; server/data ships


def _run(args: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_installed_wheel_serves_the_app(tmp_path):
    # The wheel, built from a copy so that the checkout gets no build/ or egg-info of its own.
    source = tmp_path / "source"
    def ignore(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == ROOT
        return [name for name in names if name in SKIP or name.endswith(".egg-info") or (top and name in SKIP_AT_TOP)]

    shutil.copytree(ROOT, source, ignore=ignore)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source])
    [wheel] = wheels.glob("motcua-*.whl")

    # A fresh environment with the wheel and its dependencies, and nothing of this checkout.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel])
    located = _run([python, "-c", "import server, pwa; print(server.__file__); print(pwa.__file__)"], cwd=tmp_path)
    assert all(str(env_dir) in line for line in located.stdout.split()), located.stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "STORAGE_URL", "PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("MOTCUA_")}
    env.update(MOTCUA_DATA_DIR=str(tmp_path / "instance"), PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([env_dir / "bin" / "motcua", "quickstart", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=elsewhere, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "not up in 120 s:\n" + (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)  # polling for the port to open

        with httpx.Client(base_url=url, timeout=10) as client:
            shell = client.get("/app")
            assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
            assets = re.findall(r'(?:src|href)="(/static/[^"]+\.[0-9a-f]{8,}\.(?:js|css))"', shell.text)
            assert assets, shell.text[:2000]
            for path in assets[:3]:
                asset = client.get(path)
                assert asset.status_code == 200, path
                assert "immutable" in asset.headers["cache-control"]
                assert len(asset.content) > 100
            plain = client.get("/static/app.css")
            assert plain.status_code == 200 and "text/css" in plain.headers["content-type"]
            assert plain.text == (ROOT / "pwa" / "static" / "app.css").read_text()
            icons = sorted((ROOT / "pwa" / "static" / "icons").iterdir())
            icon = client.get(f"/static/icons/{icons[0].name}")
            assert icon.status_code == 200 and icon.content == icons[0].read_bytes()
            manifest = client.get("/manifest.webmanifest")
            assert manifest.status_code == 200 and manifest.json()["name"]
            home = client.get("/")
            assert home.status_code == 200 and "text/html" in home.headers["content-type"]
            assert "thủ tục" in home.text.lower()
            procedures = client.get("/procedures")  # the shipped catalog was loaded from package data
            assert procedures.status_code == 200 and procedures.text.count('href="/procedures/') > 0
        assert not (elsewhere / "data").exists()  # everything went to MOTCUA_DATA_DIR
    finally:
        stop_process(process)
        log.close()
