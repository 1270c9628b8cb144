"""What the browser tests share: Debian's Chromium driven by Playwright, and pwa/static on loopback.

Never `playwright install`: the tests drive /usr/bin/chromium, which the README's test command installs.
"""

from __future__ import annotations

import contextlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

CHROMIUM = Path("/usr/bin/chromium")
STATIC = Path(__file__).resolve().parent.parent / "pwa" / "static"
# Without the background-networking flags Chromium keeps calling hosts this machine cannot reach.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium; fails (never skips) when it is missing."""
    assert CHROMIUM.exists(), "Chromium is missing: the README's test command installs it (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the name http.server uses
        pass


@contextlib.contextmanager
def serve_static(directory: Path = STATIC) -> Iterator[str]:
    """pwa/static on a real loopback origin, so pages import modules and start workers as the app does."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
