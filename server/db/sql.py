"""Raw SQL that reads the same on SQLite and PostgreSQL: the one place that knows their placeholders.

tortoise's query builder hides the dialect; the few statements written by hand (upserts with RETURNING,
the sync feed, the statistics) use these helpers instead of switching on the dialect themselves:

    sql = f"UPDATE t SET n = n + 1 WHERE name = {param(1)} RETURNING n"
    sql = f"... WHERE scope IN ({placeholders(len(names))}) AND seq > {param(len(names) + 1)}"
    params = Params(); sql = f"... WHERE day >= {params.add(start)}"; rows = await conn.execute_query_dict(sql, params.values)
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection

DEFAULT = "default"


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    """True on PostgreSQL (asyncpg), False on SQLite; `conn` defaults to the default connection."""
    return (conn or get_connection(DEFAULT)).capabilities.dialect == "postgres"


def param(index: int, conn: BaseDBAsyncClient | None = None) -> str:
    """The placeholder of the 1-based `index`th parameter: `$index` on PostgreSQL, `?` on SQLite."""
    return f"${index}" if is_postgres(conn) else "?"


def placeholders(count: int, start: int = 1, conn: BaseDBAsyncClient | None = None) -> str:
    """`count` comma-separated placeholders, numbered from `start` on PostgreSQL."""
    postgres = is_postgres(conn)
    return ", ".join(f"${index}" if postgres else "?" for index in range(start, start + count))


class Params:
    """Parameters gathered while a statement is written: `add(value)` returns its placeholder."""

    def __init__(self, conn: BaseDBAsyncClient | None = None) -> None:
        self.connection = conn or get_connection(DEFAULT)
        self.postgres = is_postgres(self.connection)
        self.values: list[object] = []

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else "?"
