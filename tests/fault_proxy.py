"""A fault-injecting TCP proxy for the end-to-end sync tests (docs/sync.md §1: a request may be lost, its
response may be lost, it may arrive twice or late).

It listens on 127.0.0.1:<free port> in a background thread and forwards to the real server. Each client
connection carries exactly one HTTP/1.1 request (the proxy forces `Connection: close` upstream and closes the
client side after one answer), and takes the next planned `Fault` from a queue the test fills; with an empty
queue a connection passes through untouched.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["pass", "drop_before", "drop_after", "cut", "delay", "duplicate"]


@dataclass(frozen=True)
class Fault:
    """What to do to one connection.

    drop_before: read the request and close, never forwarding it.
    drop_after: forward, let the server answer in full, then close without a byte to the client.
    cut: forward, then give the client only the first `nbytes` of the response.
    delay: hold the request `seconds` before forwarding it (the client may have given up by then).
    duplicate: send the same bytes to the server on two upstream connections at once; answer with the first.
    """

    kind: FaultKind
    nbytes: int = 0
    seconds: float = 0.0


PASS = Fault("pass")


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.plan: queue.Queue[Fault] = queue.Queue()
        self.seen: list[Fault] = []  # faults applied, in connection order
        self.forwarded = 0  # requests delivered to the server (a duplicate counts twice)
        self._in_flight = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    # -- control, from the test thread ------------------------------------------------------
    def start(self) -> "FaultProxy":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def retarget(self, upstream_host: str, upstream_port: int) -> None:
        """Point at a restarted server; devices keep the proxy's address."""
        self.upstream = (upstream_host, upstream_port)

    def add(self, *faults: Fault) -> None:
        for fault in faults:
            self.plan.put(fault)

    def idle(self) -> bool:
        """No connection is open, so no late request can still reach the server."""
        with self._lock:
            return self._in_flight == 0

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # -- the proxy itself, on its own loop --------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._in_flight += 1
        try:
            request = await _read_request(reader)
            if request is None:
                return
            try:
                fault = self.plan.get_nowait()
            except queue.Empty:
                fault = PASS
            self.seen.append(fault)
            if fault.kind == "drop_before":
                return
            if fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            if fault.kind == "duplicate":
                answers = await asyncio.gather(self._exchange(request), self._exchange(request))
                response = answers[0]
            else:
                response = await self._exchange(request)
            if fault.kind == "drop_after":
                return
            if fault.kind == "cut":
                response = response[: fault.nbytes]
            writer.write(response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client or the server went away: exactly what the tests provoke
        finally:
            writer.close()
            with self._lock:
                self._in_flight -= 1

    async def _exchange(self, request: bytes) -> bytes:
        """One request to the server on a fresh connection; the whole response (the server closes after it)."""
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(request)
            await writer.drain()
            with self._lock:
                self.forwarded += 1
            return await reader.read()
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """Read one HTTP/1.1 request with a Content-Length body; rewrite it to close the connection after."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head[:-4].split(b"\r\n")
    length = 0
    kept = [lines[0]]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() in (b"connection", b"keep-alive"):
            continue
        kept.append(line)
    kept.append(b"Connection: close")
    body = await reader.readexactly(length) if length else b""
    return b"\r\n".join(kept) + b"\r\n\r\n" + body
