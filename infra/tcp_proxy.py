"""A tiny round-robin TCP proxy for infra/stack when nginx is not installed (and cannot be).

Each new connection goes to the next backend; a backend that refuses the connection is skipped. It does not
read HTTP, so it adds no X-Forwarded-For: behind it every client seems to come from 127.0.0.1. Use nginx for
anything but trying the stack out.

    python infra/tcp_proxy.py LISTEN_PORT BACKEND_PORT [BACKEND_PORT …]
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(listen: int, backends: list[int]) -> None:
    turn = itertools.cycle(backends)

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        for _ in backends:
            port = next(turn)
            try:
                server_reader, server_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), [int(port) for port in sys.argv[2:]]))
