"""`motcua serve --workers N`: N server processes, each with its own listening socket on the same port.

uvicorn's own multi-process mode shares one listening socket, and a connection goes to whichever process accepts
it first. Phones (and a proxy's upstream connections) keep their connections open, so the split stays as it
happened to fall: in the sync benchmark two workers held about 60 % and 40 % of the phones, and the phones of the
busier one waited half as long again (docs/benchmarks.md "Issue 13, stop 25"). With SO_REUSEPORT each process
listens on a socket of its own and the kernel spreads new connections across them by a hash of their addresses.

The parent only starts the workers, starts a worker again when one dies, and on SIGINT or SIGTERM passes the
signal on (each worker ends gracefully, as uvicorn does) and waits for them.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

log = logging.getLogger("motcua")
PR_SET_PDEATHSIG = 1  # linux/prctl.h
RESTART_PAUSE = 1.0  # seconds before starting a worker that died again: a crash loop stays a slow one
SIGNAL_CHECK = 0.5  # seconds: signal handlers only set a flag, which the supervising loop reads this often


def bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _end_with_parent() -> None:
    """Linux: SIGTERM this worker when the parent dies, even by SIGKILL, so that no orphan keeps the port."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's own shutdown still ends the workers


def _worker(options: dict[str, Any]) -> None:
    _end_with_parent()
    sock = bound_socket(options["host"], options["port"])
    sock.listen(2048)
    config = uvicorn.Config("server.cli:app_factory", factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(workers: int, options: dict[str, Any]) -> None:
    """Run `workers` processes of the app until SIGINT or SIGTERM."""
    host, port = options["host"], options["port"]
    # SO_REUSEPORT lets any process of the same user listen on the port too, a second `motcua serve` included:
    # first make sure no one listens there (a plain bind fails on a listening port), then keep the port ours
    # with a socket that is bound but never listens (the kernel gives connections to listening sockets only).
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        reserved = bound_socket(host, port)
    except OSError as error:
        raise SystemExit(f"motcua: cannot listen on {host}:{port} ({error.strerror}); is another server running "
                         "there? Stop it or choose another --port.") from None
    context = multiprocessing.get_context("spawn")
    stopping: list[int] = []

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(options,), daemon=False)
        process.start()
        return process

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    try:
        while not stopping:
            # Wakes the moment a worker ends; the timeout only bounds how late a signal's flag is seen.
            wait([process.sentinel for process in processes], timeout=SIGNAL_CHECK)
            for index, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    log.error("server worker %s ended with %s; starting it again", process.pid, process.exitcode)
                    time.sleep(RESTART_PAUSE)
                    processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: uvicorn finishes the requests in progress, then ends
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        reserved.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
