"""Real S3 protocol servers for the storage tests, each a separate process on loopback.

- moto (`moto[server]` from PyPI, the test extra): implements ListParts and AbortMultipartUpload, but checks
  neither signatures nor the expiry of presigned URLs.
- s3rver (npm package, installed here on first use with npm into S3RVER_DIR): refuses expired presigned
  URLs and unknown access keys; it verifies SigV2 signatures but not the bytes of SigV4 ones (which motcua
  uses), and it does not implement ListParts nor AbortMultipartUpload.

Both are started with `start_moto()` / `start_s3rver()`, waited for by polling until they answer, and
stopped with `.stop()`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
S3RVER_VERSION = "3.7.1"
# tests/run exports MOTCUA_S3RVER_DIR=.venv/s3rver; elsewhere a cache under the temp folder.
S3RVER_DIR = Path(os.environ.get("MOTCUA_S3RVER_DIR") or Path(tempfile.gettempdir()) / "motcua-s3rver")
S3RVER_SCRIPT = S3RVER_DIR / "node_modules" / "s3rver" / "bin" / "s3rver.js"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    kind: str
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen
    log_path: Path
    workdir: Path | None = None
    checks_expiry: bool = False
    has_list_parts: bool = True
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        stop_process(self.process)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_until_ready(server: S3Server, timeout: float = 30) -> S3Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} exited with {server.process.returncode}:\n{server.log_path.read_text()}")
        try:
            httpx.get(server.endpoint + "/", timeout=1)  # any HTTP answer means it listens
            return server
        except httpx.TransportError:
            time.sleep(0.05)  # polling for the port to open; not a fixed wait for a result
    server.stop()
    raise RuntimeError(f"{server.kind} did not answer within {timeout} s:\n{server.log_path.read_text()}")


def start_moto(log_dir: Path) -> S3Server:
    port = free_port()
    log_path = log_dir / f"moto-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT)
    server = S3Server("moto", f"http://127.0.0.1:{port}", "testing", "testing", process, log_path)
    return _wait_until_ready(server)


def ensure_s3rver() -> Path:
    """Install s3rver with npm into S3RVER_DIR unless it is there; a lock keeps parallel runs apart."""
    if S3RVER_SCRIPT.is_file():
        return S3RVER_SCRIPT
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the storage tests need node and npm to run s3rver (Debian: apt-get install nodejs npm)")
    S3RVER_DIR.mkdir(parents=True, exist_ok=True)
    with open(S3RVER_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not S3RVER_SCRIPT.is_file():
            result = subprocess.run([npm, "install", "--prefix", str(S3RVER_DIR), "--no-audit", "--no-fund",
                                     "--loglevel=error", f"s3rver@{S3RVER_VERSION}"],
                                    capture_output=True, text=True, timeout=300)
            if result.returncode != 0 or not S3RVER_SCRIPT.is_file():
                raise RuntimeError(f"npm install s3rver@{S3RVER_VERSION} failed:\n{result.stdout}\n{result.stderr}")
    return S3RVER_SCRIPT


def start_s3rver(log_dir: Path) -> S3Server:
    script = ensure_s3rver()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="s3rver-", dir=log_dir))
    log_path = log_dir / f"s3rver-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(["node", str(script), "-d", str(workdir), "-a", "127.0.0.1", "-p", str(port),
                                    "--no-vhost-buckets", "-s"],
                                   stdout=log, stderr=subprocess.STDOUT)
    # s3rver knows one account: S3RVER / S3RVER.
    server = S3Server("s3rver", f"http://127.0.0.1:{port}", "S3RVER", "S3RVER", process, log_path,
                      workdir=workdir, checks_expiry=True, has_list_parts=False)
    return _wait_until_ready(server)


START = {"moto": start_moto, "s3rver": start_s3rver}
