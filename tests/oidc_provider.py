"""A real OpenID Connect provider (node `oidc-provider`, tests/oidc/provider.js) on loopback for the sign-in tests.

Installed with `npm ci` in tests/oidc on first use (a lock keeps parallel runs apart), started with
`start_provider()`, stopped with `.stop()`; `.restart(new_key=True)` starts it again on the same port with a new
signing key (a key rotation). `.account(...)` chooses who its login signs in, `.mode(...)` makes its token endpoint
hand out a broken ID token ("tamper", "wrong_nonce", "expired", "unknown_key"; "normal" again after).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.processes import stop_process

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER_MODULE = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID, CLIENT_SECRET = "motcua-test", "motcua-test-secret-0123456789abcdef"


def ensure_installed() -> None:
    if PROVIDER_MODULE.is_file():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the OpenID Connect tests need node and npm (Debian: apt-get install nodejs npm)")
    with open(OIDC_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not PROVIDER_MODULE.is_file():
            result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR,
                                    capture_output=True, text=True, timeout=300)
            if result.returncode != 0:
                raise RuntimeError(f"npm ci in tests/oidc failed:\n{result.stdout}\n{result.stderr}")


@dataclass
class Provider:
    port: int
    motcua_url: str
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key_file(self) -> Path:
        return self.workdir / "signing-key.json"

    def start(self) -> Provider:
        log_path = self.workdir / f"oidc-provider-{self.port}.log"
        env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "PORT": str(self.port), "KEY_FILE": str(self.key_file),
               "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
               "REDIRECT_URI": self.motcua_url + "/auth/oidc/callback",
               "POST_LOGOUT_REDIRECT_URI": self.motcua_url + "/"}
        with open(log_path, "a") as log:
            self.process = subprocess.Popen(["node", str(OIDC_DIR / "provider.js")], cwd=OIDC_DIR, env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited with {self.process.returncode}:\n{log_path.read_text()}")
            try:
                httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.05)  # polling for the port to open; not a fixed wait for a result
        self.stop()
        raise RuntimeError(f"oidc-provider did not answer within 30 s:\n{log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def restart(self, *, new_key: bool) -> None:
        self.stop()
        if new_key:
            self.key_file.unlink()
        self.start()

    def kid(self) -> str:
        return json.loads(self.key_file.read_text())["kid"]

    def account(self, **claims: str) -> None:
        httpx.get(self.issuer + "/__test/account", params={"claims": json.dumps(claims)}).raise_for_status()

    def mode(self, mode: str) -> None:
        httpx.get(self.issuer + "/__test/mode", params={"mode": mode}).raise_for_status()


def start_provider(port: int, motcua_url: str, workdir: Path) -> Provider:
    ensure_installed()
    return Provider(port=port, motcua_url=motcua_url, workdir=workdir).start()
