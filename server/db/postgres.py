"""tortoise's asyncpg backend, without the reset query on every connection given back to the pool.

asyncpg resets a released connection with `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`:
one more round trip per checkout, and a sync round without a transaction checks out once per statement. motcua
keeps no session state (no advisory locks, cursors, LISTEN or SET), so the pool is given a reset that sends
nothing; asyncpg still rolls back a transaction left open on a released connection.

Used through the connection config of server/db/__init__.py (`"engine": "server.db.postgres"`).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg import client as base


async def _no_reset(connection: asyncpg.Connection) -> None:
    return None


class AsyncpgDBClient(base.AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        kwargs.setdefault("reset", _no_reset)
        return await super().create_pool(**kwargs)


client_class = AsyncpgDBClient
