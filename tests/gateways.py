"""The external gateways of the notice channels as real processes on loopback: the SMPP server (tests/smpp/server.cjs,
node `smpp`) for SMS and the ZNS stand-in (tests/zalo_server.py) for Zalo. Each is started by `start()`, read and
steered over a small HTTP control port, and stopped with `.stop()`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
SMPP_SCRIPT = ROOT / "tests" / "smpp" / "server.cjs"
SYSTEM_ID, PASSWORD, SOURCE = "motcua", "smppPw01", "UBNDPHUTHO"  # SMPP caps a password at 8 characters
ZALO_TOKEN, ZALO_TEMPLATE = "zalo-test-token-0123", "231234"
ZALO_APP_ID, ZALO_OA_SECRET = "4305820947121546711", "zalo-test-oa-secret-key"  # sign the webhook's receipts
ZALO_APP_SECRET = "zalo-test-app-secret-key"  # the app's secret key: the `secret_key` header of a token renewal


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(process: subprocess.Popen, url: str, log: Path, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)  # polling for the port to open; not a fixed wait for a result
    stop_process(process)
    raise RuntimeError(f"{name} did not answer within 30 s:\n{log.read_text()}")


def ensure_smpp_installed() -> None:
    """node `smpp` comes with the repository's devDependencies (package-lock.json): `npm ci` when it is missing."""
    if (ROOT / "node_modules" / "smpp" / "package.json").is_file():
        return
    import fcntl

    with open(ROOT / "tests" / "smpp" / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ROOT / "node_modules" / "smpp" / "package.json").is_file():
            done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT,
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"npm ci failed:\n{done.stdout}\n{done.stderr}")


@dataclass
class SmppGateway:
    workdir: Path
    port: int = field(default_factory=_free_port)
    http_port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    def start(self) -> SmppGateway:
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise RuntimeError("the SMS tests need node and npm (Debian: apt-get install nodejs npm)")
        ensure_smpp_installed()
        log = self.workdir / f"smpp-{self.port}.log"
        env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "SMPP_PORT": str(self.port), "HTTP_PORT": str(self.http_port),
               "SYSTEM_ID": SYSTEM_ID, "PASSWORD": PASSWORD, "NODE_PATH": str(ROOT / "node_modules")}
        with open(log, "a") as out:
            self.process = subprocess.Popen(["node", str(SMPP_SCRIPT)], cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT)
        _wait(self.process, self.control + "/messages", log, "the SMPP server")
        return self

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self, **extra: str) -> dict[str, str]:
        return {"SMPP_HOST": "127.0.0.1", "SMPP_PORT": str(self.port), "SMPP_SYSTEM_ID": SYSTEM_ID,
                "SMPP_PASSWORD": PASSWORD, "SMPP_SOURCE_ADDR": SOURCE, **extra}

    def state(self) -> dict[str, Any]:
        return httpx.get(self.control + "/messages").json()

    def messages(self) -> list[dict[str, Any]]:
        return self.state()["messages"]

    def mode(self, **values: object) -> None:
        httpx.post(self.control + "/mode", params={k: str(v) for k, v in values.items()}).raise_for_status()

    def reset(self) -> None:
        httpx.post(self.control + "/reset").raise_for_status()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@dataclass
class ZaloApi:
    workdir: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    def start(self) -> ZaloApi:
        log = self.workdir / f"zalo-{self.port}.log"
        with open(log, "a") as out:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "zalo_server.py"), str(self.port),
                                             ZALO_TOKEN, ZALO_TEMPLATE, ZALO_APP_ID, ZALO_OA_SECRET,
                                             ZALO_APP_SECRET], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _wait(self.process, self.url + "/__test/messages", log, "the Zalo stand-in")
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, token: str = ZALO_TOKEN) -> dict[str, str]:
        return {"ZALO_ACCESS_TOKEN": token, "ZALO_TEMPLATE_ID": ZALO_TEMPLATE, "ZALO_API_URL": self.url,
                "ZALO_APP_ID": ZALO_APP_ID, "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET}

    def renewals(self) -> list[dict[str, Any]]:
        """Each token renewal asked of the stand-in's OAuth endpoint: the refresh token used and the answer's code."""
        return httpx.get(self.url + "/__test/messages").json()["renewals"]

    def receipts(self) -> list[dict[str, Any]]:
        """What the OA's webhook answered to each delivery receipt the stand-in posted."""
        return httpx.get(self.url + "/__test/messages").json()["receipts"]

    def deliver(self, webhook: str, msg_id: str, **options: object) -> dict[str, Any]:
        """Post one signed receipt now (tamper=1: body changed after signing; age=seconds: an old timestamp)."""
        answer: dict[str, Any] = httpx.post(self.url + "/__test/deliver", timeout=30, params={
            "webhook": webhook, "msg_id": msg_id, **{k: str(v) for k, v in options.items()}}).json()
        return answer

    def messages(self) -> list[dict[str, Any]]:
        return httpx.get(self.url + "/__test/messages").json()["messages"]

    def refused(self) -> list[dict[str, Any]]:
        return httpx.get(self.url + "/__test/messages").json()["refused"]

    def mode(self, **values: object) -> None:
        httpx.post(self.url + "/__test/mode", params={k: str(v) for k, v in values.items()}).raise_for_status()

    def reset(self) -> None:
        httpx.post(self.url + "/__test/reset").raise_for_status()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
